"""The SMTP sink's protocol behaviour: what one aiosmtpd session does, as opposed to how the sink listens and
runs (``smtp/sink.py``).

- :class:`TrackedSMTP` (``smtp/tracked.py``): aiosmtpd's protocol plus the connection registry the sink needs to stop
  cleanly.
- :class:`SinkSMTP`: the sink's protocol: the fault gate of every stage, the require-AUTH policy and the
  greeting override.
- :class:`~mockserver.smtp.auth.Authenticator` (``smtp/auth.py``): the AUTH policy.
- :class:`CaptureHandler`: the aiosmtpd handler that applies the ``data`` fault and captures the message.

Faults: ``fault_hook(stage, user, listener)`` is asked at each stage (:data:`~mockserver.core.faults.rules.SMTP_STAGES`)
and its :class:`~mockserver.core.faults.decisions.SmtpFault` applied there: ``reply`` answers ``code text`` instead
of proceeding, ``delay`` waits ``delay_s`` then proceeds, ``drop`` closes the connection. ``connect`` is asked
before anything is sent (a reply there is sent, then the connection closed), ``greeting`` replaces the ``220`` line
(a non-2xx greeting refuses every later command but QUIT), ``data`` is asked once the message has been received (a
reply there rejects it: nothing is captured).
Sandboxes: a session's faults and mail follow :meth:`SinkSMTP.route` (``smtp/routing.py``).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import ssl
from typing import Any, AnyStr

from aiosmtpd.smtp import SMTP, Envelope, LoginPassword, Session, TLSSetupException

from ..core.faults.decisions import SmtpFault
from . import activity
from .auth import Authenticator as Authenticator
from .data import receive_data
from .limits import PRESSURE_IDLE, close_idle
from .routing import MailRoute, Router, plain_user, resolve, route_of
from .tracked import SinkServices as SinkServices
from .tracked import TrackedSMTP as TrackedSMTP
from .tracked import hook_names

__all__ = ["Authenticator", "CaptureHandler", "ClientLineTooLong", "Router", "SinkSMTP", "SinkServices", "TrackedSMTP"]

log = logging.getLogger("cxmock.smtp")

#: recipients of one message (RFC 5321 4.5.3.1.8 asks for at least 100); beyond: 452, as the RFC says
MAX_RECIPIENTS = 1000


def printable(text: str) -> str:
    """``text`` with the undecodable bytes aiosmtpd kept as surrogate escapes shown as ``\\xNN``.

    Lone surrogates are not valid Unicode: they break UTF-8 log streams, JSON parsers and IPC (pytest-xdist).
    """
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


class PrintableLogFilter(logging.Filter):
    """Makes aiosmtpd's own log records (``mail.log``) safe to write: client bytes it could not decode."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = printable(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True


_aiosmtpd_log = logging.getLogger("mail.log")
if not any(isinstance(f, PrintableLogFilter) for f in _aiosmtpd_log.filters):
    _aiosmtpd_log.addFilter(PrintableLogFilter())


class ClientLineTooLong(Exception):
    """An AUTH response line longer than the reader's limit (1001 octets): the client's fault, answered 500."""


