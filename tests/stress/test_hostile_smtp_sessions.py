"""Hostile SMTP sessions against a running MockServer, over real sockets: none of them stops the server (issue #14).

Each sequence below (STARTTLS twice, AUTH garbage, huge lines, pipelining floods, half-closed sockets, a DATA never
ended, RSET/HELO storms, binary junk, resets at every stage, ...) runs against one server; afterwards the server
still answers ``GET /_mock/health``, a normal message is captured on both listeners, ``server.check()`` does not
raise and no ERROR line was logged. Deadlines and the connection limit run against servers configured with small
values: the tests wait for the sink's 421 with a generous timeout, never for a time to pass.
"""

from __future__ import annotations

import base64
import json
import logging
import random
import socket
import ssl
import urllib.request
from collections.abc import Callable, Iterator

import pytest
from test_hostile_smtp import TIMEOUT, Raw, assert_still_serving, count, greeted

from mockserver.runtime.server import MockServer
from mockserver.smtp.protocol import MAX_RECIPIENTS

MAIL = ["EHLO x", "MAIL FROM:<a@example.org>", "RCPT TO:<b@example.org>"]


@pytest.fixture(scope="module")
def hostile_server() -> Iterator[MockServer]:
    with MockServer(max_message_size=2 * 1024 * 1024) as server:
        yield server


@pytest.fixture
def guard(hostile_server: MockServer, caplog: pytest.LogCaptureFixture) -> Iterator[MockServer]:
    """The server, checked after the sequence: HTTP and both SMTP listeners serve, no thread error, no ERROR log."""
    caplog.set_level(logging.DEBUG)
    hostile_server.sink.clear()
    yield hostile_server
    assert_serving(hostile_server)
    problems = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert not problems, problems


def assert_serving(server: MockServer) -> None:
    with urllib.request.urlopen(server.base_url + "/_mock/health", timeout=TIMEOUT) as response:  # nosec B310
        assert response.status == 200 and json.load(response)["status"] == "ok"
    assert_still_serving(server)
    assert not server.sink.errors, server.sink.errors
    server.check()


def starttls(raw: Raw, server: MockServer) -> None:
    assert raw.cmd("EHLO x") == 250
    assert raw.cmd("STARTTLS") == 220
    raw.tls(server)


def send_all(raw: Raw, data: bytes) -> None:
    """Send, tolerating the sink hanging up first (it may close a connection that abuses it)."""
    try:
        raw.send(data)
    except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
        pass


# -- the sequences -------------------------------------------------------------------------------------------


def starttls_twice_then_close(server: MockServer, raw: Raw) -> None:
    starttls(raw, server)
    assert raw.cmd("EHLO again") == 250
    assert raw.cmd("STARTTLS") == 503  # RFC 3207: TLS is already active


def starttls_twice_then_deliver(server: MockServer, raw: Raw) -> None:
    starttls(raw, server)
    assert raw.cmd("EHLO again") == 250
    assert raw.cmd("STARTTLS") == 503
    for command in MAIL[1:]:
        assert raw.cmd(command) == 250
    assert raw.cmd("DATA") == 354
    raw.send(b"Subject: after a refused STARTTLS\r\n\r\nok\r\n.\r\n")
    assert raw.reply() == 250
    assert server.sink.wait_for(1, TIMEOUT, subject="after a refused STARTTLS")
    server.sink.clear()


def starttls_on_smtps(server: MockServer, raw: Raw) -> None:
    raw.tls(server)
    assert raw.reply() == 220
    assert raw.cmd("EHLO x") == 250
    assert raw.cmd("STARTTLS") == 503


def starttls_then_plain_text(server: MockServer, raw: Raw) -> None:
    assert raw.cmd("EHLO x") == 250
    assert raw.cmd("STARTTLS") == 220
    send_all(raw, b"EHLO still plain\r\nMAIL FROM:<a@example.org>\r\n")
    raw.sock.shutdown(socket.SHUT_WR)
    assert raw.closed()


def tls_record_garbage_on_smtps(server: MockServer, raw: Raw) -> None:
    send_all(raw, b"\x16\x03\x03\x40\x00" + random.Random(1).randbytes(16384))
    assert raw.closed()


