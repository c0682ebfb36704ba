"""The WSGI server cxmock runs on: cheroot, in a background thread, on a given or ephemeral port.

Cheroot is production-grade, pure Python, embeddable in a thread (so the pytest fixture and ``cxmock serve`` run
the same server), binds port 0 and reports the bound port. Its gateway is extended to put the connection's socket
into the WSGI environ (``cxmock.socket``) so connection-level faults (drop, reset, hang) are real.
"""

from __future__ import annotations

import logging
import socket
import threading
from typing import Any

from cheroot import wsgi

from .errors import ServerError

__all__ = ["HttpServer", "SOCKET_KEY"]

SOCKET_KEY = "cxmock.socket"
log = logging.getLogger("cxmock.server")


class _Gateway(wsgi.Gateway_10):
    def get_environ(self) -> dict[str, Any]:  # type: ignore[override]
        env: dict[str, Any] = super().get_environ()  # type: ignore[no-untyped-call]
        env[SOCKET_KEY] = self.req.conn.socket
        return env


class HttpServer:
    """One cheroot server running ``app`` in a background thread.

    :param host: address to bind (default loopback).
    :param port: 0 picks a free ephemeral port; :attr:`port` reports the bound one after :meth:`start`.
    """

    def __init__(self, app: Any, *, host: str = "127.0.0.1", port: int = 0, threads: int = 16) -> None:
        self._app = app
        self.host = host
        self._requested_port = port
        self._threads = threads
        self._server: wsgi.Server | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self.port = 0

    def start(self, timeout: float = 5.0) -> None:
        """Bind, start serving, and return once a real connection is accepted (or raise :class:`ServerError`)."""
        server = wsgi.Server(
            (self.host, self._requested_port),
            self._app,
            numthreads=self._threads,
            server_name="cxmock",
            request_queue_size=128,
            timeout=30,
            shutdown_timeout=5,
        )
        server.gateway = _Gateway
        # the selector loop notices stop() only between select() calls: 0.5 s by default made every stop() last 0.5 s
        server.expiration_interval = 0.05
        server.error_log = _quiet_error_log  # type: ignore[method-assign]
        try:
            server.prepare()
        except OSError as exc:
            raise ServerError(
                f"cannot listen on {self.host}:{self._requested_port}: {exc}; pick another --port or use 0"
            ) from None
        self._server = server
        self.port = int(server.bind_addr[1])
        self._thread = threading.Thread(target=self._serve, name=f"cxmock-http-{self.port}", daemon=True)
        self._thread.start()
        self._wait_ready(timeout)

    def _serve(self) -> None:
        assert self._server is not None
        try:
            self._server.serve()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller by check()
            self._error = exc

    def _wait_ready(self, timeout: float) -> None:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else ("::1" if self.host == "::" else self.host)
        try:
            with socket.create_connection((host, self.port), timeout=timeout) as sock:
                sock.sendall(b"GET /_mock/health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                sock.settimeout(timeout)
                first = sock.recv(64)
        except OSError as exc:
            self.stop()
            raise ServerError(f"the HTTP server on port {self.port} did not answer within {timeout} s: {exc}") from None
        if not first.startswith(b"HTTP/1.1 "):
            self.stop()
            raise ServerError(f"the HTTP server on port {self.port} answered {first[:40]!r} to a health probe")

    def check(self) -> None:
        """Re-raise an error of the server thread in the caller."""
        if self._error is not None:
            raise ServerError(f"the HTTP server thread failed: {self._error!r}") from self._error

    def stop(self) -> None:
        """Stop accepting, let in-flight requests finish (up to 5 s), close every socket, join the thread."""
        server, self._server = self._server, None
        if server is not None:
            server.stop()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None


def _quiet_error_log(msg: str = "", level: int = 20, traceback: bool = False) -> None:
    """Cheroot's error log: connection errors from clients (and our own injected drops) are not our failures."""
    log.log(logging.DEBUG if level < logging.ERROR else logging.WARNING, "cheroot: %s", msg, exc_info=traceback)
