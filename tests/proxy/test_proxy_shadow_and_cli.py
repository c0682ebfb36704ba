"""``cxmock proxy --shadow`` (the in-process mock answers beside the service, never to the client) and the
``cxmock proxy`` command itself (a subprocess in front of a ``cxmock serve`` subprocess), with ``cxmock report``."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from mockserver.config import Config
from mockserver.proxy import ProxyServer, UpstreamOptions
from tests.proxy.upstreams import Served, login, start_cxmock

RECORD = {
    "host": "smtp.example.org",
    "port": 587,
    "encryptionType": "Tls",
    "fromAddress": "a@example.org",
    "username": "u",
    "password": "p",
}


#: each test starts cxmock processes (serve, verify, record or proxy): the full suite only
pytestmark = pytest.mark.slow


def _flow(api_url: str) -> None:
    """What a client does: log in, list, create, read, update, testconnection, delete, read again, profile."""
    headers = {"Authorization": f"Bearer {login(api_url)}", "Accept": "application/json;v=1.0", "cxOrigin": "t"}
    session = requests.Session()
    try:
        assert session.get(api_url + "/SMTPSettings", headers=headers, timeout=10).status_code == 200
        created = session.post(api_url + "/SMTPSettings", json=RECORD, headers=headers, timeout=10)
        assert created.status_code == 201
        item = api_url + "/SMTPSettings/" + created.headers["Location"].rsplit("/", 1)[1]
        assert session.get(item, headers=headers, timeout=10).status_code == 200
        assert session.put(item, json={**RECORD, "port": 25}, headers=headers, timeout=10).status_code == 204
        test = {**RECORD, "recieverEmail": "r@example.org"}
        session.post(api_url + "/SMTPSettings/testconnection", json=test, headers=headers, timeout=20).close()
        assert session.delete(item, headers=headers, timeout=10).status_code == 204
        assert session.get(item, headers=headers, timeout=10).status_code == 404
        assert session.get(api_url + "/MyProfile", headers=headers, timeout=10).status_code == 200
        assert session.get(api_url + "/SMTPSettings", timeout=10).status_code == 401
    finally:
        session.close()


def _drift(base_url: str, kind: str = "shadow") -> list[dict[str, Any]]:
    with requests.get(base_url + f"/_mock/drift?kind={kind}", timeout=10) as response:
        records: list[dict[str, Any]] = response.json()
        return records


def test_shadow_agrees_with_a_plain_serve_over_a_whole_flow(upstream: Served) -> None:
    with ProxyServer(UpstreamOptions(upstream.base_url), Config(), shadow=True) as proxy:
        _flow(proxy.api_url)
        assert _drift(proxy.base_url) == []
        assert proxy.shadow is not None and len(proxy.shadow.state.journal) >= 8  # it did answer


def test_shadow_lists_where_the_service_answers_otherwise_and_the_client_gets_the_service(
    serve_upstream: Callable[..., Served], tmp_path: Path
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        yaml.safe_dump(
            [
                {
                    "name": "no-location",
                    "match": {"operationId": "createSmtpSettings"},
                    "action": {"type": "status", "status": 201, "body": ""},
                },
                {
                    "name": "old-profile",
                    "match": {"operationId": "getMyProfile"},
                    "action": {"type": "status", "status": 200, "body": {"id": "1", "userName": "admin", "roles": []}},
                },
            ]
        )
    )
    served = serve_upstream("--faults", str(rules))
    with ProxyServer(UpstreamOptions(served.base_url), Config(), shadow=True) as proxy:
        token = login(proxy.api_url)
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json;v=1.0"}
        with requests.get(proxy.api_url + "/MyProfile", headers=headers, timeout=10) as profile:
            assert profile.json() == {"id": "1", "userName": "admin", "roles": []}  # the service's, not the mock's
        with requests.post(proxy.api_url + "/SMTPSettings", json=RECORD, headers=headers, timeout=10) as created:
            assert created.status_code == 201 and "Location" not in created.headers
        messages = {(r["operationId"], r["message"]) for r in _drift(proxy.base_url)}
    assert ("getMyProfile", "body: members only the service sends: roles") in messages
    assert ("getMyProfile", "body.id: the service sent string, the mock integer") in messages
    assert ("createSmtpSettings", "header Location: sent by the mock, not by the service") in messages
    assert any(op == "getMyProfile" and "members only the mock sends: firstName" in m for op, m in messages)


def test_cxmock_proxy_command_forwards_and_report_shows_the_drift(upstream: Served, tmp_path: Path) -> None:
    with start_cxmock(tmp_path, "proxy", upstream.base_url, "--log-format", "json") as proxy:
        api = proxy.base_url + "/cxrestapi/auth"
        headers = {"Authorization": f"Bearer {login(api)}", "Accept": "application/json;v=1.0"}
        with (
            requests.get(api + "/SMTPSettings", headers=headers, timeout=10) as via,
            requests.get(upstream.base_url + "/cxrestapi/auth/SMTPSettings", headers=headers, timeout=10) as direct,
        ):
            assert (via.status_code, via.content) == (200, direct.content)
        report = subprocess.run(
            [sys.executable, "-m", "mockserver", "report", "--url", proxy.base_url, "--fail-on", "never"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert report.returncode == 0, report.stderr
        assert "Drift: 0 way(s)" in report.stdout and "none: every answer seen agrees" in report.stdout
        proxy.proc.send_signal(signal.SIGTERM)
        assert proxy.proc.wait(timeout=20) == 0
    log = proxy.output()
    assert '"operationId": "getAllSmtpSettings"' in log and '"status": 200' in log
    assert headers["Authorization"][7:] not in log  # the token, in no log line


def test_cxmock_proxy_refuses_a_bad_upstream_url(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mockserver", "proxy", "ftp://cx.example.com"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "the upstream must be an http:// or https:// URL" in result.stderr


def test_report_of_a_plain_mock_has_no_drift_section(upstream: Served) -> None:
    report = subprocess.run(
        [sys.executable, "-m", "mockserver", "report", "--url", upstream.base_url, "--fail-on", "never"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert report.returncode == 0 and "Drift" not in report.stdout
    with requests.get(upstream.base_url + "/_mock/drift", timeout=10) as response:
        assert response.status_code == 404
        assert "cxmock proxy UPSTREAM" in response.json()["message"]


def test_cxmock_proxy_warns_at_start_when_the_upstreams_certificate_does_not_verify(tmp_path: Path) -> None:
    import trustme

    from tests.proxy.upstreams import Recorder, tls_context

    with Recorder(tls=tls_context(trustme.CA())) as upstream:
        with start_cxmock(tmp_path, "proxy", upstream.url) as proxy:
            with requests.get(proxy.base_url + "/cxrestapi/auth/SMTPSettings", timeout=10) as response:
                assert response.status_code == 502
        assert upstream.received == []
    log = proxy.output()
    assert "the upstream cannot be reached now" in log and "--upstream-ca" in log
