"""The recording SMTP session under testconnection: :mod:`smtplib` with one time budget for the whole session,
a transcript of every command and reply (AUTH secrets replaced by ``***``), and the TLS facts of the connection.

``Refused`` is how a stage reports an unexpected reply to :mod:`mockserver.smtp.client`.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, cast


class Refused(Exception):
    """The server answered a stage with an unexpected reply."""

    def __init__(self, stage: str, what: str, code: int | None = None, text: str | None = None) -> None:
        super().__init__(what)
        self.stage, self.what, self.code, self.text = stage, what, code, text


class TlsSessions:
    """TLS sessions to resume, per (context, server name, address, port); bounded, thread-safe.

    testconnection against the embedded sink runs one TLS handshake per call between our own client and our own
    sink; resuming the previous session (a TLS 1.3 ticket) skips the certificate signature and its verification.
    Nothing SMTP-visible changes: the same commands, replies, TLS version and cipher.
    """

    def __init__(self, limit: int = 64) -> None:
        self._limit = limit
        self._sessions: OrderedDict[tuple[int, str, str, int], ssl.SSLSession] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[int, str, str, int]) -> ssl.SSLSession | None:
        with self._lock:
            return self._sessions.get(key)

    def put(self, key: tuple[int, str, str, int], session: ssl.SSLSession) -> None:
        with self._lock:
            self._sessions[key] = session
            self._sessions.move_to_end(key)
            while len(self._sessions) > self._limit:
                self._sessions.popitem(last=False)


class _ResumingContext:
    """What smtplib's ``starttls`` calls ``wrap_socket`` on: the real context, with the session to resume."""

    def __init__(self, context: ssl.SSLContext, session: ssl.SSLSession | None) -> None:
        self._context = context
        self._session = session

    def wrap_socket(self, sock: socket.socket, server_hostname: str | None = None) -> ssl.SSLSocket:
        return self._context.wrap_socket(sock, server_hostname=server_hostname, session=self._session)


class RecordingSMTP(smtplib.SMTP):
    """smtplib.SMTP that records a redacted transcript, tracks the stage and spends one time budget."""

    _host: str  # smtplib's name for the TLS server name (STARTTLS)

    def __init__(
        self,
        *,
        deadline: float,
        local_hostname: str,
        implicit_tls: ssl.SSLContext | None,
        server_name: str,
        on_bound: Callable[[tuple[str, int]], None] | None = None,
        tls_sessions: TlsSessions | None = None,
    ) -> None:
        self._on_bound = on_bound
        self._tls_sessions = tls_sessions
        self._tls_key: tuple[int, str, str, int] | None = None
        self.transcript: list[str] = []
        self.stage = "connect"
        self.redact_next: str | None = None
        self._deadline = deadline
        self._implicit_tls = implicit_tls
        self._server_name = server_name
        self._in_command = False
        super().__init__(local_hostname=local_hostname, timeout=self.remaining())

    def remaining(self) -> float:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the testconnection time budget is used up")
        return left

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        self.stage = "connect"
        self.transcript.append(f"* connect {format_target(host, port)}")
        if self._on_bound is not None:
            sock = bound_connection(host, port, self.remaining(), self._on_bound)
        else:
            sock = socket.create_connection((host, port), self.remaining(), self.source_address)
        self._tls_key = (0, self._server_name, host, port)
        if self._implicit_tls is not None:
            self.stage = "tls"
            try:
                session = self._session_for(self._implicit_tls)
                sock = self._implicit_tls.wrap_socket(sock, server_hostname=self._server_name, session=session)
            except BaseException:
                sock.close()
                raise
            self.sock = sock
            self.note_tls()
        self.stage = "greeting"
        return sock

    def _session_for(self, context: ssl.SSLContext) -> ssl.SSLSession | None:
        if self._tls_sessions is None or self._tls_key is None:
            return None
        self._tls_key = (id(context), *self._tls_key[1:])
        return self._tls_sessions.get(self._tls_key)

    def starttls_resuming(self, context: ssl.SSLContext | None) -> tuple[int, bytes]:
        """smtplib's STARTTLS, resuming the last session with this server when there is one."""
        if context is not None and self._tls_sessions is not None:
            context = cast(ssl.SSLContext, _ResumingContext(context, self._session_for(context)))
        return self.starttls(context=context)

    def keep_tls_session(self) -> None:
        """Remember this connection's TLS session for the next one (call once a reply was read after TLS)."""
        sock = self.sock
        if self._tls_sessions is None or self._tls_key is None or not isinstance(sock, ssl.SSLSocket):
            return
        if self._tls_key[0] == 0 or sock.session_reused:
            return  # no TLS context was used, or the kept session still serves (reading one out costs ~0.3 ms)
        session = sock.session
        if session is not None:
            self._tls_sessions.put(self._tls_key, session)

    def note_tls(self) -> None:
        facts = self.tls_facts()
        if facts is not None:
            self.transcript.append(f"* TLS established: {facts['version']} {facts['cipher']}")

    def tls_facts(self) -> dict[str, str] | None:
        sock = self.sock
        if isinstance(sock, ssl.SSLSocket):
            cipher = sock.cipher()
            return {"version": sock.version() or "", "cipher": cipher[0] if cipher else ""}
        return None

    def _spend(self) -> None:
        if self.sock is not None:
            self.sock.settimeout(self.remaining())

    def putcmd(self, cmd: str, args: str = "") -> None:
        shown = f"{cmd} {args}" if args else cmd
        if self.redact_next is not None:
            shown, self.redact_next = self.redact_next, None
        self.transcript.append(f"C: {shown}")
        self._spend()
        self._in_command = True
        try:
            super().putcmd(cmd, args)
        finally:
            self._in_command = False

    def send(self, s: Any) -> None:
        if not self._in_command:  # the message body, sent by data()
            self.transcript.append(f"C: <message, {len(s)} bytes>")
            self.transcript.append("C: .")
        self._spend()
        super().send(s)

    def getreply(self) -> tuple[int, bytes]:
        self._spend()
        code, message = super().getreply()
        lines = message.split(b"\n") if message else [b""]
        for index, line in enumerate(lines):
            sep = " " if index == len(lines) - 1 else "-"
            self.transcript.append(f"S: {code}{sep}{line.decode('utf-8', 'replace')}".rstrip())
        return code, message


def bound_connection(
    host: str, port: int, timeout: float, on_bound: Callable[[tuple[str, int]], None]
) -> socket.socket:
    """A connection to ``host`` (an address of this machine: the sink) from ``host`` itself, whose source address
    is told to ``on_bound`` *before* connecting: the sink can tell whose session it is from its first byte."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.bind((address[0], 0))
        bound = sock.getsockname()
        on_bound((str(bound[0]), int(bound[1])))
        sock.settimeout(timeout)
        sock.connect(address)
    except BaseException:
        sock.close()
        raise
    return sock


def format_target(host: str, port: int) -> str:
    """``host:port``, with IPv6 addresses in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
