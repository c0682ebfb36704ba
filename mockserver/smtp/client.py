"""The testconnection client: one real SMTP session, built on :mod:`smtplib` and :mod:`ssl`.

:func:`run_test_connection` connects (``None`` plain, ``Tls`` STARTTLS, ``Ssl`` implicit TLS), says EHLO,
authenticates unless default credentials are used, sends MAIL FROM / RCPT TO / a short test message and QUIT.
Any failure raises :class:`~mockserver.errors.SmtpTestFailed` naming the stage (``connect``, ``tls``,
``greeting``, ``ehlo``, ``starttls``, ``auth``, ``mail``, ``rcpt``, ``data``) and quoting the server's reply,
with a hint where the cause is a classic misconfiguration. The whole session shares one time budget
(``timeout``): every socket operation gets the time that is left, so it never hangs.

The transcript lists each client command (``C: ...``) and server reply line (``S: ...``); AUTH secrets are
replaced by ``***``. Lines starting with ``*`` note connection events (connect, TLS established).
"""

from __future__ import annotations

import base64
import hmac
import smtplib
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import formataddr, formatdate, make_msgid

from ..core.mail.store import CORRELATION_HEADER
from ..errors import BadRequest, SmtpTestFailed
from .session import RecordingSMTP, Refused, TlsSessions, format_target

__all__ = ["TEST_SUBJECT", "TestConnectionResult", "run_test_connection"]

TEST_SUBJECT = "Checkmarx SMTP test"
LOCAL_HOSTNAME = "cxmock.localhost"


@dataclass
class TestConnectionResult:
    """What a successful test session did: where, how (TLS facts), as whom, and its transcript."""

    __test__ = False  # not a pytest test class

    host: str
    port: int
    encryption: str
    tls: dict[str, str] | None
    auth_user: str | None
    correlation: str
    transcript: list[str]


