"""Hostile SMTP input to the embedded sink, over real sockets: it keeps serving and captures nothing partial.

Each test counts the captured mail before and after: a refused, aborted or garbled session adds nothing, and a
normal message sent afterwards (on both listeners) is captured. No thread error (``sink.errors``) and no ERROR log
line may result. A 20 MB DATA is streamed from one reusable 64 KiB chunk (never built in memory).
"""

from __future__ import annotations

import logging
import random
import smtplib
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from mockserver.runtime.server import MockServer

TIMEOUT = 10.0
LIMIT = 1024 * 1024  # max_message_size of the server under test
SESSIONS = 50
LINE = b"x" * 996 + b"\r\n"  # a DATA line well within SMTP's 1000-octet limit
CHUNK = LINE * 64  # 64 KiB, reused for every write of the big message


@pytest.fixture(scope="module")
def smtp_server() -> Iterator[MockServer]:
    with MockServer(max_message_size=LIMIT) as server:
        yield server


@pytest.fixture
def sink_guard(smtp_server: MockServer, caplog: pytest.LogCaptureFixture) -> Iterator[MockServer]:
    """The server, checked afterwards: nothing captured by the test body unless it says so, the sink still serves
    both listeners, no sink thread error, no ERROR log line."""
    caplog.set_level(logging.DEBUG)
    smtp_server.sink.clear()
    yield smtp_server
    problems = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert not problems, problems
    assert not smtp_server.sink.errors, smtp_server.sink.errors
    smtp_server.check()


def count(server: MockServer) -> int:
    return len(server.sink.messages)


def assert_still_serving(server: MockServer) -> None:
    before = count(server)
    for listener in ("smtp", "smtps"):
        subject = f"still serving {listener} {before}"
        message = f"From: a@example.org\r\nTo: b@example.org\r\nSubject: {subject}\r\n\r\nok\r\n"
        with connect(server, listener) as smtp:
            smtp.sendmail("a@example.org", ["b@example.org"], message)
        assert [m.subject for m in server.sink.wait_for(1, TIMEOUT, subject=subject)] == [subject]
    assert count(server) == before + 2


def connect(server: MockServer, listener: str = "smtp") -> smtplib.SMTP:
    if listener == "smtps":
        return smtplib.SMTP_SSL(
            "127.0.0.1", server.sink.smtps_port, timeout=TIMEOUT, context=server.sink.tls.client_context()
        )
    return smtplib.SMTP("127.0.0.1", server.sink.smtp_port, timeout=TIMEOUT)


