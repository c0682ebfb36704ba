"""The text log escapes control characters taken from a request (#23: ``%0d%0a`` in a path forged a log line,
``%1b`` wrote raw ANSI). Over a real socket, as a client sends them."""

from __future__ import annotations

import http.client
import json
import logging

import pytest

from mockserver.core.logtext import loggable
from mockserver.runtime.server import MockServer


def _raw_get(server: MockServer, target: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", server.http_port, timeout=10)
    try:
        conn.putrequest("GET", target, skip_accept_encoding=True)
        conn.endheaders()
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_a_crlf_or_esc_in_a_path_cannot_forge_a_log_line(caplog: pytest.LogCaptureFixture, log_format: str) -> None:
    forged = "/cxrestapi/auth/x%0d%0aGET%20/cxrestapi/auth/SMTPSettings%20-%3E%20200%201.0ms%1b%5b31mred%c2%85"
    with MockServer(log_requests=True, log_format=log_format) as server:
        with caplog.at_level(logging.INFO, logger="cxmock.requests"):
            assert _raw_get(server, forged) in (401, 404)
    (line,) = [r.getMessage() for r in caplog.records if r.name == "cxmock.requests"]
    assert "\r" not in line and "\n" not in line and "\x1b" not in line and "\x85" not in line
    if log_format == "text":
        assert line.startswith("GET /cxrestapi/auth/x\\x0d\\x0aGET /cxrestapi/auth/SMTPSettings -> 200 1.0ms")
        assert "\\x1b[31mred" in line
    else:  # JSON was always safe: the path comes back exactly as decoded
        assert json.loads(line)["path"].startswith("/cxrestapi/auth/x\r\nGET ")


def test_loggable_keeps_printable_text_and_escapes_every_control() -> None:
    assert loggable("GET /cxrestapi/auth/SMTPSettings é ✓") == "GET /cxrestapi/auth/SMTPSettings é ✓"
    assert loggable("a\r\nb\x1b[0m\x00\x7f\x9b\u2028") == "a\\x0d\\x0ab\\x1b[0m\\x00\\x7f\\x9b\\u2028"
