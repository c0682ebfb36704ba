"""The embedded SMTP sink: aiosmtpd on a private asyncio loop in a background thread.

Two listeners: ``smtp`` (plain, advertises STARTTLS) and ``smtps`` (implicit TLS). Every accepted message goes to
a :class:`~mockserver.core.mail.MailStore` with its envelope, peer, listener, TLS facts and authenticated user.

aiosmtpd's ``Controller`` cannot start on port 0 (aio-libs/aiosmtpd#276, #388: it probes the port it was *given*).
The sink binds its listening sockets itself, so the real ports are known before the loop starts, and serves them
with ``loop.sock_accept`` + ``loop.connect_accepted_socket``. Owning the accept step means it also owns every
connection, including those still in a TLS handshake, so :meth:`SmtpSink.stop` closes them all and a stopped sink
leaves no thread, socket or transport behind. "Started" means "answers": :meth:`SmtpSink.start` returns once a
real connection to each listener has read the ``220`` greeting.

Faults: ``fault_hook(stage, user, listener)`` is asked at each stage (:data:`~mockserver.core.faults.SMTP_STAGES`)
and its :class:`~mockserver.core.faults.SmtpFault` applied there: ``reply`` answers ``code text`` instead of
proceeding, ``delay`` waits ``delay_s`` then proceeds, ``drop`` closes the connection. ``connect`` is asked before
anything is sent (a reply there is sent, then the connection closed), ``greeting`` replaces the ``220`` line (a
non-2xx greeting refuses every later command but QUIT), ``data`` is asked once the message has been received (a
reply there rejects it: nothing is captured).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, AnyStr

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session, TLSSetupException

from ..core.faults import SmtpFault
from ..core.mail import CapturedMessage, MailStore
from ..errors import ServerError
from .tls import TlsMaterial

__all__ = ["FaultHook", "SmtpSink", "TrackedSMTP"]

log = logging.getLogger("mockserver.smtp")

#: ``fault_hook(stage, user, listener) -> SmtpFault | None``
FaultHook = Callable[[str, "str | None", str], "SmtpFault | None"]

READY_TIMEOUT = 5.0
TLS_HANDSHAKE_TIMEOUT = 10.0
SERVER_HOSTNAME = "cxmock.localhost"


class _Session(Session):
    # aiosmtpd's ``login_data`` property logs a deprecation warning on every successful AUTH; a plain attribute
    # keeps the logs quiet (the sink reads ``auth_data``).
    login_data: Any = None


class TrackedSMTP(SMTP):
    """aiosmtpd's protocol plus what :class:`SmtpSink` needs to stop cleanly: a registry of open connections.

    Protocols returned by :meth:`SmtpSink.factory` must derive from it; ``kwargs`` go to aiosmtpd's ``SMTP``
    (``hostname`` defaults to the sink's, ``loop`` is the sink's).
    """

    def __init__(self, handler: Any, *, sink: SmtpSink, listener: str, **kwargs: Any) -> None:
        assert sink._loop is not None, "protocols are created by a running sink"
        kwargs.setdefault("hostname", sink.server_hostname)
        super().__init__(handler, loop=sink._loop, **kwargs)
        self.listener = listener
        self._registry = sink._protocols
        self.lost: asyncio.Future[None] = self.loop.create_future()

    def _create_session(self) -> Session:
        return _Session(self.loop)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        first = self.transport is None
        super().connection_made(transport)
        if first:
            self._registry.add(self)
            assert self._handler_coroutine is not None
            self._handler_coroutine.add_done_callback(_retrieve_exception)

    def connection_lost(self, error: Exception | None) -> None:
        self._registry.discard(self)
        if not self.lost.done():
            self.lost.set_result(None)
        if self.transport is not None:
            super().connection_lost(error)

    def abort(self) -> None:
        """Close the connection at once, without a TLS close_notify."""
        transport = self._original_transport or self.transport
        if isinstance(transport, asyncio.Transport):
            transport.abort()


def _retrieve_exception(task: asyncio.Task[None]) -> None:
    # A session ends with an exception when the peer resets mid-reply; that is the peer's business.
    if not task.cancelled() and task.exception() is not None:
        log.debug("SMTP session ended with %r", task.exception())


class _SinkSMTP(TrackedSMTP):
    """The sink's protocol: applies fault decisions, the require-AUTH policy and the greeting override."""

    def __init__(self, handler: Any, *, sink: SmtpSink, listener: str, **kwargs: Any) -> None:
        super().__init__(handler, sink=sink, listener=listener, **kwargs)
        self._sink = sink
        self._is_probe = False  # the sink's own readiness probe is never subject to faults
        self._greeting: str | None = None
        self._refused = False

    def current_user(self) -> str | None:
        if self.session is not None and self.session.authenticated:
            data = self.session.auth_data
            if isinstance(data, LoginPassword):
                return data.login.decode("utf-8", "replace")
        return None

    async def fault(self, stage: str, user: str | None = None) -> SmtpFault | None:
        """Ask the hook about ``stage``; sleep for ``delay``, close for ``drop``; return what the caller must
        still act on (a ``reply``, or a ``drop`` whose connection is closed), else ``None``."""
        hook = self._sink.fault_hook
        if hook is None or self._is_probe:
            return None
        decision = hook(stage, user, self.listener)
        if decision is None:
            return None
        log.info("SMTP fault %s at %s (%s): %s", decision.rule_id, stage, self.listener, decision.action)
        if decision.action == "delay":
            await asyncio.sleep(decision.delay_s)
            return None
        if decision.action == "drop":
            self.abort()
            await self.lost  # connection_lost cancels this session's task
            return decision
        if decision.action != "reply":
            log.warning("ignoring SMTP fault %s: unknown action %r", decision.rule_id, decision.action)
            return None
        return decision

    async def reply(self, decision: SmtpFault) -> None:
        line = _reply_line(decision)
        await self.push(line)
        if line.startswith("421 ") and self.transport is not None:  # 421: closing the transmission channel
            self.transport.close()

    async def _gate(self, stage: str, user: str | None = None) -> bool:
        """True when ``stage`` was answered here (refused greeting or fault) and the command must not run."""
        if self._refused:
            await self.push("503 5.5.1 Error: the greeting refused this session; only QUIT is accepted")
            return True
        decision = await self.fault(stage, user)
        if decision is None:
            return False
        if decision.action == "reply":
            await self.reply(decision)
        return True

    async def _handle_client(self) -> None:
        assert self.session is not None
        peer = self.session.peer
        self._is_probe = isinstance(peer, tuple) and tuple(peer[:2]) in self._sink._probe_peers
        decision = await self.fault("connect")
        if decision is not None:  # a reply here is all the session gets
            if decision.action == "reply":
                await self.reply(decision)
            if self.transport is not None:
                self.transport.close()
            return
        decision = await self.fault("greeting")
        if decision is not None:
            if decision.action != "reply":
                return
            self._greeting = _reply_line(decision)
            self._refused = not self._greeting.startswith("2")
        await super()._handle_client()

    async def push(self, status: AnyStr) -> None:
        if self._greeting is not None:  # the first line pushed is the greeting
            greeting, self._greeting = self._greeting, None
            await super().push(greeting)
            return
        await super().push(status)

    async def check_auth_needed(self, caller_method: str) -> bool:
        if self._sink.require_auth and caller_method in ("MAIL", "RCPT", "DATA"):
            assert self.session is not None
            if not self.session.authenticated:
                await self.push("530 5.7.0 Authentication required")
                return True
        return False

    async def smtp_HELO(self, hostname: str) -> None:
        if not await self._gate("ehlo"):
            await super().smtp_HELO(hostname)

    async def smtp_EHLO(self, hostname: str) -> None:
        if not await self._gate("ehlo"):
            await super().smtp_EHLO(hostname)

    async def smtp_STARTTLS(self, arg: str) -> None:
        if not await self._gate("starttls"):
            await super().smtp_STARTTLS(arg)

    async def smtp_AUTH(self, arg: str) -> None:
        if not await self._gate("auth", _auth_user_hint(arg)):
            await super().smtp_AUTH(arg)

    async def smtp_MAIL(self, arg: str | None) -> None:
        if not await self._gate("mail", self.current_user()):
            await super().smtp_MAIL(arg)

    async def smtp_RCPT(self, arg: str | None) -> None:
        if not await self._gate("rcpt", self.current_user()):
            await super().smtp_RCPT(arg)