class SinkSMTP(TrackedSMTP):
    """The sink's protocol: applies fault decisions, the require-AUTH policy, the greeting override and the
    deadlines of :class:`~mockserver.smtp.limits.SinkLimits` (a whole command line, a whole DATA)."""

    def __init__(self, handler: Any, *, sink: SinkServices, listener: str, **kwargs: Any) -> None:
        kwargs.setdefault("timeout", sink.limits.command_timeout)
        super().__init__(handler, sink=sink, listener=listener, **kwargs)
        self._sink = sink
        self._is_probe = False  # the sink's own readiness probe is never subject to faults
        self._greeting: str | None = None
        self._refused = False
        self._waiting_for = "a command"  # what the running deadline is for, named in its 421
        self._active_at = self.loop.time()  # when the last command arrived

    def _reset_timeout(self, duration: float | None = None) -> None:
        self._active_at = self.loop.time()
        if duration is None and self._sink.budget.pressed and not self._own():
            duration = min(self._sink.limits.command_timeout, PRESSURE_IDLE)
        super()._reset_timeout(duration)

    def _own(self) -> bool:
        is_own, peer = self._sink.budget.is_own, self.session.peer if self.session is not None else None
        return self._is_probe or (is_own is not None and peer is not None and is_own(peer))

    def idle_seconds(self) -> float:
        """How long this connection has waited for its next command (0 while it does something else)."""
        busy = self._waiting_for != "a command" or self.transport is None or self._own()
        return 0.0 if busy else self.loop.time() - self._active_at

    def close_idle(self) -> None:
        """The sink is near its cap: close this idle connection with a 421 saying why."""
        if isinstance(self.transport, asyncio.WriteTransport) and not self.transport.is_closing():
            close_idle(self.transport, self.loop.time() - self._active_at, self.listener)

    def _timeout_cb(self) -> None:
        # aiosmtpd closes silently; RFC 5321 4.5.3.2 lets a server end an idle session with a 421
        if self.transport is not None and not self.transport.is_closing():
            assert isinstance(self.transport, asyncio.WriteTransport)
            limit = self._sink.limits
            seconds = limit.data_timeout if self._waiting_for == "DATA" else limit.command_timeout
            log.info("SMTP sink (%s): no complete %s within %g s; closing", self.listener, self._waiting_for, seconds)
            self.transport.write(
                f"421 4.4.2 cxmock: no complete {self._waiting_for} within {seconds:g} s; closing\r\n".encode()
            )
        if self.transport is not None:
            super()._timeout_cb()  # type: ignore[no-untyped-call]

    async def smtp_DATA(self, arg: str) -> None:
        # one deadline for the whole DATA (354 to the final dot), not one per line
        self._waiting_for = "DATA"
        self._reset_timeout(self._sink.limits.data_timeout)
        try:
            await receive_data(self, arg)  # aiosmtpd's DATA with the message in one buffer (smtp/data.py)
        finally:
            self._waiting_for = "a command"
            if self.transport is not None:
                self._reset_timeout()

    async def challenge_auth(
        self, challenge: str | bytes, encode_to_b64: bool = True, log_client_response: bool = False
    ) -> Any:
        try:
            return await super().challenge_auth(challenge, encode_to_b64, log_client_response)
        except ValueError:  # StreamReader.readline past its limit: the rest of that line is still coming
            while True:
                try:
                    await self._reader.readuntil(b"\n")
                    break
                except asyncio.LimitOverrunError as exc:
                    await self._reader.read(exc.consumed)
            raise ClientLineTooLong() from None

    async def push(self, status: AnyStr) -> None:
        await self._push(status)
        # a pipelined flood (thousands of NOOPs in one read) must not hold the loop: let other connections run
        await asyncio.sleep(0)

    def current_login(self) -> str | None:  # as sent: "<sandbox>/<user>" included
        if self.session is not None and self.session.authenticated:
            data = self.session.auth_data
            if isinstance(data, LoginPassword):
                return data.login.decode("utf-8", "replace")
        return None

    def current_user(self) -> str | None:
        """The authenticated user; with sandboxes, without the ``<sandbox>/`` of the login."""
        return plain_user(self.current_login(), self._sink.router)

    def route(self) -> MailRoute:
        """Where this session's faults and mail go now (``smtp/routing.py``); raises ``CxMockError``."""
        return route_of(self._sink, self.session, self.envelope, self.current_login())

    async def fault(self, stage: str, user: str | None = None) -> SmtpFault | None:
        """Ask the hook about ``stage``; sleep for ``delay``, close for ``drop``; return what the caller must
        still act on (a ``reply``, or a ``drop`` whose connection is closed), else ``None``."""
        found = None if self._is_probe else resolve(self.route)  # an unusable sandbox: no faults; DATA says why
        if not isinstance(found, MailRoute) or found.fault_hook is None:
            return None
        decision = found.fault_hook(stage, plain_user(user, self._sink.router), self.listener)
        if decision is None:
            return None
        rule = f"{decision.name} ({decision.rule_id})" if decision.name else decision.rule_id
        extra = {"sandbox": found.log[0], "request_id": found.log[1]}
        log.info("SMTP fault %s fired at %s (%s): %s", rule, stage, self.listener, decision.action, extra=extra)
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
        self._is_probe = self._sink.is_probe(peer)
        activity.session_started(self, self._is_probe)
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

    async def _push(self, status: AnyStr) -> None:
        activity.refused(self, status, self._is_probe)
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
        if self._tls_protocol is not None or self.listener == "smtps":
            # RFC 3207 4.2: no second TLS layer (stacking one made asyncio's sslproto fail in the sink's loop)
            await self.push("503 5.5.1 Error: TLS already active")
            return
        if not await self._gate("starttls"):
            await super().smtp_STARTTLS(arg)

    async def smtp_AUTH(self, arg: str) -> None:
        if not await self._gate("auth", _auth_user_hint(arg)):
            await super().smtp_AUTH(arg)

    async def smtp_MAIL(self, arg: str | None) -> None:
        if not await self._gate("mail", self.current_login()):
            await super().smtp_MAIL(arg)

    async def smtp_RCPT(self, arg: str | None) -> None:
        if self.envelope is not None and len(self.envelope.rcpt_tos) >= MAX_RECIPIENTS:
            await self.push(f"452 4.5.3 Error: too many recipients (at most {MAX_RECIPIENTS} per message)")
            return
        if not await self._gate("rcpt", self.current_login()):
            await super().smtp_RCPT(arg)