def run_test_connection(
    *,
    host: str,
    port: int,
    encryption: str,
    from_address: str,
    receiver: str,
    username: str | None,
    password: str | None,
    use_default_credentials: bool,
    timeout: float,
    ssl_context: ssl.SSLContext | None,
    correlation: str,
    requested_target: str,
    tls_server_name: str | None = None,
    local_hostname: str = LOCAL_HOSTNAME,
    on_bound: Callable[[tuple[str, int]], None] | None = None,
    display_name: str | None = None,
    tls_sessions: TlsSessions | None = None,
) -> TestConnectionResult:
    """Run one SMTP session that sends a short test message; return its facts or raise ``SmtpTestFailed``.

    :param host: the address to connect to (already resolved and allowed, see ``core.routing``).
    :param encryption: ``"None"`` plain, ``"Tls"`` STARTTLS (fails if not offered), ``"Ssl"`` implicit TLS.
    :param timeout: the time budget of the whole session, in seconds.
    :param ssl_context: verifies the server's certificate (``None``: the system's default trust).
    :param correlation: value of the ``X-Cxmock-Correlation`` header, to find the mail in the sink.
    :param requested_target: the ``host:port`` the API request named (written in the message body).
    :param tls_server_name: the name for SNI and certificate checks when ``host`` is a resolved address.
    :param on_bound: connect from ``host`` itself (one of this machine's addresses, e.g. the embedded sink) and tell
        this callable the source address before connecting (how the sink knows whose session it is).
    :param display_name: the sender's display name (``displayName``) in the message's ``From:`` header.
    :param tls_sessions: resume TLS sessions from (and keep them in) this cache; ``None`` for a full handshake.
    :param receiver: the recipient (the API's ``recieverEmail``), RCPT TO and ``To:``.
    :param username: AUTH user; without one (and without default credentials) no AUTH is attempted, as .NET's
        SmtpClient sends none without credentials: a server requiring AUTH then refuses MAIL with 530.
    :raises SmtpTestFailed: any failure, with ``stage``, ``reply_code``, ``reply_text`` and ``transcript``.
    """
    encryption = {"none": "None", "ssl": "Ssl", "tls": "Tls"}.get(encryption.lower(), encryption)
    if encryption not in ("None", "Ssl", "Tls"):
        raise BadRequest(f"encryptionType must be one of None, Ssl, Tls, got {encryption!r}")
    for name, value in (
        ("fromAddress", from_address),
        ("recieverEmail", receiver),
        ("displayName", display_name),
        ("username", username),
        ("correlation", correlation),
        ("requested target", requested_target),
    ):
        if value is not None and any(c in value for c in "\r\n\0"):
            raise BadRequest(f"{name} must not contain line breaks or NUL characters")
    raw = _test_message(from_address, receiver, correlation, requested_target, display_name)
    target = format_target(host, port)
    context = ssl_context
    if context is None and encryption != "None":
        context = ssl.create_default_context()
    smtp: RecordingSMTP | None = None
    try:
        smtp = RecordingSMTP(
            deadline=time.monotonic() + timeout,
            local_hostname=local_hostname,
            implicit_tls=context if encryption == "Ssl" else None,
            server_name=tls_server_name or host,
            on_bound=on_bound,
            tls_sessions=tls_sessions,
        )
        auth_user = None if use_default_credentials or not username else username
        _converse(smtp, host, port, encryption, context, tls_server_name or host, auth_user, password or "")
        _send(smtp, from_address, receiver, raw)
        smtp.keep_tls_session()  # after replies were read over TLS: a TLS 1.3 ticket has arrived by now
        tls = smtp.tls_facts()
        smtp.stage = "quit"
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError) as exc:  # the message was accepted: a bad QUIT is no failure
            smtp.transcript.append(f"* QUIT failed: {exc}")
        return TestConnectionResult(
            host=host,
            port=port,
            encryption=encryption,
            tls=tls,
            auth_user=auth_user,
            correlation=correlation,
            transcript=list(smtp.transcript),
        )
    except Refused as refused:
        details = f"SMTP test to {target} failed at stage {refused.stage}: {refused.what}"
        if refused.code is not None:
            details += f"; the server replied {refused.code} {refused.text or ''}".rstrip()
        if refused.code == 530 and use_default_credentials:
            details += " (the server requires AUTH but useDefaultCredentials is true: send a username and password)"
        elif refused.code == 530 and not username:
            details += " (the server requires AUTH but the settings have no username: send a username and password)"
        raise SmtpTestFailed(
            details,
            stage=refused.stage,
            reply_code=refused.code,
            reply_text=refused.text,
            transcript=smtp.transcript if smtp else [],
        ) from None
    except Exception as exc:
        stage = smtp.stage if smtp is not None else "connect"
        transcript = smtp.transcript if smtp is not None else []
        transcript.append(f"* {type(exc).__name__}: {exc}")
        raise SmtpTestFailed(
            f"SMTP test to {target} failed at stage {stage}: {_explain(exc, stage, encryption, timeout)}",
            stage=stage,
            transcript=transcript,
        ) from None
    finally:
        if smtp is not None:
            smtp.close()


def _converse(
    smtp: RecordingSMTP,
    host: str,
    port: int,
    encryption: str,
    context: ssl.SSLContext | None,
    server_name: str,
    auth_user: str | None,
    password: str,
) -> None:
    """Connect, greet, EHLO, STARTTLS if asked, AUTH if asked."""
    code, message = smtp.connect(host, port)  # stages connect, tls (Ssl), greeting
    smtp._host = server_name  # STARTTLS checks the certificate against this name
    _expect(smtp, (code, message), (220,), "the server refused the session")
    _ehlo(smtp)
    if encryption == "Tls":
        smtp.stage = "starttls"
        if not smtp.has_extn("starttls"):
            if not smtp.does_esmtp:
                raise Refused(
                    "starttls",
                    "the server refused EHLO and the HELO fallback advertises no extensions, so STARTTLS is not "
                    "available; encryptionType Tls requires an ESMTP server offering STARTTLS",
                )
            offered = ", ".join(sorted(smtp.esmtp_features)) or "none"
            raise Refused(
                "starttls",
                f"the server does not offer STARTTLS (its EHLO lists: {offered}); encryptionType Tls requires it; "
                f"use None for a plain port or Ssl for an implicit-TLS port",
            )
        try:
            smtp.starttls_resuming(context)
        except smtplib.SMTPResponseException as exc:  # any reply but 220
            raise Refused("starttls", "STARTTLS was refused", exc.smtp_code, _text(exc.smtp_error)) from None
        smtp.note_tls()
        _ehlo(smtp)
    if auth_user is not None:
        smtp.stage = "auth"
        _authenticate(smtp, auth_user, password)


