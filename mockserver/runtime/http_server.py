"""The WSGI server cxmock runs on: cheroot, in a background thread, on a given or ephemeral port.

Cheroot is production-grade, pure Python, embeddable in a thread (so the pytest fixture and ``cxmock serve`` run
the same server), binds port 0 and reports the bound port. Its gateway is extended to put the connection's socket
into the WSGI environ (``cxmock.socket``) so connection-level faults (drop, reset, hang) are real: when the app sets
``environ["cxmock.abort"]`` to ``"drop"`` or ``"reset"``, nothing of its response is sent and the connection is closed,
with a FIN (drop) or a RST (reset: ``SO_LINGER`` 1, 0 and no shutdown). ``environ["cxmock.stopping"]`` is an Event set
when the server stops, so a hanging or delayed request ends at once. See ``mockserver.http.faults``.

Malformed HTTP is refused with a 4xx and never reaches the app half-parsed: request head (line + headers) over
64 KiB (413/414), a header name that is not an RFC 9110 token (``Bad Name:``, ``Name :``), a request with both
``Content-Length`` and ``Transfer-Encoding`` (RFC 9112 §6.1: a smuggling attempt; 400 and the connection closed), a
malformed chunked body (400). Cheroot's 505 (HTTP version) and 501 (transfer coding) become 400: no input gets a 5xx.
Every answer cheroot writes itself is in the vendor error shape (``application/json;v=1.0``) and closes the connection.
"""

from __future__ import annotations

import logging
import re
import socket
import struct
import threading
from typing import Any

from cheroot import errors as cheroot_errors
from cheroot import server as cheroot_server
from cheroot import wsgi
from werkzeug.exceptions import BadRequest

from ..config import reachable_host
from ..core.contract import JSON_V1
from ..errors import MessageCode, ServerError
from ..http.errors import json_bytes
from ..http.faults import ABORT_KEY, SOCKET_KEY, STOPPING_KEY

__all__ = ["HttpServer", "SOCKET_KEY"]

log = logging.getLogger("cxmock.server")

#: at most this much of an unread request body is read before a drop, so the close is a FIN rather than a RST
_DRAIN_LIMIT = 1024 * 1024
#: the request line and headers together may not exceed this (cheroot's default is no limit at all)
MAX_HEAD_BYTES = 64 * 1024
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
#: cheroot's 5xx answers to malformed requests, and the 400 message given instead
_CLIENT_FAULTS = {
    "501": "Unsupported Transfer-Encoding: only chunked is supported.",
    "505": "Unsupported HTTP version: send HTTP/1.1 (or HTTP/1.0).",
}


class _HeaderReader(cheroot_server.HeaderReader):
    def _transform_key(self, key_name: bytes) -> bytes:
        if not _TOKEN.fullmatch(key_name):  # RFC 9112 §5.1: no whitespace in or before the colon
            raise ValueError("Illegal header name.")
        key: bytes = super()._transform_key(key_name)  # type: ignore[misc]  # missing from cheroot's stub
        return key