# HELP lists only commands carrying aiosmtpd's @syntax attributes: keep them on the overrides.
for _name in ("smtp_HELO", "smtp_EHLO", "smtp_STARTTLS", "smtp_AUTH", "smtp_MAIL", "smtp_RCPT"):
    getattr(_SinkSMTP, _name).__dict__.update(getattr(SMTP, _name).__dict__)


def _reply_line(decision: SmtpFault) -> str:
    return f"{decision.code or 554} {decision.text or 'injected fault'}"


def _auth_user_hint(arg: str | None) -> str | None:
    """The user named by an ``AUTH PLAIN <b64>`` / ``AUTH LOGIN <b64>`` initial response, for fault rules."""
    parts = (arg or "").split()
    if len(parts) != 2:
        return None
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except (binascii.Error, ValueError):
        return None
    if parts[0].upper() == "PLAIN":
        fields = blob.split(b"\0")
        blob = fields[1] if len(fields) == 3 else b""
    return blob.decode("utf-8", "replace") or None


def _format_peer(peer: Any) -> str:
    if isinstance(peer, tuple) and len(peer) >= 2:
        host, port = peer[0], peer[1]
        return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"
    return str(peer)


class _CaptureHandler:
    """aiosmtpd handler: applies the ``data`` fault, then captures the message into the store."""

    def __init__(self, sink: SmtpSink) -> None:
        self._sink = sink

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert isinstance(server, _SinkSMTP)
        user = server.current_user()
        decision = await server.fault("data", user)
        if decision is not None:
            return _reply_line(decision)
        ssl_object = server.transport.get_extra_info("ssl_object") if server.transport else None
        tls = None
        if isinstance(ssl_object, ssl.SSLObject):
            cipher = ssl_object.cipher()
            tls = {"version": ssl_object.version() or "", "cipher": cipher[0] if cipher else ""}
        raw = envelope.original_content or b""
        message = self._sink.store.add(
            raw,
            mail_from=envelope.mail_from or "",
            rcpt_tos=envelope.rcpt_tos,
            peer=_format_peer(session.peer),
            listener=server.listener,
            tls=tls,
            auth_user=user,
        )
        return f"250 2.0.0 OK: queued as {message.id}"

    async def handle_exception(self, error: Exception) -> str:
        if isinstance(error, TLSSetupException):  # the client failed the STARTTLS handshake; aiosmtpd closes
            log.debug("STARTTLS handshake failed: %r", error.__cause__)
            return "454 4.7.0 TLS handshake failed"
        self._sink._record_error(error)
        return f"451 4.3.0 cxmock sink error ({type(error).__name__}); see the server log"


