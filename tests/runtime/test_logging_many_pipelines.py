"""Logs of one server shared by many pipelines (issue #25, rows 1 and 9): every line, text and JSON, names its sandbox
and a request id unique in the server (the journal's per-sandbox number stays beside it); levels mean something
(a client's 4xx: INFO with the reason; a fault: INFO with its rule; refused hostile input: WARNING; cxmock's own
error: ERROR); ``cxmock serve`` ends with one summary line."""

from __future__ import annotations

import io
import json
import logging
import signal
import smtplib
import socket
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from mockserver.runtime.runner import configure_logging
from mockserver.runtime.server import MockServer
from tests.support.api import token_form
from tests.support.serve import start_serve

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

V1 = "application/json;v=1.0"
BODY = {
    "host": "smtp.example.org",
    "port": 587,
    "encryptionType": "Tls",
    "fromAddress": "noreply@check.org",
    "recieverEmail": "ops@check.org",
    "useDefaultCredentials": False,
    "username": "mailer",
    "password": "pw-25",
}


class Captured:
    """What ``cxmock serve``'s log handler writes (text format); :meth:`getvalue` closes it first, so every line
    queued for its writer thread is written."""

    def __init__(self) -> None:
        self.stream = io.StringIO()
        self.handler = configure_logging("text", self.stream)
        self.text: str | None = None

    def getvalue(self) -> str:
        if self.text is None:
            logging.getLogger("cxmock").removeHandler(self.handler)
            self.text = _read_and_close(self.stream, self.handler)
        return self.text


def _read_and_close(stream: io.StringIO, handler: logging.Handler) -> str:
    text: list[str] = []
    stream.close = lambda: text.append(stream.getvalue())  # type: ignore[method-assign]  # keep it readable
    handler.close()
    return text[0] if text else stream.getvalue()


@pytest.fixture
def captured() -> Iterator[Captured]:
    found = Captured()
    try:
        yield found
    finally:
        found.getvalue()


def get(target: Any, path: str = "/SMTPSettings", **headers: str) -> requests.Response:
    return requests.get(target.api_url + path, headers={**target.auth_headers(), "Accept": V1, **headers}, timeout=10)


def test_text_lines_name_the_sandbox_and_a_server_wide_request_id(captured: Captured) -> None:
    with MockServer(log_requests=True) as server:
        a, b = server.sandbox("ci-a"), server.sandbox("ci-b")
        responses = [get(a), get(b), get(server), get(a, "/SMTPSettings/999")]
    lines = [
        line for line in captured.getvalue().splitlines() if " cxmock.requests " in line and "SMTPSettings" in line
    ]
    assert len(lines) == 4, captured.getvalue()
    assert "sandbox=ci-a " in lines[0] and "GET /sandbox/ci-a/cxrestapi/auth/SMTPSettings -> 200" in lines[0]
    assert "sandbox=ci-b " in lines[1] and "GET /sandbox/ci-b/cxrestapi/auth/SMTPSettings -> 200" in lines[1]
    assert "sandbox=- " in lines[2] and "GET /cxrestapi/auth/SMTPSettings -> 200" in lines[2]
    # each sandbox's journal numbers from 1: the server-wide id tells the lines apart
    assert [r.headers["X-Cxmock-Request-Id"] for r in responses] == ["1", "1", "1", "2"]
    assert all(f" #{r.headers['X-Cxmock-Request-Id']}" in line for r, line in zip(responses, lines, strict=True))
    ids = [line.split(" req=", 1)[1].split(":", 1)[0] for line in lines]
    assert all(i.isdigit() for i in ids) and len(set(ids)) == 4, ids
    # a client's 4xx is INFO with its reason
    assert " INFO " in lines[3] and "-> 404" in lines[3] and 'reason="' in lines[3]