class _Request(cheroot_server.HTTPRequest):
    header_reader = _HeaderReader()

    def read_request_headers(self) -> bool:
        if not super().read_request_headers():  # type: ignore[no-untyped-call]
            return False
        if b"Content-Length" in self.inheaders and b"Transfer-Encoding" in self.inheaders:
            self.simple_response("400 Bad Request", "Content-Length and Transfer-Encoding must not both be sent.")
            self.close_connection = True
            return False
        return True

    def simple_response(self, status: Any, msg: Any = "") -> None:
        """Cheroot's own answer (malformed request line or headers, head too large, timeout...), in the vendor error
        shape: ``{"messageCode", "messageDetails"}`` as ``application/json;v=1.0``, then the connection closed (the
        rest of the stream cannot be trusted). Replaces ``HTTPRequest.simple_response``, which writes text/plain."""
        if self.sent_headers:  # a response has begun: a second status line would corrupt it
            self.close_connection = True
            return
        status = str(status)
        replacement = _CLIENT_FAULTS.get(status[:3])
        if replacement is not None:  # a malformed request is the client's fault: 400, never a 5xx
            status, msg = "400 Bad Request", replacement
        # unlike cheroot, 413/414 stay as they are for HTTP/1.0 (which treats an unknown 4xx as 400): a 414 comes
        # before the request line is read, when cheroot takes every client for HTTP/1.0 and so never sent one
        code = int(status[:3])
        text = msg.decode("latin-1") if isinstance(msg, bytes) else str(msg or "")
        body = json_bytes({"messageCode": _message_code(code), "messageDetails": _details(code, status, text)})
        head = (
            f"{self.server.protocol} {status}\r\n"
            f"Content-Type: {JSON_V1}\r\n"
            f"Content-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n"
        )
        self.sent_headers = True
        self.close_connection = True
        try:
            self.conn.wfile.write(head.encode("latin-1") + body)
        except OSError as exc:
            if exc.args[0] not in cheroot_errors.socket_errors_to_ignore:
                raise


def _message_code(status: int) -> int:
    if status in (413, 414):
        return MessageCode.PAYLOAD_TOO_LARGE
    if status == 405:
        return MessageCode.METHOD_NOT_ALLOWED
    if status >= 500:
        return MessageCode.MOCK_INTERNAL
    return MessageCode.INVALID_BODY


def _details(status: int, reason: str, text: str) -> str:
    """A sentence for ``messageDetails``: what was wrong with the request, from cheroot's message when it has one."""
    what = text.strip().rstrip(".") or reason[4:].strip() or "malformed request"
    if status == 408:
        return f"request timeout: the request was not received in time ({what}); the connection is closed"
    if status in (413, 414):
        return f"request too large: {what}; the connection is closed"
    if status >= 500:
        return f"the HTTP server could not answer ({what}); the connection is closed"
    return f"malformed HTTP request: {what}; the connection is closed"


class _ChunkedInput:
    """``wsgi.input`` of a chunked request: cheroot's ValueError for malformed chunking becomes a 400."""

    def __init__(self, req: Any) -> None:
        self._req = req
        self._rfile = req.rfile

    def _guard(self, method: str, *args: Any) -> Any:
        try:
            return getattr(self._rfile, method)(*args)
        except ValueError as exc:
            self._req.close_connection = True  # the rest of the stream cannot be trusted
            raise BadRequest(f"malformed chunked request body: {exc}") from None

    def read(self, size: int | None = None) -> bytes:
        data: bytes = self._guard("read", size)
        return data

    def readline(self, size: int | None = None) -> bytes:
        data: bytes = self._guard("readline", size)
        return data

    def readlines(self, sizehint: int = 0) -> list[bytes]:
        lines: list[bytes] = self._guard("readlines", sizehint)
        return lines

    def __iter__(self) -> Any:
        return iter(self.readline, b"")


class _Connection(cheroot_server.HTTPConnection):
    RequestHandlerClass = _Request
    #: "drop" or "reset" once the app aborted a request on this connection
    cxmock_abort: str | None = None
    #: accepted, nothing read yet: waits in the selector, not in a worker thread (see ``_Server.process_conn``)
    cxmock_fresh = True

    def close(self) -> None:
        if self.cxmock_abort != "reset":
            super().close()
            return
        # no shutdown(): it would send a FIN first. SO_LINGER (1, 0) is set, so the real close sends a RST; closing
        # both file objects first makes socket.close() the real close.
        self.rfile.close()
        self.wfile.close()
        self.socket.close()