def tls_handshake_then_reset(server: MockServer, raw: Raw) -> None:
    assert raw.cmd("EHLO x") == 250
    assert raw.cmd("STARTTLS") == 220
    raw.tls(server)
    raw.reset()


def auth_plain_garbage(server: MockServer, raw: Raw) -> None:
    assert raw.cmd("EHLO x") == 250
    junk = base64.b64encode(random.Random(2).randbytes(300)).decode()
    assert raw.cmd(f"AUTH PLAIN {junk}") == 501  # not user\0pass
    assert raw.cmd("AUTH PLAIN \x00\x01\x02") == 501
    assert raw.cmd("AUTH LOGIN a b c d") == 501


def auth_login_huge_response(server: MockServer, raw: Raw) -> None:
    assert raw.cmd("EHLO x") == 250
    assert raw.cmd("AUTH LOGIN") == 334
    assert raw.cmd("A" * 100_000) == 500  # the response line is over the limit: refused, never buffered whole
    assert raw.cmd("NOOP") == 250  # and the session goes on


def auth_huge_initial_response(server: MockServer, raw: Raw) -> None:
    assert raw.cmd("EHLO x") == 250
    assert raw.cmd("AUTH PLAIN " + "QUFB" * 5000) == 500
    assert raw.cmd("NOOP") == 250


def auth_abandoned_mid_challenge(server: MockServer, raw: Raw) -> None:
    assert raw.cmd("EHLO x") == 250
    assert raw.cmd("AUTH LOGIN") == 334
    send_all(raw, b"dXNlcg==\r\n")
    raw.reset()


def huge_line_without_end(server: MockServer, raw: Raw) -> None:
    chunk = b"z" * 65536
    for _ in range(32):  # 2 MiB, no line end
        send_all(raw, chunk)
    raw.reset()


def huge_data_line(server: MockServer, raw: Raw) -> None:
    for command in MAIL:
        assert raw.cmd(command) == 250
    assert raw.cmd("DATA") == 354
    raw.send(b"Subject: long line\r\n\r\n" + b"y" * 200_000 + b"\r\n.\r\n")
    assert raw.reply() == 500  # RFC 5321 4.5.3.1.6, answered after the final dot
    assert raw.cmd("NOOP") == 250


def pipelining_flood_never_read(server: MockServer, raw: Raw) -> None:
    flood = b"NOOP\r\n" * 20_000
    for _ in range(10):  # 1.2 MB of commands whose replies are never read
        send_all(raw, flood)
    raw.reset()


def pipelined_mail_in_one_packet(server: MockServer, raw: Raw) -> None:
    lines = [*MAIL, "DATA"]
    raw.send(("\r\n".join(lines) + "\r\nSubject: pipelined\r\n\r\nbody\r\n.\r\nQUIT\r\n").encode())
    assert [raw.reply() for _ in range(6)] == [250, 250, 250, 354, 250, 221]
    assert server.sink.wait_for(1, TIMEOUT, subject="pipelined")
    server.sink.clear()


def rset_storm(server: MockServer, raw: Raw) -> None:
    raw.send(b"RSET\r\n" * 5000)
    assert {raw.reply() for _ in range(5000)} == {250}


def helo_storm(server: MockServer, raw: Raw) -> None:
    raw.send(b"".join(f"{'EHLO' if i % 2 else 'HELO'} host{i}\r\n".encode() for i in range(2000)))
    assert {raw.reply() for _ in range(2000)} == {250}


def recipient_flood(server: MockServer, raw: Raw) -> None:
    for command in MAIL[:2]:
        assert raw.cmd(command) == 250
    raw.send(b"".join(f"RCPT TO:<r{i}@example.org>\r\n".encode() for i in range(MAX_RECIPIENTS + 5)))
    codes = [raw.reply() for _ in range(MAX_RECIPIENTS + 5)]
    assert codes == [250] * MAX_RECIPIENTS + [452] * 5  # the envelope of one message is bounded too
    assert raw.cmd("RSET") == 250


def half_closed_after_mail(server: MockServer, raw: Raw) -> None:
    for command in MAIL[:2]:
        assert raw.cmd(command) == 250
    raw.sock.shutdown(socket.SHUT_WR)
    assert raw.closed()


