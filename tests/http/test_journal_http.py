"""The request journal and the contract-lint as an integrator meets them (real sockets)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import pytest
import requests

from mockserver.errors import AssertionHelperError
from mockserver.runtime.server import MockServer

SECRET_PW = "Pw-9f3c1e77-distinctive"
BODY = {
    "host": "smtp.example.org",
    "port": 587,
    "encryptionType": "Tls",
    "fromAddress": "noreply@check.org",
    "useDefaultCredentials": "false",
    "username": "mailer",
    "password": SECRET_PW,
    "colour": "blue",
}


@pytest.fixture
def server() -> Iterator[MockServer]:
    with MockServer() as srv:
        yield srv


def sloppy_create(server: MockServer, body: dict[str, object] = BODY) -> requests.Response:
    token = server.token()
    return requests.post(
        server.api_url + "/SMTPSettings",
        data=json.dumps(body),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        timeout=10,
    )


def test_sloppy_client_gets_201_and_three_violations(server: MockServer) -> None:
    response = sloppy_create(server)
    assert response.status_code == 201
    (entry,) = server.requests(operation_id="createSmtpSettings")
    codes = {v.code for v in entry.violations}
    assert {"version-missing", "unknown-member", "coerced-boolean"} <= codes
    assert entry.body["password"] == "***"
    assert SECRET_PW not in json.dumps(entry.to_dict())
    # the admin API shows the same
    journal = requests.get(
        server.base_url + "/_mock/requests", params={"operationId": "createSmtpSettings"}, timeout=10
    )
    assert journal.status_code == 200
    assert SECRET_PW not in journal.text and server.token()[-8:] not in journal.text
    assert {v["code"] for v in journal.json()[0]["violations"]} == codes


def test_strict_server_refuses_the_unknown_member() -> None:
    with MockServer(strict=True) as server:
        response = sloppy_create(server)
        assert response.status_code == 400
        assert "colour" in response.json()["message"]


def test_misspelt_receiver_email_says_did_you_mean(server: MockServer) -> None:
    for typo in ("recieverEmial", "RecieverEmail2"):
        body = {
            "host": "localhost",
            "port": 25,
            "encryptionType": "None",
            "fromAddress": "a@check.org",
            "useDefaultCredentials": True,
            typo: "b@check.org",
        }
        response = requests.post(
            server.api_url + "/SMTPSettings/testconnection",
            json=body,
            headers={**server.auth_headers(), "Content-Type": "application/json;v=1.0"},
            timeout=10,
        )
        assert response.status_code == 400
        details = response.json()["message"]
        assert "recieverEmail is required" in details
        assert f"did you mean 'recieverEmail' instead of \"{typo}\"" in details


def test_assert_called_failure_shows_closest_calls(server: MockServer) -> None:
    sloppy_create(server)
    server.assert_called("createSmtpSettings", times=1, status=201)
    with pytest.raises(AssertionHelperError) as info:
        server.assert_called("createSmtpSettings", status=400)
    text = str(info.value)
    assert "createSmtpSettings" in text and "POST /cxrestapi/auth/SMTPSettings" in text and "201" in text


def test_assert_no_violations_failure_lists_requests(server: MockServer) -> None:
    requests.get(server.api_url + "/SMTPSettings", headers=server.auth_headers() | {"cxOrigin": "t"}, timeout=10)
    server.assert_no_violations()  # a well-behaved call
    sloppy_create(server)
    with pytest.raises(AssertionHelperError) as info:
        server.assert_no_violations(min_severity="info")  # an unknown member, ignored as the service does, is info
    text = str(info.value)
    assert "unknown-member" in text and "POST /cxrestapi/auth/SMTPSettings" in text and "colour" in text


def test_violations_summary_and_junit_report(server: MockServer) -> None:
    sloppy_create(server)
    requests.post(
        server.api_url + "/SMTPSettings",
        data="x",
        headers={**server.auth_headers(), "Content-Type": "text/plain"},
        timeout=10,
    )
    summary = requests.get(server.base_url + "/_mock/violations", timeout=10).json()
    by_code = {row["code"]: row for row in summary}
    assert by_code["media-type-wrong"]["severity"] == "error"
    assert by_code["unknown-member"]["count"] == 1
    junit = requests.get(server.base_url + "/_mock/violations", params={"format": "junit"}, timeout=10)
    root = ET.fromstring(junit.text)
    assert root.iter("failure") is not None and any(True for _ in root.iter("failure"))
    text = requests.get(server.base_url + "/_mock/violations", params={"format": "text"}, timeout=10).text
    assert "media-type-wrong" in text


def test_journal_stays_bounded() -> None:
    with MockServer(journal_limit=50) as server:
        client = server.app.test_client()
        headers = server.auth_headers()
        for _ in range(500):
            client.get("/cxrestapi/auth/SMTPSettings", headers=headers)
        assert len(server.requests()) == 50
        assert server.state.journal.total_recorded == 500


def test_reset_clears_the_journal(server: MockServer) -> None:
    sloppy_create(server)
    server.reset()
    assert server.requests() == []
    assert requests.delete(server.base_url + "/_mock/requests", timeout=10).status_code == 204