# HELP lists only commands carrying aiosmtpd's @syntax attributes: keep them on the overrides.
for _name in ("smtp_HELO", "smtp_EHLO", "smtp_STARTTLS", "smtp_AUTH", "smtp_MAIL", "smtp_RCPT", "smtp_DATA"):
    getattr(SinkSMTP, _name).__dict__.update(getattr(SMTP, _name).__dict__)


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


class CaptureHandler:
    """aiosmtpd handler: applies the ``data`` fault, then captures the message into the store."""

    def __init__(self, sink: SinkServices) -> None:
        self._sink = sink

    def __dir__(self) -> list[str]:
        return hook_names(type(self))  # see TrackedSMTP.__dir__: aiosmtpd scans its handler the same way

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert isinstance(server, SinkSMTP)
        user = server.current_user()
        decision = await server.fault("data", server.current_login())
        if decision is not None:
            return _reply_line(decision)
        ssl_object = server.transport.get_extra_info("ssl_object") if server.transport else None
        tls = None
        if isinstance(ssl_object, ssl.SSLObject):
            cipher = ssl_object.cipher()
            tls = {"version": ssl_object.version() or "", "cipher": cipher[0] if cipher else ""}
        raw = envelope.original_content or b""
        found = resolve(server.route)
        if isinstance(found, str):  # the sandbox it names cannot be used (e.g. too many sandboxes)
            return f"452 4.3.1 {found}"
        message = found.store.add(
            raw,
            mail_from=printable(envelope.mail_from or ""),
            rcpt_tos=[printable(rcpt) for rcpt in envelope.rcpt_tos],
            peer=activity.format_peer(session.peer),
            listener=server.listener,
            tls=tls,
            auth_user=user,
        )
        activity.captured(server, message, tls, user)
        return f"250 2.0.0 OK: queued as {message.id}"

    async def handle_exception(self, error: Exception) -> str:
        if isinstance(error, TLSSetupException):  # the client failed the STARTTLS handshake; aiosmtpd closes
            log.debug("STARTTLS handshake failed: %r", error.__cause__)
            return "454 4.7.0 TLS handshake failed"
        if isinstance(error, ClientLineTooLong):
            return "500 5.5.6 Error: authentication response line too long"
        if isinstance(error, (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError)):
            log.debug("SMTP session error caused by the client: %r", error)
            return "500 5.5.0 Error: unreadable input"
        self._sink.record_error(error)
        return f"451 4.3.0 cxmock sink error ({type(error).__name__}); see the server log"