def half_closed_in_data(server: MockServer, raw: Raw) -> None:
    for command in MAIL:
        assert raw.cmd(command) == 250
    assert raw.cmd("DATA") == 354
    raw.send(b"Subject: partial\r\n\r\nhalf a mess")
    raw.sock.shutdown(socket.SHUT_WR)
    assert raw.closed()


def binary_junk_in_data(server: MockServer, raw: Raw) -> None:
    for command in MAIL:
        assert raw.cmd(command) == 250
    assert raw.cmd("DATA") == 354
    junk = random.Random(4).randbytes(60_000).replace(b"\r", b"").replace(b"\n", b"")
    body = b"\r\n".join(junk[i : i + 900] for i in range(0, len(junk), 900))
    raw.send(b"Subject: junk\r\nContent-Type: text/plain; charset=x-unknown\r\n\r\n" + body + b"\r\n.\r\n")
    assert raw.reply() == 250  # any octets are a message: captured, and parsing it must not fail
    (message,) = server.sink.wait_for(1, TIMEOUT, subject="junk")
    assert message.to_dict()["text"]
    server.sink.clear()


def binary_junk_commands_then_reset(server: MockServer, raw: Raw) -> None:
    send_all(raw, random.Random(5).randbytes(65536))
    raw.reset()


def data_without_rcpt_then_body(server: MockServer, raw: Raw) -> None:
    assert raw.cmd("EHLO x") == 250
    assert raw.cmd("DATA") == 503
    raw.send(b"Subject: not a command\r\n\r\n.\r\n")  # the would-be body is read as commands and refused
    assert raw.reply() == 500
    raw.reply()
    raw.reply()


SEQUENCES: list[tuple[str, Callable[[MockServer, Raw], None]]] = [
    ("smtp", starttls_twice_then_close),
    ("smtp", starttls_twice_then_deliver),
    ("smtps-raw", starttls_on_smtps),
    ("smtp", starttls_then_plain_text),
    ("smtps-raw", tls_record_garbage_on_smtps),
    ("smtp", tls_handshake_then_reset),
    ("smtp", auth_plain_garbage),
    ("smtp", auth_login_huge_response),
    ("smtp", auth_huge_initial_response),
    ("smtp", auth_abandoned_mid_challenge),
    ("smtp", huge_line_without_end),
    ("smtp", huge_data_line),
    ("smtp", pipelining_flood_never_read),
    ("smtp", pipelined_mail_in_one_packet),
    ("smtp", rset_storm),
    ("smtp", helo_storm),
    ("smtp", recipient_flood),
    ("smtp", half_closed_after_mail),
    ("smtp", half_closed_in_data),
    ("smtp", binary_junk_in_data),
    ("smtp", binary_junk_commands_then_reset),
    ("smtp", data_without_rcpt_then_body),
]


@pytest.mark.parametrize(("listener", "sequence"), SEQUENCES, ids=[s.__name__ for _, s in SEQUENCES])
def test_a_hostile_session_leaves_the_server_serving(
    guard: MockServer, listener: str, sequence: Callable[[MockServer, Raw], None]
) -> None:
    server = guard
    before = count(server)
    if listener == "smtps-raw":
        raw = Raw(server, "smtps")
    else:
        raw = greeted(server, listener)
    with raw:
        sequence(server, raw)
    assert count(server) == before


# -- a reset at every stage ----------------------------------------------------------------------------------

STAGES = ["greeting", "ehlo", "starttls-220", "tls", "auth", "mail", "rcpt", "data-354", "mid-data", "before-reply"]


@pytest.mark.parametrize("stage", STAGES)
def test_a_reset_at_any_stage_leaves_the_server_serving(guard: MockServer, stage: str) -> None:
    server = guard
    raw = greeted(server)
    steps: list[Callable[[], object]] = [
        lambda: raw.cmd("EHLO x"),
        lambda: raw.cmd("STARTTLS"),
        lambda: raw.tls(server),
        lambda: raw.cmd("EHLO x") and raw.cmd("AUTH PLAIN " + base64.b64encode(b"\0u\0p").decode()),
        lambda: raw.cmd("MAIL FROM:<a@example.org>"),
        lambda: raw.cmd("RCPT TO:<b@example.org>"),
        lambda: raw.cmd("DATA"),
        lambda: raw.send(b"Subject: partial\r\n\r\n" + b"x" * 5000),
        lambda: raw.send(b"\r\n.\r\n"),
    ]
    for step in steps[: STAGES.index(stage)]:
        step()
    raw.reset()
    if stage == "before-reply":  # the message was complete: whether it is captured is a race, both are fine
        server.sink.clear()


