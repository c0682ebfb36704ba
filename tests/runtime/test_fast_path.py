"""The event-loop fast path of a GET of the settings is gone (issue #21): every request runs the app.

It restated the app's checks, body, journal and log code, and ran the IDNA check of a client's ``Host`` on the
event loop before authentication (issue #23: one request held the loop ~0.6 s). What stays is its option,
``http_fast_reads`` (``--[no-]http-fast-reads``), accepted and without effect so that scripts keep working.
Over real sockets on 127.0.0.1.
"""

from __future__ import annotations

import re
import socket

from click.testing import CliRunner

from mockserver.cli import main
from mockserver.runtime.server import MockServer
from tests.support.sockets import TIMEOUT, read_until

LIST = "/cxrestapi/auth/SMTPSettings"


def _exchange(port: int, raw: bytes) -> bytes:
    """Send ``raw`` on a new connection and read until the server closes it (bounded)."""
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
        sock.sendall(raw)
        return read_until(sock)


def _get(token: str, host: str = "localhost") -> bytes:
    head = f"GET {LIST} HTTP/1.1\r\nHost: {host}\r\nAccept: application/json;v=1.0\r\nConnection: close\r\n"
    return (head + (f"Authorization: Bearer {token}\r\n" if token else "") + "\r\n").encode("latin-1")


def test_the_deprecated_option_is_accepted_and_changes_nothing() -> None:
    answers = []
    for value in (True, False):
        with MockServer(http_fast_reads=value) as server:
            data = _exchange(server.http_port, _get(server.token()))
            answers.append(re.sub(rb"\r\nDate: [^\r]*", b"", data))
            assert [e.operation_id for e in server.requests()] == ["getAllSmtpSettings"]
    assert answers[0] == answers[1]
    assert answers[0].startswith(b"HTTP/1.1 200 ")


def test_the_cli_still_takes_the_flag_and_says_it_is_deprecated() -> None:
    result = CliRunner().invoke(main, ["serve", "--help"])
    assert result.exit_code == 0
    assert "--http-fast-reads / --no-http-fast-reads" in result.output
    help_text = " ".join(result.output.split())
    assert "Deprecated, does nothing" in help_text


def test_an_unauthenticated_get_with_a_long_idna_host_is_refused_by_its_length() -> None:
    """Issue #23's request (``Host``: 60 KB of latin-1 ``ä.`` labels, no token) is refused by the front end for its
    length (400) before any codec works on it (werkzeug's IDNA encoding of it cost ~0.5 s of CPU), journaled as a
    refusal; the server answers others after."""
    host = "\u00e4." * 30_000
    with MockServer() as server:
        answer = _exchange(server.http_port, _get("", host=host))
        assert answer.startswith(b"HTTP/1.1 400 ") and b"Host header" in answer, answer[:200]
        entries = server.requests()
        assert [(e.operation_id, e.status) for e in entries] == [(None, 400)]
        assert _exchange(server.http_port, _get(server.token())).startswith(b"HTTP/1.1 200 ")