class SmtpSink:
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
    """

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
    ) -> None:
        if auth_mode not in ("any", "fixed"):
            raise ValueError(f"auth_mode must be 'any' or 'fixed', got {auth_mode!r}")
        self.store = store
        self.host = host
        self.tls = tls if tls is not None else TlsMaterial.generate()
        self.auth_mode = auth_mode
        self._credentials: list[tuple[bytes, bytes]] = []
        for entry in credentials:
            user, sep, password = entry.partition(":")
            if not sep:
                raise ValueError("credentials entries must be 'user:password' (an entry has no ':')")
            self._credentials.append((user.encode(), password.encode()))
        self.require_auth = require_auth
        self.max_message_size = max_message_size
        self.fault_hook = fault_hook
        self.server_hostname = server_hostname
        self._ports = {"smtp": smtp_port, "smtps": smtps_port}
        self._handler = _CaptureHandler(self)
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_future: asyncio.Future[None] | None = None
        self._protocols: set[TrackedSMTP] = set()
        self._accepted: set[socket.socket] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._addresses: dict[str, tuple[socket.AddressFamily, Any]] = {}
        self._probe_peers: set[tuple[Any, ...]] = set()
        self._errors: list[BaseException] = []

    # -- public API --------------------------------------------------------------------------------------------

    @property
    def smtp_port(self) -> int:
        """The plain/STARTTLS listener's port (the bound one once started)."""
        return self._ports["smtp"]

    @property
    def smtps_port(self) -> int:
        """The implicit-TLS listener's port (the bound one once started)."""
        return self._ports["smtps"]

    @property
    def ports(self) -> dict[str, int]:
        """``{"smtp": port, "smtps": port}``, the shape :func:`~mockserver.core.routing.resolve_smtp_target` takes."""
        return dict(self._ports)

    @property
    def running(self) -> bool:
        return self._thread is not None

    @property
    def ca_pem(self) -> bytes:
        """The CA certificate (PEM) that verifies both listeners."""
        return self.tls.ca_pem

    @property
    def messages(self) -> list[CapturedMessage]:
        """Every captured message, oldest first."""
        return self.store.list()

    def clear(self) -> None:
        """Forget the captured messages."""
        self.store.clear()

    def wait_for(
        self,
        count: int = 1,
        timeout: float = 5.0,
        *,
        to: str | None = None,
        from_: str | None = None,
        subject: str | None = None,
        since: int | str | datetime | None = None,
    ) -> list[CapturedMessage]:
        """See :meth:`MailStore.wait_for`."""
        return self.store.wait_for(count, timeout, to=to, from_=from_, subject=subject, since=since)

    def factory(self, listener: str) -> TrackedSMTP:
        """The protocol for one new connection on ``listener`` (the override point, as in aiosmtpd)."""
        return _SinkSMTP(
            self._handler,
            sink=self,
            listener=listener,
            ident="ESMTP cxmock",
            tls_context=self.tls.server_context() if listener == "smtp" else None,
            data_size_limit=self.max_message_size,
            enable_SMTPUTF8=True,
            auth_require_tls=False,
            authenticator=self._authenticate,
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

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        if self.auth_mode == "any":
            return AuthResult(success=True, auth_data=auth_data)
        ok = False
        for user, password in self._credentials:  # compare every pair: no early exit to time
            ok |= hmac.compare_digest(user, auth_data.login) & hmac.compare_digest(password, auth_data.password)
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    def _bind(self, listener: str, port: int) -> socket.socket:
        hint = "--smtp-port" if listener == "smtp" else "--smtps-port"
        try:
            family, kind, proto, _, address = socket.getaddrinfo(
                self.host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
            )[0]
        except OSError as exc:
            raise ServerError(f"SMTP sink: cannot resolve listen address {self.host!r}: {exc}") from None
        sock = socket.socket(family, kind, proto)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(address)
            sock.listen(128)
            sock.setblocking(False)
        except OSError as exc:
            sock.close()
            raise ServerError(
                f"SMTP sink: cannot listen on {self.host}:{port} for {listener}: {exc.strerror}; "
                f"choose another port with {hint} (0 picks a free one)"
            ) from None
        return sock

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
                conn, _ = await loop.sock_accept(listening)
            except OSError as exc:  # e.g. EMFILE: back off instead of spinning
                log.warning("SMTP sink (%s): accept failed: %s", listener, exc)
                await asyncio.sleep(0.1)
                continue
            if len(self._accepted) > 64:
                self._accepted = {sock for sock in self._accepted if sock.fileno() != -1}
            self._accepted.add(conn)
            task = loop.create_task(self._connect(conn, listener, context))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _connect(self, conn: socket.socket, listener: str, context: ssl.SSLContext | None) -> None:
        loop = asyncio.get_running_loop()
        try:
            await loop.connect_accepted_socket(
                lambda: self.factory(listener),
                conn,
                ssl=context,
                ssl_handshake_timeout=TLS_HANDSHAKE_TIMEOUT if context else None,
            )
        except OSError as exc:  # TLS handshake failed or timed out, peer went away
            log.debug("SMTP sink (%s): connection failed before the greeting: %r", listener, exc)
            conn.close()
        except Exception as exc:
            self._record_error(exc)
            conn.close()

    def _probe(self, listener: str, deadline: float) -> None:
        """Connect for real and read the 220 greeting: proof that ``listener`` answers."""
        family, address = self._addresses[listener]
        host, port = address[0], address[1]
        if host in ("0.0.0.0", "::"):  # bound to every address: knock on loopback
            host = "127.0.0.1" if family == socket.AF_INET else "::1"
        with socket.socket(family, socket.SOCK_STREAM) as raw:
            raw.settimeout(max(deadline - time.monotonic(), 0.01))
            raw.bind((host, 0))
            me = tuple(raw.getsockname()[:2])
            self._probe_peers.add(me)  # the sink skips fault decisions for its own probe
            try:
                raw.connect((host, port))
                if listener == "smtps":
                    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
                    context.check_hostname = False
                    context.verify_mode = ssl.CERT_NONE
                    with context.wrap_socket(raw) as tls:
                        greeting = _read_line(tls)
                else:
                    greeting = _read_line(raw)
            except OSError as exc:
                raise ServerError(f"SMTP sink: the {listener} listener on {host}:{port} did not answer: {exc}") from exc
            finally:
                self._probe_peers.discard(me)
        if not greeting.startswith(b"220"):
            raise ServerError(f"SMTP sink: the {listener} listener greeted with {greeting!r}, expected 220")

    def _on_loop_error(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        error = context.get("exception")
        if isinstance(error, (ConnectionError, ssl.SSLError, TimeoutError)):
            log.debug("SMTP sink: %s: %r", context.get("message"), error)
            return
        self._record_error(error if error is not None else RuntimeError(str(context.get("message"))))

    def _record_error(self, error: BaseException) -> None:
        log.error("SMTP sink thread error: %r", error, exc_info=error)
        self._errors.append(error)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _read_line(sock: socket.socket) -> bytes:
    data = b""
    while b"\n" not in data and len(data) < 4096:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data.split(b"\n", 1)[0].rstrip(b"\r")