# -- deadlines -----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def impatient_server() -> Iterator[MockServer]:
    with MockServer(smtp_command_timeout=1.0, smtp_data_timeout=1.5) as server:
        yield server


def closing_reply(raw: Raw) -> bytes:
    raw.deadline += TIMEOUT  # waiting for the sink's deadline to pass; this one only bounds the test
    line: bytes = raw.line()
    assert raw.closed()
    return line


@pytest.mark.parametrize("where", ["idle-after-greeting", "partial-command", "trickled-command", "after-tls"])
def test_a_command_line_has_a_deadline_and_its_end_is_a_421(impatient_server: MockServer, where: str) -> None:
    raw = greeted(impatient_server)
    if where == "partial-command":
        raw.send(b"MAIL FROM:<a@exa")
    elif where == "trickled-command":
        for byte in b"EHLO trickle":  # every byte arrives, the line never ends: the deadline is for the whole line
            raw.send(bytes([byte]))
    elif where == "after-tls":
        starttls(raw, impatient_server)
    with raw:
        line = closing_reply(raw)
    assert line.startswith(b"421 4.4.2") and b"command" in line
    assert_serving(impatient_server)


def test_a_data_that_never_ends_has_a_deadline(impatient_server: MockServer) -> None:
    before = count(impatient_server)
    with greeted(impatient_server) as raw:
        for command in MAIL:
            assert raw.cmd(command) == 250
        assert raw.cmd("DATA") == 354
        raw.send(b"Subject: never ends\r\n\r\nline\r\n")
        line = closing_reply(raw)
    assert line.startswith(b"421 4.4.2") and b"DATA" in line
    assert count(impatient_server) == before
    assert_serving(impatient_server)


# -- connection limit ----------------------------------------------------------------------------------------


def test_connections_over_the_limit_get_421_and_the_limit_frees_up(make_server: Callable[..., MockServer]) -> None:
    server = make_server(smtp_max_connections=3)
    held = [greeted(server), greeted(server, "smtps"), greeted(server)]
    try:
        with Raw(server) as extra:
            line = extra.line()
            assert line.startswith(b"421 4.7.0 too many connections"), line
            assert extra.closed()
        with Raw(server, "smtps") as extra:
            extra.tls(server)
            assert extra.line().startswith(b"421 4.7.0 too many connections")
        for raw in held:
            assert raw.cmd("NOOP") == 250  # the open ones are unaffected
    finally:
        for raw in held:
            raw.close()
    assert_serving(server)  # polls nothing: the sink frees a slot when it sees the close, before it greets anew


@pytest.mark.parametrize("listener", ["smtp", "smtps"])
def test_stacking_tls_on_tls_is_contained_to_its_connection(
    make_server: Callable[..., MockServer], monkeypatch: pytest.MonkeyPatch, listener: str
) -> None:
    """Second line of defence: were a second TLS layer started (as before the 503), asyncio's error in the sink's
    loop (Python 3.11: ``TypeError`` from ``SSLProtocol._abort``) closes that connection only."""
    from aiosmtpd.smtp import SMTP

    from mockserver.smtp.protocol import SinkSMTP

    async def old_starttls(self: SinkSMTP, arg: str) -> None:
        self.tls_context = self._sink.tls.server_context()  # type: ignore[attr-defined]
        await SMTP.smtp_STARTTLS(self, arg)

    monkeypatch.setattr(SinkSMTP, "smtp_STARTTLS", old_starttls)
    server = make_server()
    raw = greeted(server, listener)
    with raw:
        if listener == "smtp":
            starttls(raw, server)
        assert raw.cmd("EHLO x") == 250
        assert raw.cmd("STARTTLS") == 220
    monkeypatch.undo()
    assert_serving(server)