def test_the_testconnection_session_lines_name_the_request_that_opened_it(captured: Captured) -> None:
    with MockServer(log_requests=True) as server:
        sandbox = server.sandbox("ci-mail")
        sandbox.faults.preset("smtp-recipient-rejected")
        response = requests.post(
            sandbox.api_url + "/SMTPSettings/testconnection",
            json=BODY,
            headers={**sandbox.auth_headers(), "Content-Type": V1},
            timeout=30,
        )
        assert response.status_code == 400
    text = captured.getvalue()
    (request_line,) = [line for line in text.splitlines() if "testconnection ->" in line]
    request_id = request_line.split(" req=", 1)[1].split(":", 1)[0]
    smtp = [line for line in text.splitlines() if " cxmock.smtp " in line]
    assert smtp and all(f"sandbox=ci-mail req={request_id}:" in line for line in smtp), text
    (fault,) = [line for line in smtp if "SMTP fault" in line]
    assert " INFO " in fault and "smtp-recipient-rejected" in fault and "rcpt" in fault  # the rule, by name
    assert " INFO " in request_line and "faults=smtp-recipient-rejected:reply@rcpt" in request_line
    assert "pw-25" not in text


def test_refused_hostile_input_is_a_warning(captured: Captured) -> None:
    with MockServer(log_requests=True) as server:
        with socket.create_connection(("127.0.0.1", server.http_port), timeout=10) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: nonsense\r\n\r\n")
            assert sock.recv(100).startswith(b"HTTP/1.1 400")
    (line,) = [line for line in captured.getvalue().splitlines() if "malformed HTTP request" in line]
    assert " WARNING cxmock.requests sandbox=- req=" in line and "GET / -> 400" in line


def test_cxmocks_own_error_is_an_error_line(captured: Captured) -> None:
    with MockServer(log_requests=True) as server:
        server.sandbox("ci-bug")  # the app's error handler logs a bug with its traceback, in the request's context
        app = server.sandboxes.registry.get("ci-bug").app

        @app.get("/cxrestapi/auth/_boom")
        def boom() -> Any:
            raise RuntimeError("a bug")

        response = requests.get(server.base_url + "/sandbox/ci-bug/cxrestapi/auth/_boom", timeout=10)
        assert response.status_code == 500
    lines = [line for line in captured.getvalue().splitlines() if " ERROR " in line]
    assert any("unexpected error while handling GET" in line and "sandbox=ci-bug req=" in line for line in lines)
    assert any("_boom -> 500" in line for line in lines), captured.getvalue()


def test_json_lines_carry_sandbox_and_request_id_and_serve_ends_with_a_summary() -> None:
    proc, ready = start_serve("--log-format", "json", stderr=subprocess.PIPE)
    try:
        base = ready["base_url"]
        form = token_form(scope="access_control_api")
        for name in ("ci-1", "ci-2"):  # created as the pytest plugin does (a plain request does not create one)
            created = requests.post(f"{base}/sandbox/{name}/_mock/sandbox", json={}, timeout=10)
            assert created.status_code == 201, created.text
        for prefix in ("/sandbox/ci-1", "/sandbox/ci-2", ""):
            api = base + prefix + "/cxrestapi/auth"
            token = requests.post(api + "/identity/connect/token", data=form, timeout=10).json()["access_token"]
            requests.get(api + "/SMTPSettings", headers={"Authorization": f"Bearer {token}"}, timeout=10)
        with smtplib.SMTP("127.0.0.1", ready["smtp"], timeout=10) as smtp:
            smtp.sendmail("app@check.org", ["ops@check.org"], b"Subject: hi\r\n\r\nhello\r\n")
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=15)
    assert proc.returncode == 0, stderr
    lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    for line in lines:
        assert "sandbox" in line and "requestId" in line, line
    gets = [line for line in lines if line.get("operationId") == "getAllSmtpSettings"]
    assert [line["sandbox"] for line in gets] == ["ci-1", "ci-2", None]
    assert [line["journalId"] for line in gets] == [2, 2, 2]  # token, then the list, in each sandbox
    assert len({line["requestId"] for line in gets}) == 3
    assert gets[0]["path"] == "/sandbox/ci-1/cxrestapi/auth/SMTPSettings"
    summary = lines[-1]
    assert summary["message"].startswith("cxmock stopped: 6 request(s), 2 sandbox(es) used, 1 mail(s) captured")
    # each GET without Accept (version-missing) nor cxOrigin (cxorigin-missing): both info since #22
    assert summary["summary"]["violations"] == {"error": 0, "warning": 0, "info": 6}
