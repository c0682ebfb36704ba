"""The CLI commands that talk to a running server (messages, faults, report), the ready line, a graceful SIGTERM
with a request in flight, and MockServer's start/stop hygiene."""

from __future__ import annotations

import json
import os
import signal
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from mockserver.cli import main
from mockserver.runtime.server import MockServer
from tests.support.api import token_form
from tests.support.serve import start_serve, stop


@pytest.fixture
def live() -> Iterator[MockServer]:
    with MockServer() as server:
        yield server


def cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_faults_command_adds_a_preset_lists_and_clears(live: MockServer) -> None:
    code, out = cli("faults", "--url", live.base_url, "--preset", "flaky-5xx")
    assert code == 0 and "flaky-5xx" in out
    url = live.api_url + "/SMTPSettings"
    assert requests.get(url, headers=live.auth_headers(), timeout=10).status_code == 503
    code, out = cli("faults", "--url", live.base_url, "--clear")
    assert code == 0
    assert requests.get(url, headers=live.auth_headers(), timeout=10).status_code == 200


def test_faults_command_adds_a_rule_file(live: MockServer, tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("- match: {method: GET}\n  action: {type: status, status: 418}\n  times: 1\n", encoding="utf-8")
    code, _ = cli("faults", "--url", live.base_url, "--add", str(rules))
    assert code == 0
    assert requests.get(live.api_url + "/SMTPSettings", headers=live.auth_headers(), timeout=10).status_code == 418


def test_faults_command_reports_an_invalid_rule(live: MockServer, tmp_path: Path) -> None:
    rules = tmp_path / "bad.yaml"
    rules.write_text("- match: {method: GET}\n  action: {type: status, status: 999}\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["faults", "--url", live.base_url, "--add", str(rules)])
    assert result.exit_code == 1
    assert "HTTP 400" in result.output and "status" in result.output


def test_messages_command_lists_waits_and_clears(live: MockServer) -> None:
    body = {
        "host": "smtp.example.org",
        "port": 25,
        "encryptionType": "None",
        "fromAddress": "noreply@check.org",
        "recieverEmail": "ops@check.org",
        "useDefaultCredentials": True,
    }
    headers = {**live.auth_headers(), "Content-Type": "application/json;v=1.0"}
    assert requests.post(live.api_url + "/SMTPSettings/testconnection", json=body, headers=headers, timeout=30).ok
    code, out = cli("messages", "--url", live.base_url, "--wait", "5", "--to", "ops@check.org")
    assert code == 0 and "noreply@check.org -> ops@check.org" in out and "1 message(s)" in out
    code, out = cli("messages", "--url", live.base_url, "--json")
    assert json.loads(out)[0]["rcptTos"] == ["ops@check.org"]
    code, out = cli("messages", "--url", live.base_url, "--clear")
    assert code == 0 and live.sink.messages == []


def test_report_command_junit_and_fail_on(live: MockServer, tmp_path: Path) -> None:
    body = {"host": "smtp.example.org", "port": 25, "fromAddress": "a@example.org"}
    headers = {"Authorization": f"Bearer {live.token()}"}
    requests.post(live.api_url + "/SMTPSettings", json=body, headers=headers, timeout=10)
    out_file = tmp_path / "lint.xml"
    code, _ = cli("report", "--url", live.base_url, "--format", "junit", "-o", str(out_file), "--fail-on", "warning")
    assert code == 1  # stored without credentials is a warning (the unversioned Accept is info since #22)
    root = ET.parse(out_file).getroot()
    assert "credentials-missing" in ET.tostring(root, encoding="unicode")
    code, out = cli("report", "--url", live.base_url, "--fail-on", "error")
    assert code == 0 and "credentials-missing" in out and "version-missing" in out


def test_commands_against_a_closed_port_fail_cleanly() -> None:
    result = CliRunner().invoke(main, ["messages", "--url", "http://127.0.0.1:9", "--timeout", "2"])
    assert result.exit_code == 1 and "cannot reach" in result.output


def test_admin_commands_send_the_admin_token() -> None:
    with MockServer(admin_token="adm-123") as server:
        denied = CliRunner().invoke(main, ["faults", "--url", server.base_url])
        assert denied.exit_code == 1 and "401" in denied.output
        code, _ = cli("faults", "--url", server.base_url, "--admin-token", "adm-123")
        assert code == 0


@pytest.mark.slow
def test_sigterm_lets_the_request_in_flight_finish(tmp_path: Path) -> None:
    """SIGTERM while a (delayed) request is being served: it completes with 200, the process exits 0."""
    proc, ready = start_serve("--seed", "none")  # the ready line: bound ports, once everything answers
    try:
        assert ready["ready"] and ready["http"] and ready["smtp"] and ready["smtps"]
        base = ready["base_url"]
        rule = {"match": {"method": "GET"}, "action": {"type": "delay", "ms": 1500}, "times": 1}
        assert requests.post(base + "/_mock/faults", json=rule, timeout=10).status_code == 201
        token_url = ready["api_url"] + "/identity/connect/token"
        token = requests.post(token_url, data=token_form(), timeout=10).json()["access_token"]
        results: list[int] = []
        started = threading.Event()

        def slow_request() -> None:
            started.set()
            response = requests.get(
                ready["api_url"] + "/SMTPSettings", headers={"Authorization": f"Bearer {token}"}, timeout=30
            )
            results.append(response.status_code)

        worker = threading.Thread(target=slow_request)
        worker.start()
        started.wait(timeout=10)
        # wait until the server has the request in hand: the journal cannot show it yet, but the fault counts it
        deadline_ok = False
        for _ in range(200):
            listing = requests.get(base + "/_mock/faults", timeout=10).json()
            rules = listing["rules"] if isinstance(listing, dict) else listing
            if rules and rules[0]["hits"] == 1:
                deadline_ok = True
                break
            threading.Event().wait(0.01)
        assert deadline_ok, "the delayed request never reached the server"
        proc.send_signal(signal.SIGTERM)
        worker.join(timeout=30)
        assert results == [200]
        assert proc.wait(timeout=5) == 0  # issue #6: exit 0 within 5 s of SIGTERM
    finally:
        stop(proc, signal.SIGKILL)


def _fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="needs /proc")
def test_start_stop_20_times_leaks_no_thread_or_descriptor() -> None:
    MockServer().stop()  # warm up: imports, lazily created module state
    threads, fds = threading.active_count(), _fd_count()
    for _ in range(20):
        with MockServer() as server:
            assert requests.get(server.base_url + "/_mock/health", timeout=10).status_code == 200
    assert threading.active_count() == threads
    assert _fd_count() == fds


@pytest.mark.parametrize(
    "args",
    [("messages",), ("report", "--format", "json"), ("faults",), ("check",)],
)
def test_a_mistyped_sandbox_in_a_read_only_call_fails_and_creates_nothing(
    live: MockServer, args: tuple[str, ...]
) -> None:
    """#25 row 10, #23: a read-only call at a sandbox that does not exist is an error, not a new empty sandbox."""
    code, output = cli(*args, "--url", live.base_url + "/sandbox/typo")
    assert code != 0
    assert "typo" in output or "404" in output
    assert len(live.sandboxes.registry) == 0
