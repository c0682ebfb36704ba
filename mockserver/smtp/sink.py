"""The embedded SMTP sink: aiosmtpd on a private asyncio loop in a background thread.

Two listeners: ``smtp`` (plain, advertises STARTTLS) and ``smtps`` (implicit TLS). Every accepted message goes to
a :class:`~mockserver.core.mail.store.MailStore` with its envelope, peer, listener, TLS facts and authenticated user.

aiosmtpd's ``Controller`` cannot start on port 0 (aio-libs/aiosmtpd#276, #388: it probes the port it was *given*).
The sink binds its listening sockets itself, so the real ports are known before the loop starts, and serves them
with ``loop.sock_accept`` + ``loop.connect_accepted_socket``. Owning the accept step means it also owns every
connection, including those still in a TLS handshake, so :meth:`SmtpSink.stop` closes them all and a stopped sink
leaves no thread, socket or transport behind. "Started" means "answers": :meth:`SmtpSink.start` returns once a
real connection to each listener has read the ``220`` greeting.

This module owns the listeners, the loop and the thread; what a session does (fault gates, AUTH, capture) is in
``smtp/protocol.py``.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from ..core.faults.decisions import SmtpFault
from ..core.mail.store import CapturedMessage, MailStore
from ..core.surface import MailSink
from ..errors import ServerError
from .limits import TLS_REFUSALS, RefuseProtocol, SinkBudget, SinkLimits, contain_connection_error, refuse_plain
from .listeners import bind_listener, probe_listener
from .protocol import Authenticator, CaptureHandler, Router, SinkSMTP
from .protocol import TrackedSMTP as TrackedSMTP
from .tls import TlsMaterial

__all__ = ["FaultHook", "SmtpSink", "TrackedSMTP"]

log = logging.getLogger("cxmock.smtp")

#: ``fault_hook(stage, user, listener) -> SmtpFault | None``
FaultHook = Callable[[str, "str | None", str], "SmtpFault | None"]

READY_TIMEOUT = 5.0
TLS_HANDSHAKE_TIMEOUT = 10.0
SERVER_HOSTNAME = "cxmock.localhost"


class SmtpSink(MailSink[CapturedMessage]):
    """The embedded SMTP sink; ``start()``, use, ``stop()`` (restartable; also a context manager).

    :param store: where accepted messages go.
    :param host: the address both listeners bind (loopback by default).
    :param smtp_port: the plain/STARTTLS listener's port; 0 picks a free one (read it back from :attr:`smtp_port`).
    :param smtps_port: the implicit-TLS listener's port; 0 picks a free one.
    :param tls: certificate for STARTTLS and smtps; ``None`` generates one (:meth:`TlsMaterial.generate`).
    :param auth_mode: ``"any"`` accepts any AUTH credentials; ``"fixed"`` only the ``credentials`` pairs.
    :param credentials: ``"user:password"`` entries for ``auth_mode="fixed"``.
    :param require_auth: answer MAIL/RCPT/DATA with 530 until the client has authenticated.
    :param max_message_size: bigger messages are refused with 552 (and advertised with EHLO SIZE).
    :param fault_hook: ``fault_hook(stage, user, listener) -> SmtpFault | None``, asked at every stage.
    :param limits: connection limit and deadlines (:class:`~mockserver.smtp.limits.SinkLimits`).
    """

    router: Router | None = None  # sandboxes: where a session's faults and mail go instead (smtp/routing.py)

    def __init__(
        self,
        *,
        store: MailStore,
        host: str = "127.0.0.1",
        smtp_port: int = 0,
        smtps_port: int = 0,
        tls: TlsMaterial | None = None,
        auth_mode: str = "any",
        credentials: Sequence[str] = (),
        require_auth: bool = False,
        max_message_size: int = 10 * 1024 * 1024,
        fault_hook: FaultHook | None = None,
        server_hostname: str = SERVER_HOSTNAME,
        limits: SinkLimits | None = None,
    ) -> None:
        self.limits = limits if limits is not None else SinkLimits()
        self._authenticator = Authenticator(auth_mode, credentials)
        self.store = store
        self.host = host
        self.tls = tls if tls is not None else TlsMaterial.generate()
        self.require_auth = require_auth
        self.max_message_size = max_message_size
        self.fault_hook = fault_hook
        self.server_hostname = server_hostname
        self._ports = {"smtp": smtp_port, "smtps": smtps_port}
        self._handler = CaptureHandler(self)
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_future: asyncio.Future[None] | None = None
        self._protocols: set[TrackedSMTP] = set()
        self.budget = SinkBudget(self.limits, self._protocols)
        self._accepted: set[socket.socket] = set()
        self._refusing: set[socket.socket] = set()  # over-limit TLS connections finishing a handshake to read 421
        self._tasks: set[asyncio.Task[None]] = set()
        self._addresses: dict[str, tuple[socket.AddressFamily, Any]] = {}
        self._probe_peers: set[tuple[Any, ...]] = set()
        self._errors: list[BaseException] = []

    # -- public API --------------------------------------------------------------------------------------------

    @property
    def ports(self) -> dict[str, int]:
        """``{"smtp": port, "smtps": port}``, the shape :func:`~mockserver.core.routing.resolve_smtp_target` takes."""
        return dict(self._ports)

    @property
    def auth_mode(self) -> str:
        """``"any"`` (any AUTH credentials are accepted) or ``"fixed"`` (only the ``credentials`` pairs)."""
        return self._authenticator.mode

    @property
    def running(self) -> bool:
        return self._thread is not None

    @property
    def ca_pem(self) -> bytes:
        """The CA certificate (PEM) that verifies both listeners."""
        return self.tls.ca_pem

    def _mailbox(self) -> MailStore:
        """``messages``, ``clear()`` and ``wait_for()`` (:class:`~mockserver.core.surface.MailSink`) act on
        :attr:`store`."""
        return self.store

    def factory(self, listener: str) -> TrackedSMTP:
        """The protocol for one new connection on ``listener`` (the override point, as in aiosmtpd)."""
        return SinkSMTP(
            self._handler,
            sink=self,
            listener=listener,
            ident="ESMTP cxmock",
            tls_context=self.tls.server_context() if listener == "smtp" else None,
            data_size_limit=self.max_message_size,
            enable_SMTPUTF8=True,
            auth_require_tls=False,
            authenticator=self._authenticator,
        )

    def start(self) -> None:
        """Bind both listeners, start the loop thread and return once both answer with a 220 greeting.

        :raises ServerError: a port cannot be bound, the thread failed, or a listener did not answer in time.
        """
        if self._thread is not None:
            raise ServerError("the SMTP sink is already running; stop() it before starting it again")
        self._errors.clear()
        sockets: dict[str, socket.socket] = {}
        try:
            for listener in ("smtp", "smtps"):
                sockets[listener] = self._bind(listener, self._ports[listener])
        except BaseException:
            for sock in sockets.values():
                sock.close()
            raise
        configured = dict(self._ports)
        self._ports = {name: sock.getsockname()[1] for name, sock in sockets.items()}
        self._addresses = {name: (sock.family, sock.getsockname()) for name, sock in sockets.items()}
        loop = asyncio.new_event_loop()
        loop.set_exception_handler(self._on_loop_error)
        self._loop = loop
        self._stop_future = loop.create_future()
        started = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(loop, sockets, started), name="cxmock-smtp-sink", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + READY_TIMEOUT
        try:
            if not started.wait(READY_TIMEOUT):
                raise ServerError(f"the SMTP sink thread did not start within {READY_TIMEOUT:g} s")
            self.check()
            for listener in ("smtp", "smtps"):
                self._probe(listener, deadline)
        except BaseException:
            self.stop()
            self._ports = configured
            raise

    def stop(self, timeout: float = READY_TIMEOUT) -> None:
        """Close both listeners and every open connection, and join the thread. Idempotent."""
        thread, loop, stop_future = self._thread, self._loop, self._stop_future
        if thread is None or loop is None or stop_future is None:
            return
        try:
            loop.call_soon_threadsafe(_resolve, stop_future)
        except RuntimeError:  # the loop is already closed: the thread has ended
            pass
        thread.join(timeout)
        if thread.is_alive():
            raise ServerError(f"the SMTP sink thread did not stop within {timeout:g} s")
        self._thread = self._loop = self._stop_future = None

    def check(self) -> None:
        """Re-raise, as :class:`ServerError`, the first error the sink thread hit (like pytest-httpserver)."""
        if self._errors:
            error = self._errors[0]
            raise ServerError(f"the SMTP sink thread failed: {error!r}") from error

    @property
    def errors(self) -> list[BaseException]:
        """Errors the sink thread hit (unexpected ones only; clients misbehaving are not errors)."""
        return list(self._errors)

    def __enter__(self) -> SmtpSink:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- internals ---------------------------------------------------------------------------------------------

    def _bind(self, listener: str, port: int) -> socket.socket:
        return bind_listener(self.host, port, listener)

    def _run(
        self, loop: asyncio.AbstractEventLoop, sockets: dict[str, socket.socket], started: threading.Event
    ) -> None:
        try:
            loop.run_until_complete(self._main(sockets, started))
        except BaseException as exc:
            self._record_error(exc)
        finally:
            for sock in sockets.values():
                sock.close()
            try:
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                loop.close()
                started.set()

    async def _main(self, sockets: dict[str, socket.socket], started: threading.Event) -> None:
        loop = asyncio.get_running_loop()
        assert self._stop_future is not None
        accepting = [loop.create_task(self._accept(sock, name)) for name, sock in sockets.items()]
        started.set()
        try:
            await self._stop_future
        finally:
            for task in accepting:
                task.cancel()
            await asyncio.gather(*accepting, return_exceptions=True)
            for sock in sockets.values():
                sock.close()
            for protocol in list(self._protocols):
                protocol.abort()
            pending = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            await self._until_closed()

    async def _until_closed(self) -> None:
        # Aborted transports close their sockets in callbacks scheduled on the next loop iterations.
        for _ in range(100):
            if all(sock.fileno() == -1 for sock in self._accepted):
                break
            await asyncio.sleep(0)
        else:
            log.warning("SMTP sink: closing %d connection(s) that outlived shutdown", len(self._accepted))
            for sock in self._accepted:
                sock.close()
        self._accepted.clear()
        self._protocols.clear()

    async def _accept(self, listening: socket.socket, listener: str) -> None:
        loop = asyncio.get_running_loop()
        context = self.tls.server_context() if listener == "smtps" else None
        while True:
            try:
                conn, peer = await loop.sock_accept(listening)
            except OSError as exc:  # e.g. EMFILE: back off instead of spinning
                log.warning("SMTP sink (%s): accept failed: %s", listener, exc)
                await asyncio.sleep(0.1)
                continue
            if len(self._accepted) >= 64:
                self._accepted = {sock for sock in self._accepted if sock.fileno() != -1}
            why = self.budget.admit(conn, peer, self.is_probe(peer))
            if why is not None:
                self._refuse(conn, listener, context, why)
                continue
            self._accepted.add(conn)
            task = loop.create_task(self._connect(conn, listener, context))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _refuse(self, conn: socket.socket, listener: str, context: ssl.SSLContext | None, why: str) -> None:
        """Answer a connection over the budget (:class:`SinkBudget`) with 421 and close it."""
        log.warning("SMTP sink (%s): %s; refusing one with 421", listener, why)
        if context is None:
            refuse_plain(conn)
            return
        self._refusing = {sock for sock in self._refusing if sock.fileno() != -1}
        if len(self._refusing) >= TLS_REFUSALS:  # a flood: no handshake for it
            conn.close()
            return
        self._refusing.add(conn)
        self._accepted.add(conn)  # closed by stop() like any other
        task = asyncio.get_running_loop().create_task(self._connect(conn, listener, context, refuse=True))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _connect(
        self, conn: socket.socket, listener: str, context: ssl.SSLContext | None, *, refuse: bool = False
    ) -> None:
        loop = asyncio.get_running_loop()
        made: list[BaseException] = []

        def protocol() -> asyncio.Protocol:
            try:
                return RefuseProtocol() if refuse else self.factory(listener)
            except BaseException as exc:  # a bug of cxmock (or of a factory override): every connection would fail
                made.append(exc)
                raise

        try:
            await loop.connect_accepted_socket(
                protocol,
                conn,
                ssl=context,
                ssl_handshake_timeout=TLS_HANDSHAKE_TIMEOUT if context else None,
            )
        except Exception as exc:  # TLS handshake failed or timed out, peer went away: that connection's problem
            if made:
                self._record_error(made[0])
            else:
                log.debug("SMTP sink (%s): connection failed before the greeting: %r", listener, exc)
            conn.close()

    def _probe(self, listener: str, deadline: float) -> None:
        family, address = self._addresses[listener]
        probe_listener(listener, family, address, deadline, self._probe_peers)

    def _on_loop_error(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if not contain_connection_error(context):  # not one connection's problem: a bug of cxmock
            error = context.get("exception")
            self._record_error(error if error is not None else RuntimeError(str(context.get("message"))))

    # -- what connections use (protocol.SinkServices) -----------------------------------------------------------

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        """The sink's event loop while it runs."""
        return self._loop

    @property
    def connections(self) -> set[TrackedSMTP]:
        """The open connections (each registers itself, so ``stop()`` can abort them)."""
        return self._protocols

    def is_probe(self, peer: Any) -> bool:
        """Whether ``peer`` is the sink's own readiness probe (not journaled, not logged)."""
        return isinstance(peer, tuple) and tuple(peer[:2]) in self._probe_peers

    def record_error(self, error: BaseException) -> None:
        self._record_error(error)

    def _record_error(self, error: BaseException) -> None:
        log.error("SMTP sink thread error: %r", error, exc_info=error)
        self._errors.append(error)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