def _ehlo(smtp: RecordingSMTP) -> None:
    smtp.stage = "ehlo"
    code, message = smtp.ehlo()
    if code != 250:
        code, message = smtp.helo()
        _expect(smtp, (code, message), (250,), "EHLO and HELO were refused")


def _authenticate(smtp: RecordingSMTP, user: str, password: str) -> None:
    if not smtp.has_extn("auth"):
        raise Refused(
            "auth",
            "the server does not offer AUTH; set useDefaultCredentials to send without authenticating",
        )
    mechanisms = smtp.esmtp_features["auth"].upper().split()
    user_b, password_b = user.encode("utf-8"), password.encode("utf-8")
    if "PLAIN" in mechanisms:
        token = _b64(b"\0" + user_b + b"\0" + password_b)
        smtp.redact_next = "AUTH PLAIN ***"
        code, message = smtp.docmd("AUTH", "PLAIN " + token)
        if code == 334:
            smtp.redact_next = "***"
            code, message = smtp.docmd(token)
    elif "LOGIN" in mechanisms:
        smtp.redact_next = "AUTH LOGIN ***"
        code, message = smtp.docmd("AUTH", "LOGIN " + _b64(user_b))
        if code == 334:
            smtp.redact_next = "***"
            code, message = smtp.docmd(_b64(password_b))
    elif "CRAM-MD5" in mechanisms:
        code, message = smtp.docmd("AUTH", "CRAM-MD5")
        if code == 334:
            digest = hmac.new(password_b, base64.b64decode(message), "md5").hexdigest()
            smtp.redact_next = "***"
            code, message = smtp.docmd(_b64(user_b + b" " + digest.encode()))
    else:
        raise Refused("auth", f"the server offers no AUTH mechanism this client speaks ({' '.join(mechanisms)})")
    _expect(smtp, (code, message), (235,), f"authentication as {user!r} failed")


def _send(smtp: RecordingSMTP, from_address: str, receiver: str, raw: bytes) -> None:
    """MAIL FROM, RCPT TO, DATA."""
    smtp.stage = "mail"
    options = _utf8_options(smtp, from_address, receiver)
    _expect(smtp, smtp.mail(from_address, options), (250,), f"the sender {from_address!r} was refused")
    smtp.stage = "rcpt"
    _expect(smtp, smtp.rcpt(receiver), (250, 251), f"the recipient {receiver!r} was refused")
    smtp.stage = "data"
    try:
        reply = smtp.data(raw)  # raises for a refused DATA command, returns the reply to the message
    except smtplib.SMTPDataError as exc:
        reply = (exc.smtp_code, _text(exc.smtp_error).encode())
    _expect(smtp, reply, (250,), "the message was refused")


def _expect(smtp: RecordingSMTP, reply: tuple[int, bytes], ok: tuple[int, ...], what: str) -> None:
    code, message = reply
    if code not in ok:
        raise Refused(smtp.stage, what, code, _text(message))


def _utf8_options(smtp: RecordingSMTP, *addresses: str) -> list[str]:
    if all(a.isascii() for a in addresses):
        return []
    if not smtp.has_extn("smtputf8"):
        raise Refused("mail", "a non-ASCII address needs SMTPUTF8, which the server does not offer")
    return ["SMTPUTF8"]


