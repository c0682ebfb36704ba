"""``cxmock verify`` and ``cxmock record`` against a second ``cxmock serve`` playing the user's Checkmarx."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest
import requests
import yaml

from tests.proxy.upstreams import Served, start_cxmock

ADMIN = ["--username", "admin", "--password", "admin"]
VIEWER = ["--viewer-username", "viewer", "--viewer-password", "viewer"]


#: each test starts cxmock processes (serve, verify, record or proxy): the full suite only
pytestmark = pytest.mark.slow


def cxmock(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": ":".join(sys.path)}
    return subprocess.run(
        [sys.executable, "-m", "mockserver", *args], capture_output=True, text=True, timeout=timeout, env=env
    )


def _operations(served: Served) -> list[tuple[str, str]]:
    with requests.get(served.base_url + "/_mock/requests", timeout=10) as response:
        return [(e["method"], e["operationId"]) for e in response.json()]


def test_verify_against_a_plain_serve_agrees_read_only_and_never_writes(upstream: Served, tmp_path: Path) -> None:
    requests.delete(upstream.base_url + "/_mock/requests", timeout=10).close()
    result = cxmock("verify", upstream.base_url, *ADMIN, "--json", str(tmp_path / "v.json"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "exit 0: the service and the mock agree on every step (read-only" in result.stdout
    methods = {method for method, _ in _operations(upstream)}
    assert methods == {"GET", "POST"}
    assert [op for method, op in _operations(upstream) if method == "POST"] == ["getToken"]
    report = json.loads((tmp_path / "v.json").read_text())
    assert report["exitCode"] == 0
    assert {s["step"]: s["verdict"] for s in report["steps"]}["createSmtpSettings"] == "skipped"


def test_verify_with_writes_and_a_viewer_agrees_and_cleans_up(upstream: Served, tmp_path: Path) -> None:
    with requests.get(upstream.base_url + "/_mock/seed", timeout=10) as before:
        records_before = before.json()
    result = cxmock("verify", upstream.base_url, *ADMIN, *VIEWER, "--allow-writes", "--junit", str(tmp_path / "v.xml"))
    assert result.returncode == 0, result.stdout + result.stderr
    for step in (
        "createSmtpSettings",
        "updateSmtpSettings",
        "testSmtpConnection",
        "deleteSmtpSettings",
        "getAllSmtpSettings (viewer: 403)",
    ):
        assert step in result.stdout
    suite = ET.parse(tmp_path / "v.xml").getroot()
    assert suite.get("failures") == "0" and suite.get("skipped") == "0" and int(suite.get("tests", 0)) >= 12
    assert "admin" not in (tmp_path / "v.xml").read_text().replace("admin@", "")
    with requests.get(upstream.base_url + "/_mock/seed", timeout=10) as after:
        assert after.json() == records_before  # the recognisable record was deleted again


def test_verify_against_a_service_that_answers_differently_exits_1_naming_the_step(
    serve_upstream: Callable[..., Served], tmp_path: Path
) -> None:
    rules = tmp_path / "differ.yaml"
    rules.write_text(
        yaml.safe_dump(
            [
                {
                    "name": "profile-without-teams",
                    "match": {"operationId": "getMyProfile"},
                    "action": {"type": "status", "status": 200, "body": {"id": 1, "userName": "admin"}},
                }
            ]
        )
    )
    served = serve_upstream("--faults", str(rules))
    result = cxmock("verify", served.base_url, *ADMIN, "--json", str(tmp_path / "v.json"))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "differ at getMyProfile" in result.stdout
    assert "getMyProfile: body: members only the mock sends: firstName" in result.stdout
    steps = {s["step"]: s for s in json.loads((tmp_path / "v.json").read_text())["steps"]}
    assert steps["getMyProfile"]["verdict"] == "differ"
    assert steps["getAllSmtpSettings"]["verdict"] == "agree"


def test_verify_names_a_status_difference(serve_upstream: Callable[..., Served]) -> None:
    served = serve_upstream("--faults", "flaky-5xx")
    result = cxmock("verify", served.base_url, *ADMIN)
    assert result.returncode == 1
    assert "getAllSmtpSettings: status: the service answered 503, the mock 200" in result.stdout


def test_verify_exits_2_when_the_upstream_is_down() -> None:
    result = cxmock("verify", "http://127.0.0.1:9", *ADMIN, "--upstream-connect-timeout", "2")
    assert result.returncode == 2
    assert "exit 2: cannot log in at http://127.0.0.1:9" in result.stdout
    assert "cannot reach the upstream" in result.stdout


def test_verify_exits_2_when_the_login_fails_saying_why(upstream: Served) -> None:
    result = cxmock("verify", upstream.base_url, "--username", "admin", "--password", "wrong-Pa55")
    assert result.returncode == 2
    assert "refused the login of 'admin': HTTP 400" in result.stdout
    assert "wrong-Pa55" not in result.stdout + result.stderr


def test_verify_takes_the_password_from_the_environment(upstream: Served) -> None:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": ":".join(sys.path), "CXMOCK_UPSTREAM_PASSWORD": "admin"}
    result = subprocess.run(
        [sys.executable, "-m", "mockserver", "verify", upstream.base_url, "--username", "admin"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_record_writes_a_seed_that_serve_loads_without_passwords(
    serve_upstream: Callable[..., Served], tmp_path: Path
) -> None:
    seed = tmp_path / "their.yaml"
    seed.write_text(
        yaml.safe_dump(
            [
                {
                    "id": 7,
                    "host": "mail.corp.example",
                    "port": 587,
                    "encryptionType": "Tls",
                    "fromAddress": "cx@corp.example",
                    "username": "cx",
                    "password": "their-Secret-1",
                },
                {
                    "id": 12,
                    "host": "relay.corp.example",
                    "port": 25,
                    "fromAddress": "cx2@corp.example",
                    "useDefaultCredentials": True,
                    "displayName": "Checkmarx",
                },
            ]
        )
    )
    served = serve_upstream("--seed", str(seed))
    out = tmp_path / "recorded.yaml"
    result = cxmock("record", served.base_url, *ADMIN, "--out", str(out))
    assert result.returncode == 0, result.stderr
    text = out.read_text()
    assert "their-Secret-1" not in text
    assert "password" not in yaml.safe_dump(yaml.safe_load(text))
    assert "# Passwords are omitted" in text
    with start_cxmock(tmp_path, "serve", "--quiet", "--seed", str(out)) as replay:
        with (
            requests.get(replay.base_url + "/_mock/seed", timeout=10) as mine,
            requests.get(served.base_url + "/_mock/seed", timeout=10) as theirs,
        ):
            assert mine.json() == theirs.json()
    assert yaml.safe_load(text)["profile"]["userName"] == "admin"


def test_record_exits_2_when_the_upstream_is_down(tmp_path: Path) -> None:
    result = cxmock("record", "http://127.0.0.1:9", *ADMIN, "--out", str(tmp_path / "x.yaml"))
    assert result.returncode == 2
    assert "cannot reach the upstream" in result.stderr
    assert not (tmp_path / "x.yaml").exists()


def test_testconnection_200_against_400_is_the_environment_not_a_difference(
    serve_upstream: Callable[..., Served], tmp_path: Path
) -> None:
    """A service that really connects to the record's host fails it (400); the mock's sink accepts (200)."""
    served = serve_upstream("--smtp-mode", "direct")
    result = cxmock("verify", served.base_url, *ADMIN, "--allow-writes", "--json", str(tmp_path / "v.json"))
    assert result.returncode == 0, result.stdout + result.stderr
    steps = {s["step"]: s for s in json.loads((tmp_path / "v.json").read_text())["steps"]}
    step = steps["testSmtpConnection"]
    assert (step["verdict"], step["service"]["status"], step["mock"]["status"]) == ("environment", 400, 200)
    assert "whether an SMTP server is reachable" in result.stdout


def test_upstream_insecure_warns() -> None:
    result = cxmock("record", "https://127.0.0.1:9", *ADMIN, "--out", "/nonexistent/x.yaml", "--upstream-insecure")
    assert result.returncode == 2
    assert "--upstream-insecure: the upstream's TLS certificate is not verified" in result.stderr
