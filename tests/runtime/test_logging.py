"""What the log of ``cxmock serve`` tells a person debugging a red CI job from the container log alone (#16 item 12):
each request line has the request id (as sent in ``X-Cxmock-Request-Id``), the faults that fired, the contract-lint
codes and the 4xx reason; SMTP sink activity is logged; JSON ``time`` is ISO 8601 with a zone; the start-up probe
leaves no ``GET /_mock/health -> 401`` line behind ``--admin-token``."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
from datetime import datetime
from typing import Any

import pytest
import requests

from mockserver.runtime.server import MockServer

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

ADMIN = {"X-Cxmock-Admin-Token": "adm-16"}
V1 = "application/json;v=1.0"


def _testconnection_body(**extra: Any) -> dict[str, Any]:
    # both spellings of the recipient: the service's (recieverEmail) and the documentation page's
    return {
        "host": "smtp.example.org",
        "port": 587,
        "encryptionType": "Tls",
        "fromAddress": "noreply@check.org",
        "recieverEmail": "ops@check.org",
        "receiverEmail": "ops@check.org",
        **extra,
    }


def _serve_and_exercise() -> list[dict[str, Any]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CXMOCK_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "mockserver", "serve", "--port", "0", "--smtp-port", "0", "--smtps-port", "0"]
        + ["--ready-json", "--quiet", "--log-format", "json", "--admin-token", "adm-16", "--faults", "flaky-5xx"]
        + ["--smtp-require-auth"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env=env,
        text=True,
    )
    try:
        assert proc.stdout is not None
        ready = json.loads(proc.stdout.readline())
        api = ready["api_url"]
        with requests.Session() as http:
            form = {
                "grant_type": "password",
                "username": "admin",
                "password": "admin",
                "scope": "access_control_api",
                "client_id": "resource_owner_client",
                "client_secret": "014DF517-39D1-4453-B7B3-9930C563627C",
            }
            token = http.post(api + "/identity/connect/token", data=form, timeout=10).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}", "Accept": V1, "Content-Type": V1, "cxOrigin": "logs"}
            faulted = http.get(api + "/SMTPSettings", headers=headers, timeout=10)
            http.get(api + "/SMTPSettings", headers=headers, timeout=10)  # the preset's second 503
            bad = http.post(
                api + "/SMTPSettings",
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
                json={"host": "a.example.org", "port": 25, "encryptionType": "None", "fromAddr": "a@check.org"},
                timeout=10,
            )
            # without credentials the sink (--smtp-require-auth) refuses MAIL FROM with 530
            http.post(
                api + "/SMTPSettings/testconnection",
                headers=headers,
                json=_testconnection_body(useDefaultCredentials=True),
                timeout=30,
            )
            ok = http.post(
                api + "/SMTPSettings/testconnection",
                headers=headers,
                json=_testconnection_body(useDefaultCredentials=False, username="mailer", password="pw-16"),
                timeout=30,
            )
            assert ok.status_code == 200, ok.text
            ids = (faulted.headers["X-Cxmock-Request-Id"], bad.headers["X-Cxmock-Request-Id"])
            health = http.get(ready["base_url"] + "/_mock/health", headers=ADMIN, timeout=10)
            assert health.status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=15)
    lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    assert lines, stderr
    return [*lines, {"ids": ids}]


@pytest.fixture(scope="module")
def log_lines() -> list[dict[str, Any]]:
    return _serve_and_exercise()


def test_json_time_is_iso_8601_with_a_zone(log_lines: list[dict[str, Any]]) -> None:
    for line in log_lines[:-1]:
        moment = datetime.fromisoformat(line["time"])
        assert moment.tzinfo is not None and moment.utcoffset() is not None, line["time"]
        assert "T" in line["time"]


def test_request_lines_carry_id_faults_violations_and_reason(log_lines: list[dict[str, Any]]) -> None:
    faulted_id, bad_id = log_lines[-1]["ids"]
    # journalId: the journal's per-sandbox number (X-Cxmock-Request-Id); requestId is unique in the server (#25)
    by_id = {str(line.get("journalId")): line for line in log_lines[:-1] if line.get("logger") == "cxmock.requests"}
    faulted = by_id[faulted_id]
    assert faulted["status"] == 503 and faulted["faults"] == ["flaky-5xx:status"]
    assert faulted["operationId"] == "getAllSmtpSettings" and faulted["violations"] == []
    assert "injected fault" in faulted["reason"]
    bad = by_id[bad_id]
    assert bad["status"] == 400 and bad["method"] == "POST"
    assert "fromAddress is required; did you mean 'fromAddress' instead of" in bad["reason"]
    assert "version-missing" in bad["violations"] and "cxorigin-missing" in bad["violations"]
    assert "pw-16" not in json.dumps(log_lines)  # the SMTP password never reaches a log line


def test_the_start_up_probe_is_not_logged_behind_an_admin_token(log_lines: list[dict[str, Any]]) -> None:
    health = [line for line in log_lines[:-1] if line.get("path") == "/_mock/health"]
    assert [line["status"] for line in health] == [200]  # only the test's own, authorised call


def test_smtp_sink_activity_is_logged(log_lines: list[dict[str, Any]]) -> None:
    smtp = [line["message"] for line in log_lines[:-1] if line.get("logger") == "cxmock.smtp"]
    text = "\n".join(smtp)
    assert any(m.startswith("SMTP session smtp ") and m.endswith(": connected") for m in smtp), text
    assert any(m.endswith(": ended") for m in smtp), text
    assert any(": refused: 530 5.7.0 Authentication required" in m for m in smtp), text
    assert any("AUTH PLAIN as 'mailer' accepted" in m or "AUTH LOGIN as 'mailer' accepted" in m for m in smtp), text
    assert any("captured mail #1 from noreply@check.org to ops@check.org (TLSv1." in m for m in smtp), text
    assert any("AUTH as mailer" in m for m in smtp), text


def test_text_request_line_has_the_same_fields(caplog: pytest.LogCaptureFixture) -> None:
    with MockServer(log_requests=True, faults=("flaky-5xx",)) as server:
        with caplog.at_level(logging.INFO, logger="cxmock.requests"):
            ids = [
                requests.get(server.api_url + "/SMTPSettings", headers=server.auth_headers(), timeout=10).headers[
                    "X-Cxmock-Request-Id"
                ]
                for _ in range(3)
            ]
    lines = [r.getMessage() for r in caplog.records if r.name == "cxmock.requests" and "SMTPSettings" in r.getMessage()]
    assert lines[0].startswith("GET /cxrestapi/auth/SMTPSettings -> 503 ")
    assert f' getAllSmtpSettings #{ids[0]} faults=flaky-5xx:status reason="injected fault flaky-5xx' in lines[0]
    assert lines[2].startswith("GET /cxrestapi/auth/SMTPSettings -> 200 ")
    assert lines[2].endswith(f" getAllSmtpSettings #{ids[2]} violations=cxorigin-missing")


class _StuckStream:
    """A log stream nobody reads (a paused terminal, a stuck pipe): ``write`` blocks until released."""

    def __init__(self) -> None:
        import threading

        self.released = threading.Event()
        self.text: list[str] = []

    def write(self, text: str) -> int:
        self.released.wait(60)
        self.text.append(text)
        return len(text)

    def flush(self) -> None:
        pass


def test_a_log_stream_nobody_reads_does_not_stop_the_server_and_dropped_lines_are_counted() -> None:
    """``cxmock serve``'s log goes through a bounded queue and a writer thread (runner.LogSpool): with the stream
    stuck, requests (those answered on the event loop included) are still answered; the lines beyond the queue are
    dropped, and a line says how many once the stream moves again."""
    from mockserver.runtime.runner import LogSpool, _TextFormatter

    stream = _StuckStream()
    target: logging.StreamHandler[Any] = logging.StreamHandler(stream)
    target.setFormatter(_TextFormatter("%(levelname)s %(name)s: %(message)s"))
    spool = LogSpool(target, size=5, timeout=10)
    logger = logging.getLogger("cxmock")
    saved = logger.level
    logger.addHandler(spool)
    logger.setLevel(logging.INFO)
    try:
        with MockServer(log_requests=True) as server:
            headers = server.auth_headers()
            for _ in range(20):  # more lines than the queue holds; the writer is stuck on the first
                answer = requests.get(server.api_url + "/SMTPSettings", headers=headers, timeout=10)
                assert answer.status_code == 200
        # released once nothing logs any more (the server's stop logs too): one line then counts every drop
        stream.released.set()
    finally:
        logger.removeHandler(spool)
        logger.setLevel(saved)
        stream.released.set()
        spool.close()  # writes what is queued
    text = "".join(stream.text)
    assert "GET /cxrestapi/auth/SMTPSettings -> 200" in text
    # a line says how many were dropped each time the writer gets through (the writer's batches are timed, so the
    # drops before its first, stuck, write may have a line of their own)
    dropped = [line for line in text.splitlines() if "log line(s) dropped" in line]
    assert 1 <= len(dropped) <= 2 and all(line.startswith("WARNING cxmock:") for line in dropped)
    count = sum(int(line.split(" log line(s)")[0].rsplit(" ", 1)[1]) for line in dropped)
    written = text.count("GET /cxrestapi/auth/SMTPSettings -> 200")
    assert count > 0 and written + count >= 20  # every line is written or counted