def _test_message(
    from_address: str, receiver: str, correlation: str, requested_target: str, display_name: str | None = None
) -> bytes:
    """The test message, written out directly (``EmailMessage`` costs milliseconds per message).

    The caller has checked that no value holds a line break; non-ASCII goes out as UTF-8 (SMTPUTF8).
    """
    body = (
        "This is a test message sent by the Checkmarx SMTP settings test connection (cxmock).\r\n"
        f"Requested target: {requested_target}\r\n"
    ).encode()
    headers = [
        f"From: {_from_header(display_name, from_address)}",
        f"To: {receiver}",
        f"Subject: {TEST_SUBJECT}",
        f"Date: {formatdate(usegmt=True)}",
        f"Message-ID: {make_msgid(domain=LOCAL_HOSTNAME)}",
        f"{CORRELATION_HEADER}: {correlation}",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        f"Content-Transfer-Encoding: {'7bit' if body.isascii() else '8bit'}",
    ]
    return ("\r\n".join(headers) + "\r\n\r\n").encode("utf-8") + body


def _from_header(display_name: str | None, from_address: str) -> str:
    """``Name <address>`` with the name encoded as a header needs it; the address as is (non-ASCII: SMTPUTF8)."""
    if not display_name:
        return from_address
    # formataddr quotes or RFC 2047-encodes the name, but takes ASCII addresses only: format with a stand-in
    stand_in = "x@x"
    return formataddr((display_name, stand_in), charset="utf-8")[: -len(stand_in) - 2] + f"<{from_address}>"


def _explain(exc: Exception, stage: str, encryption: str, timeout: float) -> str:
    """A sentence for an exception raised at ``stage``: what happened and, if classic, what to try."""
    cause = exc.__context__ if isinstance(exc, smtplib.SMTPServerDisconnected) else None
    timed_out = isinstance(exc, TimeoutError) or isinstance(cause, TimeoutError)
    if stage == "connect":
        if isinstance(exc, ConnectionRefusedError):
            return "connection refused: nothing listens on that port"
        if timed_out:
            return f"could not connect within {timeout:g} s"
        return f"cannot connect: {_os_error(exc)}"
    if stage == "tls":
        if isinstance(exc, ssl.SSLCertVerificationError):
            return _untrusted(exc)
        return f"TLS handshake failed ({_os_error(exc)}); is this a plain/STARTTLS port? try encryptionType Tls or None"
    if stage == "greeting" and timed_out:
        if encryption == "Ssl":
            return f"no SMTP greeting within {timeout:g} s after the TLS handshake"
        return f"no SMTP greeting within {timeout:g} s; is this an implicit-TLS port? try encryptionType Ssl"
    if stage == "starttls" and isinstance(exc, (ssl.SSLError, ssl.CertificateError)):
        if isinstance(exc, ssl.SSLCertVerificationError):
            return _untrusted(exc)
        return f"the TLS handshake after STARTTLS failed ({_os_error(exc)})"
    if timed_out:
        return f"no reply within the {timeout:g} s time budget"
    if isinstance(exc, smtplib.SMTPServerDisconnected) or isinstance(exc, ConnectionError):
        return "the server closed the connection"
    if isinstance(exc, OSError):
        return f"connection error: {_os_error(exc)}"
    return f"unexpected error: {exc!r}"


def _untrusted(exc: ssl.SSLCertVerificationError) -> str:
    return (
        f"the server's TLS certificate is not trusted ({exc.verify_message}); the sink's CA is served at "
        f"GET /_mock/smtp/ca.pem; for another server use --smtp-ca-file, or --smtp-insecure"
    )


def _os_error(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLError) and exc.reason:
        return str(exc.reason)
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def _text(message: bytes | str) -> str:
    if isinstance(message, bytes):
        message = message.decode("utf-8", "replace")
    return " ".join(message.split("\n")).strip()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