class Raw:
    """A raw SMTP client: send bytes, read whole replies, every read bounded by one deadline."""

    def __init__(self, server: MockServer, listener: str = "smtp") -> None:
        self.deadline = time.monotonic() + TIMEOUT
        port = server.sink.smtps_port if listener == "smtps" else server.sink.smtp_port
        self.sock: socket.socket = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        self.buffer = b""

    def tls(self, server: MockServer) -> None:
        self.sock = server.sink.tls.client_context().wrap_socket(self.sock, server_hostname="localhost")

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def line(self) -> bytes:
        while b"\r\n" not in self.buffer:
            self.sock.settimeout(max(0.01, self.deadline - time.monotonic()))
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError(f"closed by the sink; unread {self.buffer[:100]!r}")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line

    def reply(self) -> int:
        """The code of the next (possibly multi-line) reply."""
        while True:
            line = self.line()
            if line[3:4] != b"-":
                return int(line[:3])

    def cmd(self, line: str) -> int:
        self.send(line.encode() + b"\r\n")
        return self.reply()

    def closed(self) -> bool:
        """True once the sink has closed the connection (replies still unread are skipped)."""
        try:
            while True:
                self.sock.settimeout(max(0.01, self.deadline - time.monotonic()))
                if not self.sock.recv(65536):
                    return True
        except (ConnectionResetError, ssl.SSLError):
            return True
        except TimeoutError:
            return False

    def reset(self) -> None:
        """Vanish with a RST."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> Raw:
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()


def greeted(server: MockServer, listener: str = "smtp") -> Raw:
    raw = Raw(server, listener)
    if listener == "smtps":
        raw.tls(server)
    assert raw.reply() == 220
    return raw


# -- garbage -------------------------------------------------------------------------------------------------

GARBAGE: dict[str, bytes] = {
    "random-bytes": random.Random(8).randbytes(16384),
    "nul-flood": b"\0" * 8192 + b"\r\n",
    "long-line-100kb": b"EHLO " + b"a" * 102400 + b"\r\n",
    "crlf-flood": b"\r\n" * 5000,
    "tls-client-hello-on-plain": bytes.fromhex("16030100a5010000a10303") + bytes(150),
    "http-request": b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    "invalid-utf8-command": b"EHLO \xff\xfe\xc0\xaf\r\nMAIL FROM:<\xff@example.org>\r\n",
    "bare-lf-commands": b"EHLO x\nMAIL FROM:<a@example.org>\nRCPT TO:<b@example.org>\nDATA\nhi\n.\n",
    "nul-in-command": b"EHLO a\0b\r\nMAIL FROM:<a\0@example.org>\r\n",
    "unknown-commands": b"".join(f"XCMD{i} {'z' * 50}\r\n".encode() for i in range(200)),
}


@pytest.mark.parametrize("name", list(GARBAGE))
def test_garbage_is_refused_and_the_sink_keeps_serving(sink_guard: MockServer, name: str) -> None:
    server = sink_guard
    before = count(server)
    with greeted(server) as raw:
        try:
            raw.send(GARBAGE[name])
            raw.sock.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the sink hung up mid-garbage: fine
        assert raw.closed()
    assert count(server) == before
    assert_still_serving(server)


# -- commands out of order -----------------------------------------------------------------------------------

OUT_OF_ORDER: dict[str, list[tuple[str, int]]] = {
    "data-first": [("DATA", 503)],
    "rcpt-before-mail": [("EHLO x", 250), ("RCPT TO:<b@example.org>", 503)],
    "data-before-rcpt": [("EHLO x", 250), ("MAIL FROM:<a@example.org>", 250), ("DATA", 503)],
    "mail-twice": [("EHLO x", 250), ("MAIL FROM:<a@example.org>", 250), ("MAIL FROM:<a@example.org>", 503)],
    "mail-without-address": [("EHLO x", 250), ("MAIL FROM:", 501)],
    "rcpt-garbage": [("EHLO x", 250), ("MAIL FROM:<a@example.org>", 250), ("RCPT TO:<<>>", 553)],
    "auth-bad-base64": [("EHLO x", 250), ("AUTH PLAIN !!!notbase64", 501)],
    "auth-unknown-mechanism": [("EHLO x", 250), ("AUTH GSSAPI", 504)],
    "auth-login-cancel": [("EHLO x", 250), ("AUTH LOGIN", 334), ("*", 501)],
    "auth-twice": [("EHLO x", 250), ("AUTH PLAIN AHUAcA==", 235), ("AUTH PLAIN AHUAcA==", 503)],
    "starttls-with-argument": [("EHLO x", 250), ("STARTTLS now", 501)],
    "bdat": [("EHLO x", 250), ("MAIL FROM:<a@example.org>", 250), ("RCPT TO:<b@example.org>", 250), ("BDAT 10", 500)],
    "mail-size-over-limit": [("EHLO x", 250), (f"MAIL FROM:<a@example.org> SIZE={20 * LIMIT}", 552)],
    "mail-unknown-parameter": [("EHLO x", 250), ("MAIL FROM:<a@example.org> FOO=BAR", 555)],
    "vrfy-expn-noop": [("VRFY root", 252), ("EXPN all", 502), ("NOOP", 250)],
}


@pytest.mark.parametrize("name", list(OUT_OF_ORDER))
def test_commands_out_of_order_are_refused_and_the_session_recovers(sink_guard: MockServer, name: str) -> None:
    server = sink_guard
    before = count(server)
    with greeted(server) as raw:
        for command, expected in OUT_OF_ORDER[name]:
            assert raw.cmd(command) == expected, (name, command)
        # the same session still delivers a proper message: exactly one is captured
        assert raw.cmd("RSET") == 250
        assert raw.cmd("EHLO recover") == 250
        assert raw.cmd("MAIL FROM:<a@example.org>") == 250
        assert raw.cmd("RCPT TO:<b@example.org>") == 250
        assert raw.cmd("DATA") == 354
        raw.send(f"Subject: recovered {name}\r\n\r\nbody\r\n.\r\n".encode())
        assert raw.reply() == 250
        assert raw.cmd("QUIT") == 221
    assert [m.subject for m in server.sink.messages[before:]] == [f"recovered {name}"]


# -- size limit ----------------------------------------------------------------------------------------------


def stream_data(raw: Raw, size: int) -> None:
    """Send ``size`` bytes of message body (rounded up to whole lines) from the one reusable chunk, then the dot."""
    raw.send(b"Subject: big\r\n\r\n")
    sent = 0
    while sent < size:
        raw.send(CHUNK)
        sent += len(CHUNK)
    raw.send(b".\r\n")


@pytest.mark.slow
def test_a_20_mb_data_is_refused_with_552_at_the_configured_limit(sink_guard: MockServer) -> None:
    server = sink_guard
    before = count(server)
    with greeted(server) as raw:
        assert raw.cmd("EHLO big") == 250
        assert raw.cmd("MAIL FROM:<a@example.org>") == 250  # no SIZE= announced: refused only after DATA
        assert raw.cmd("RCPT TO:<b@example.org>") == 250
        assert raw.cmd("DATA") == 354
        raw.deadline = time.monotonic() + 60
        stream_data(raw, 20 * 1024 * 1024)
        assert raw.reply() == 552
        # just under the limit, the same session is accepted: the limit is the configured one, not another
        assert raw.cmd("MAIL FROM:<a@example.org>") == 250
        assert raw.cmd("RCPT TO:<b@example.org>") == 250
        assert raw.cmd("DATA") == 354
        stream_data(raw, LIMIT - 2 * len(CHUNK))
        assert raw.reply() == 250
        assert raw.cmd("QUIT") == 221
    assert count(server) == before + 1
    assert server.sink.messages[-1].size < LIMIT
    assert_still_serving(server)


def test_the_limit_is_configurable(make_server: Callable[..., MockServer]) -> None:
    server = make_server(max_message_size=2000)
    with greeted(server) as raw:
        assert raw.cmd("EHLO x") == 250
        assert raw.cmd("MAIL FROM:<a@example.org>") == 250
        assert raw.cmd("RCPT TO:<b@example.org>") == 250
        assert raw.cmd("DATA") == 354
        raw.send(b"Subject: s\r\n\r\n" + LINE * 3 + b".\r\n")
        assert raw.reply() == 552
    assert count(server) == 0


# -- concurrency ---------------------------------------------------------------------------------------------


def test_50_concurrent_sessions_are_all_captured(sink_guard: MockServer) -> None:
    """50 sessions open at once (all greeted before any sends), on both listeners, plain and STARTTLS."""
    server = sink_guard
    before = count(server)
    barrier = threading.Barrier(SESSIONS, timeout=TIMEOUT)
    failures: list[str] = []

    def session(index: int) -> None:
        try:
            listener = "smtps" if index % 3 == 0 else "smtp"
            with connect(server, listener) as smtp:
                barrier.wait()  # every session is open and greeted before any of them goes on
                if index % 3 == 1:
                    smtp.starttls(context=server.sink.tls.client_context())
                message = f"Subject: concurrent {index}\r\n\r\nsession {index}\r\n"
                smtp.sendmail("a@example.org", [f"rcpt{index}@example.org"], message)
        except Exception as exc:  # noqa: BLE001 - reported below, with the session's index
            failures.append(f"session {index}: {exc!r}")

    threads = [threading.Thread(target=session, args=(i,), name=f"smtp-{i}", daemon=True) for i in range(SESSIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT * 3)
    assert not [t.name for t in threads if t.is_alive()]
    assert not failures, failures
    captured = server.sink.wait_for(SESSIONS, TIMEOUT, since=before)
    assert sorted(m.subject or "" for m in captured) == sorted(f"concurrent {i}" for i in range(SESSIONS))
    assert count(server) == before + SESSIONS
    assert_still_serving(server)


# -- clients vanishing ----------------------------------------------------------------------------------------

VANISH_AT = ["mid-data", "after-data-before-dot", "mid-command-line", "after-rcpt", "mid-data-smtps"]


@pytest.mark.parametrize("how", ["close", "reset"])
@pytest.mark.parametrize("where", VANISH_AT)
def test_a_client_vanishing_mid_session_leaves_nothing_captured(sink_guard: MockServer, where: str, how: str) -> None:
    server = sink_guard
    before = count(server)
    raw = greeted(server, "smtps" if where.endswith("smtps") else "smtp")
    try:
        if where == "mid-command-line":
            raw.send(b"MAIL FROM:<a@exam")
        else:
            assert raw.cmd("EHLO x") == 250
            assert raw.cmd("MAIL FROM:<a@example.org>") == 250
            assert raw.cmd("RCPT TO:<b@example.org>") == 250
            if where != "after-rcpt":
                assert raw.cmd("DATA") == 354
                raw.send(b"Subject: partial\r\n\r\n" + LINE * 100)
                if where == "after-data-before-dot":
                    raw.send(b"\r\n")  # a complete last line, but no terminating dot
                else:
                    raw.send(b"half a li")
    finally:
        if how == "reset" and not isinstance(raw.sock, ssl.SSLSocket):
            raw.reset()
        else:
            raw.close()
    assert_still_serving(server)  # proves the sink went on; the vanished session added nothing
    assert count(server) == before + 2
    assert not [m for m in server.sink.messages if m.subject == "partial"]


# -- aborted TLS ----------------------------------------------------------------------------------------------


def _untrusting_context() -> ssl.SSLContext:
    return ssl.create_default_context()  # system CAs only: rejects the sink's certificate with an alert


def abort_smtps_connect_and_close(server: MockServer) -> None:
    Raw(server, "smtps").close()


def abort_smtps_partial_client_hello(server: MockServer) -> None:
    with Raw(server, "smtps") as raw:
        raw.send(bytes.fromhex("16030100a5010000a10303") + bytes(20))


def abort_smtps_garbage(server: MockServer) -> None:
    with Raw(server, "smtps") as raw:
        raw.send(b"EHLO plain-text-on-the-tls-port\r\n")
        raw.sock.shutdown(socket.SHUT_WR)
        assert raw.closed()


def abort_smtps_untrusted_certificate(server: MockServer) -> None:
    with Raw(server, "smtps") as raw, pytest.raises(ssl.SSLCertVerificationError):
        _untrusting_context().wrap_socket(raw.sock, server_hostname="localhost")


def abort_smtps_reset_after_handshake(server: MockServer) -> None:
    raw = greeted(server, "smtps")
    raw.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    raw.sock.close()


def abort_starttls_then_close(server: MockServer) -> None:
    with greeted(server) as raw:
        assert raw.cmd("EHLO x") == 250
        assert raw.cmd("STARTTLS") == 220


def abort_starttls_then_garbage(server: MockServer) -> None:
    with greeted(server) as raw:
        assert raw.cmd("EHLO x") == 250
        assert raw.cmd("STARTTLS") == 220
        raw.send(b"MAIL FROM:<a@example.org>\r\n" + random.Random(3).randbytes(512))
        assert raw.closed()


def abort_starttls_partial_client_hello(server: MockServer) -> None:
    with greeted(server) as raw:
        assert raw.cmd("EHLO x") == 250
        assert raw.cmd("STARTTLS") == 220
        raw.send(bytes.fromhex("16030100a5010000a10303") + bytes(20))


def abort_starttls_untrusted_certificate(server: MockServer) -> None:
    with greeted(server) as raw:
        assert raw.cmd("EHLO x") == 250
        assert raw.cmd("STARTTLS") == 220
        with pytest.raises(ssl.SSLCertVerificationError):
            _untrusting_context().wrap_socket(raw.sock, server_hostname="localhost")


def abort_starttls_mid_data(server: MockServer) -> None:
    raw = greeted(server)
    try:
        assert raw.cmd("EHLO x") == 250
        assert raw.cmd("STARTTLS") == 220
        raw.tls(server)
        assert raw.cmd("EHLO x") == 250
        assert raw.cmd("MAIL FROM:<a@example.org>") == 250
        assert raw.cmd("RCPT TO:<b@example.org>") == 250
        assert raw.cmd("DATA") == 354
        raw.send(b"Subject: partial\r\n\r\n" + LINE * 10)
    finally:
        raw.sock.close()


TLS_ABORTS: list[Callable[[MockServer], None]] = [
    abort_smtps_connect_and_close,
    abort_smtps_partial_client_hello,
    abort_smtps_garbage,
    abort_smtps_untrusted_certificate,
    abort_smtps_reset_after_handshake,
    abort_starttls_then_close,
    abort_starttls_then_garbage,
    abort_starttls_partial_client_hello,
    abort_starttls_untrusted_certificate,
    abort_starttls_mid_data,
]


@pytest.mark.parametrize("abort", TLS_ABORTS, ids=[f.__name__.removeprefix("abort_") for f in TLS_ABORTS])
def test_an_aborted_tls_handshake_or_session_captures_nothing(
    sink_guard: MockServer, abort: Callable[[MockServer], None]
) -> None:
    server = sink_guard
    before = count(server)
    abort(server)
    assert_still_serving(server)
    assert count(server) == before + 2
    assert not [m for m in server.sink.messages if m.subject == "partial"]
