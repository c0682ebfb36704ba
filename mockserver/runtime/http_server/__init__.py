"""cxmock's HTTP front end: one asyncio event loop (its own thread, in-process) holds every connection, idle or
slow, at the cost of its buffers; only COMPLETE requests (head and body read) reach the bounded pool of worker
threads that run the WSGI app. Same server for the pytest fixture (ephemeral ports) and ``cxmock serve``.
It knows no app: the app's extension keys, error body and finishing step are handed in (``hooks.py``).

Parsing is ``httptools`` (llhttp, Node's parser: strict RFC 9112 framing, C speed) on an ``asyncio.Protocol``,
both public, documented APIs; ``bench/`` compares it with cheroot and waitress (docs/benchmarks.md). What the
connection does is in ``protocol.py`` (framing, deadlines, limits, faults), what a worker does in ``wsgi.py``,
the accepting in ``listener.py``.

Socket-level faults stay real: the app sets ``environ[hooks.abort_key]`` to ``"drop"`` (nothing sent, FIN) or
``"reset"`` (nothing sent, RST via ``SO_LINGER`` 0); ``environ[hooks.stopping_key]`` is set when the server stops
and ``environ[hooks.gone_key]`` when the client goes away, so a hang ends early.

Stop: the listener closes at once, idle and half-received connections close at once, requests in flight get up to
``grace`` seconds to be answered, then every connection is aborted. No client can delay it further.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import queue
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from ...config import reachable_host
from ...errors import ServerError, bind_advice
from .hooks import AppHooks, Refusal
from .hub import descriptor_budget
from .listener import Listener
from .protocol import Connection, Hub, Limits
from .wsgi import Request, base_environ, environ, respond

__all__ = ["MAX_HEAD_BYTES", "AppHooks", "HttpServer", "Limits", "Refusal"]

log = logging.getLogger("cxmock.server")

#: the request line and headers together may not exceed this
MAX_HEAD_BYTES = 64 * 1024


class _Workers:
    """A fixed pool of daemon threads, all started with the server (a test's leak check sees them as the server's),
    each stopped by a sentinel."""

    def __init__(self, size: int, name: str, run: Any) -> None:
        self._run = run
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.submit = self._queue.put
        self._threads = [threading.Thread(target=self._loop, name=f"{name}-{i}", daemon=True) for i in range(size)]
        for thread in self._threads:
            thread.start()

    def _loop(self) -> None:
        get, run = self._queue.get, self._run
        while True:
            item = get()
            if item is None:
                return
            try:
                run(*item)
            except BaseException:  # noqa: BLE001 - a worker must survive whatever one request does
                log.exception("HTTP worker failed")

    def stop(self, deadline: float) -> None:
        threads, self._threads = self._threads, []
        for _ in threads:
            self._queue.put(None)
        for thread in threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))


class HttpServer:
    """The HTTP front end running ``app`` (WSGI) on ``host:port`` in background threads.

    :param host: address to bind (default loopback).
    :param port: 0 picks a free ephemeral port; :attr:`port` reports the bound one after :meth:`start`.
    :param threads: worker threads running the app (the most requests handled at once).
    :param limits: deadlines and sizes (:class:`Limits`); ``max_body`` is the largest body read into memory.
    :param grace: on :meth:`stop`, how long requests in flight get to be answered.
    :param hooks: what the app hands the front end (:class:`AppHooks`): extension keys, error body, finishing
        step of its own answers; default: none (any WSGI app, plain-text errors).
    :param body_limit: the largest request body now (``--max-body``, which may change while the server runs);
        default ``limits.max_body``. A larger one is never read: the app answers it by its head (413).
    :param reserved_descriptors: descriptors kept for the rest of the process (the SMTP sink...): the connection
        cap is ``limits.max_connections`` but at most what the descriptor limit leaves (:attr:`max_connections`).
    """

    def __init__(
        self,
        app: Any,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        threads: int = 16,
        limits: Limits | None = None,
        grace: float = 2.0,
        hooks: AppHooks | None = None,
        body_limit: Callable[[], int] | None = None,
        reserved_descriptors: int = 0,
    ) -> None:
        self._app = app
        self._hooks = hooks or AppHooks()
        self._body_limit = body_limit
        self._reserved = reserved_descriptors
        self.host = host
        self._requested_port = port
        self._threads = threads
        self._limits = limits or Limits(max_head=MAX_HEAD_BYTES)
        #: the connection cap in force (set by :meth:`start`: the configured one within the descriptor limit)
        self.max_connections = self._limits.max_connections
        self._grace = grace
        self._stopping = threading.Event()
        self._hub: Hub | None = None
        self._workers: _Workers | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self.port = 0

    def start(self, timeout: float = 5.0) -> None:
        """Bind, start serving, and return once a real connection is answered (or raise :class:`ServerError`)."""
        sock = self._bind()
        self.port = int(sock.getsockname()[1])
        self._stopping = threading.Event()
        workers = _Workers(self._threads, f"cxmock-http-{self.port}", self._handle)
        cap = descriptor_budget(self._limits.max_connections, self._reserved)
        if cap < self._limits.max_connections:
            log.info("HTTP: at most %d connections (the descriptor limit, ulimit -n, leaves no room for more)", cap)
        self.max_connections = cap
        limits = dataclasses.replace(self._limits, max_connections=cap)
        hub = Hub(self._app, limits, lambda *item: workers.submit(item), self._stopping, self._hooks)
        if self._body_limit is not None:
            hub.body_limit = self._body_limit
        hub.base = base_environ(self.host, self.port)
        self._hub, self._workers = hub, workers
        loop = asyncio.new_event_loop()
        hub.loop = self._loop = loop
        ready = threading.Event()
        self._thread = threading.Thread(
            target=self._serve, args=(loop, sock, hub, ready), name=f"cxmock-http-{self.port}", daemon=True
        )
        self._thread.start()
        if not ready.wait(timeout) or self._error is not None:
            self.stop()
            raise ServerError(f"the HTTP server on port {self.port} did not start: {self._error!r}")
        self._wait_ready(timeout)

    def _bind(self) -> socket.socket:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self._requested_port))
            sock.listen(1024)
            sock.setblocking(False)
        except OSError as exc:
            sock.close()
            advice = bind_advice(exc, self.host, self._requested_port, host_option="--host", port_option="--port")
            raise ServerError(
                f"cannot listen on {self.host}:{self._requested_port}: {exc.strerror or exc}; {advice}"
            ) from None
        return sock

    def _serve(self, loop: asyncio.AbstractEventLoop, sock: socket.socket, hub: Hub, ready: threading.Event) -> None:
        asyncio.set_event_loop(loop)
        try:
            refusal = hub.error_bytes(
                503, "connection refused: the server is out of file descriptors; retry in a moment", ("Retry-After: 1",)
            )
            listener = Listener(loop, sock, lambda: Connection(hub), refusal)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller by start()
            self._error = exc
            sock.close()
            ready.set()
            loop.close()
            return
        hub.listener = listener
        ready.set()
        try:
            loop.run_forever()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller by check()
            self._error = exc
        finally:
            hub.closing = True
            listener.close()
            if listener.pending:  # connections accepted just before the close: set up (and refused), then closed
                loop.run_until_complete(asyncio.wait(set(listener.pending), timeout=1.0))
            hub.abort_all()
            for _ in range(3):  # let the aborted transports finish closing (connection_lost runs soon after)
                loop.run_until_complete(asyncio.sleep(0))
            loop.close()

    def _handle(self, conn: Connection, req: Request) -> None:
        """(worker thread) Run the app on one request and hand the answer back to the loop."""
        hub = conn.hub
        hooks = hub.hooks
        remote = conn.base.get("REMOTE_ADDR", "")

        def failed(details: str) -> bytes:  # the app failed: our 500, finished like the app's answers
            return hub.error_bytes(500, details, (), req, remote)

        outcome = respond(hub.app, environ(req, conn.base, hub.stopping, hooks), req, hooks.abort_key, failed)
        loop = hub.loop
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(conn.done, req, outcome)
            except RuntimeError:
                pass  # the loop closed meanwhile (stop after the grace): nobody is left to answer

    def _wait_ready(self, timeout: float) -> None:
        host = reachable_host(self.host)
        try:
            with socket.create_connection((host, self.port), timeout=timeout) as sock:
                probe = (
                    f"GET {self._hooks.probe_path} HTTP/1.1\r\nHost: localhost\r\n"
                    f"{self._hooks.probe_header}: start-up\r\n"
                    "Connection: close\r\n\r\n"
                )
                sock.sendall(probe.encode("ascii"))
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
        """Stop accepting, close idle connections, give requests in flight up to ``grace`` s, close the rest."""
        loop, self._loop = self._loop, None
        hub, workers, thread = self._hub, self._workers, self._thread
        self._hub = self._workers = self._thread = None
        self._stopping.set()  # ends injected delays and hangs at once
        deadline = time.monotonic() + self._grace
        if loop is not None and hub is not None and thread is not None and thread.is_alive():
            try:
                loop.call_soon_threadsafe(hub.close_all)
                hub.all_closed.wait(max(0.0, deadline - time.monotonic()))
                loop.call_soon_threadsafe(loop.stop)
            except RuntimeError:
                pass  # the loop is already closed
        if thread is not None:
            thread.join(timeout=max(1.0, deadline - time.monotonic()))
        if workers is not None:
            workers.stop(max(deadline, time.monotonic() + 0.05))