class _Gateway(wsgi.Gateway_10):
    def get_environ(self) -> dict[str, Any]:  # type: ignore[override]
        env: dict[str, Any] = super().get_environ()  # type: ignore[no-untyped-call]
        if self.req.chunked_read:
            env["wsgi.input"] = _ChunkedInput(self.req)
        env[SOCKET_KEY] = self.req.conn.socket
        env[ABORT_KEY] = None
        env[STOPPING_KEY] = getattr(self.req.server, "cxmock_stopping", None)
        return env

    def start_response(self, status: str, headers: Any, exc_info: Any = None) -> Any:
        write = super().start_response(status, headers, exc_info)
        how = self.env.get(ABORT_KEY)
        if how in ("drop", "reset"):
            self._abort(how)
        return write

    def write(self, chunk: bytes) -> None:
        if self.env.get(ABORT_KEY) in ("drop", "reset"):
            return  # an aborted request sends nothing
        super().write(chunk)

    def _abort(self, how: str) -> None:
        req = self.req
        req.sent_headers = True  # cheroot then sends no status line, headers or error page for this request
        req.close_connection = True
        conn = req.conn
        if isinstance(conn, _Connection):
            conn.cxmock_abort = how
        try:
            if how == "reset":
                conn.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            else:
                conn.socket.settimeout(1.0)  # a client that announced a body it never sends does not hold us
                _drain(req)
        except OSError:
            pass  # the client is gone already: nothing left to drop


def _drain(req: Any) -> None:
    """Read what is left of the request body (bounded), so closing the connection sends a FIN, not a RST."""
    rfile = getattr(req, "rfile", None)
    if rfile is None or (getattr(rfile, "remaining", 1) or 0) <= 0:
        return
    left = _DRAIN_LIMIT
    while left > 0:
        chunk = rfile.read(min(left, 65536))
        if not chunk:
            return
        left -= len(chunk)


class _Server(wsgi.Server):
    @staticmethod
    def bind_socket(socket_: socket.socket, bind_addr: Any) -> socket.socket:
        try:
            socket_.bind(bind_addr)
        except OSError:
            socket_.close()  # cheroot's prepare() drops the socket of a failed bind unclosed (a ResourceWarning)
            raise
        return socket_

    def process_conn(self, conn: Any) -> None:
        """Cheroot hands a just-accepted connection straight to a worker thread, which then blocks up to ``timeout``
        (30 s) for its first byte: ``http_threads`` silent clients stalled every other client. A fresh connection
        waits in the selector instead, and goes to a worker once it has something to read."""
        if getattr(conn, "cxmock_fresh", False):
            conn.cxmock_fresh = False
            self._connections.put(conn)  # type: ignore[attr-defined]
            return
        super().process_conn(conn)


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
        self._stopping = threading.Event()
        self.port = 0

    def start(self, timeout: float = 5.0) -> None:
        """Bind, start serving, and return once a real connection is accepted (or raise :class:`ServerError`)."""
        server = _Server(
            (self.host, self._requested_port),
            self._app,
            numthreads=self._threads,
            server_name="cxmock",
            request_queue_size=128,
            timeout=30,
            shutdown_timeout=5,
        )
        server.gateway = _Gateway
        server.ConnectionClass = _Connection
        self._stopping = threading.Event()
        server.cxmock_stopping = self._stopping  # type: ignore[attr-defined]
        # the selector loop notices stop() only between select() calls: 0.5 s by default made every stop() last 0.5 s
        server.expiration_interval = 0.05
        server.max_request_header_size = MAX_HEAD_BYTES
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
        host = reachable_host(self.host)
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

    def signal_stopping(self) -> None:
        """Set ``environ[STOPPING_KEY]`` of every request, in flight or new: delays, hangs and waits end now.

        :meth:`stop` does it too; call this first to wake other waiters only once no new wait can begin."""
        self._stopping.set()

    def stop(self) -> None:
        """Stop accepting, let in-flight requests finish (up to 5 s), close every socket, join the thread."""
        server, self._server = self._server, None
        if server is not None:
            self._stopping.set()  # ends injected delays and hangs at once
            server.stop()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None


def _quiet_error_log(msg: str = "", level: int = 20, traceback: bool = False) -> None:
    """Cheroot's error log: connection errors from clients (and our own injected drops) are not our failures."""
    log.log(logging.DEBUG if level < logging.ERROR else logging.WARNING, "cheroot: %s", msg, exc_info=traceback)
