"""Imitate, don't judge (issue #22): what the service takes is taken and linted; ``--strict`` keeps the old refusals.

Each case is a body the service's swagger allows (``host``/``fromAddress`` plain strings, no pattern or length;
``username``/``password``/``displayName`` nullable strings; Json.NET's conversions) that cxmock refused before: it is
stored now, GET returns it as sent, the journal carries the contract-lint code at its severity, and the same request
to a ``--strict`` server is still a 400. testconnection still needs a host it can connect to and addresses it can
send to, as the service's SMTP client does.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import requests
from flask import Flask

from mockserver.core.contract import JSON_V1
from mockserver.core.state import State
from mockserver.runtime.server import MockServer

TIMEOUT = 30
LIST = "/cxrestapi/auth/SMTPSettings"
BODY: dict[str, Any] = {
    "host": "smtp.example.org",
    "port": 587,
    "encryptionType": "Tls",
    "fromAddress": "noreply@example.org",
    "useDefaultCredentials": False,
    "username": "mailer",
    "password": "imitate-Secret-1",
}

#: (change, the member GET returns it in and its value (None: unchanged), lint code, severity)
ACCEPTED: list[tuple[str, dict[str, Any], tuple[str, Any] | None, str, str]] = [
    (
        "underscore-host",
        {"host": "smtp_relay.example.org"},
        ("host", "smtp_relay.example.org"),
        "host-invalid",
        "warning",
    ),
    ("idn-host", {"host": "smtp.bücher.example"}, ("host", "smtp.bücher.example"), "host-idn", "info"),
    ("placeholder-host", {"host": "***"}, ("host", "***"), "host-invalid", "warning"),
    ("empty-host", {"host": ""}, ("host", ""), "host-invalid", "warning"),
    ("host-with-scheme", {"host": "smtp://x.org"}, ("host", "smtp://x.org"), "host-invalid", "warning"),
    ("long-host", {"host": "a" * 300}, ("host", "a" * 300), "host-invalid", "warning"),
    (
        "display-name-sender",
        {"fromAddress": "Checkmarx <noreply@check.org>"},
        ("fromAddress", "Checkmarx <noreply@check.org>"),
        "address-display-name",
        "info",
    ),
    ("quoted-local-part", {"fromAddress": '"john doe"@example.org'}, None, "address-quoted", "info"),
    ("non-ascii-local-part", {"fromAddress": "jöhn@example.org"}, None, "address-non-ascii", "warning"),
    ("placeholder-sender", {"fromAddress": "***"}, ("fromAddress", "***"), "address-invalid", "warning"),
    ("empty-username", {"username": ""}, ("username", ""), "credentials-missing", "warning"),
    ("long-username", {"username": "u" * 300}, ("username", "u" * 300), "", ""),
    ("long-display-name", {"displayName": "d" * 300}, ("displayName", "d" * 300), "", ""),
    ("crlf-display-name", {"displayName": "a\r\nBcc: x@y.org"}, None, "value-unsendable", "warning"),
    ("long-password", {"password": "p" * 300}, None, "", ""),
    ("port-as-string", {"port": "2525"}, ("port", 2525), "coerced-number", "info"),
    ("number-as-boolean", {"useDefaultCredentials": 1}, ("useDefaultCredentials", True), "coerced-boolean", "info"),
    ("member-in-another-case", {"HOST": "other.example.org"}, ("host", "other.example.org"), "member-case", "info"),
]


def admin_token(state: State) -> str:
    form = {
        "grant_type": "password",
        "username": "admin",
        "password": "admin",
        "scope": "access_control_api",
        "client_id": "resource_owner_client",
        "client_secret": state.config.client_secret,
    }
    token: str = state.identity.issue(form)["access_token"]
    return token


def body_with(change: dict[str, Any]) -> dict[str, Any]:
    body = {**BODY, **change}
    if "HOST" in change:
        del body["host"]
    return body


@pytest.mark.parametrize(
    ("change", "returned", "code", "severity"), [pytest.param(*case[1:], id=case[0]) for case in ACCEPTED]
)
def test_what_the_service_takes_is_stored_and_linted_and_strict_refuses_it(
    make_app: Callable[..., tuple[State, Flask]],
    change: dict[str, Any],
    returned: tuple[str, Any] | None,
    code: str,
    severity: str,
) -> None:
    state, app = make_app()
    headers = {"Authorization": f"Bearer {admin_token(state)}", "Content-Type": JSON_V1, "Accept": JSON_V1}
    with app.test_client() as client:
        created = client.post(LIST, headers=headers, data=json.dumps(body_with(change)))
        assert created.status_code == 201, created.get_data(as_text=True)
        record = client.get(created.headers["Location"], headers=headers).get_json()
        if returned is not None:
            assert record[returned[0]] == returned[1]
        entry = state.journal.entries(operation_id="createSmtpSettings")[-1]
        found = {(v.code, v.severity) for v in entry.violations}
        if code:
            assert (code, severity) in found, found
        else:
            assert not [v for v in entry.violations if v.code != "cxorigin-missing"], found
        updated = client.put(created.headers["Location"], headers=headers, data=json.dumps(body_with(change)))
        assert updated.status_code == 204

    strict_state, strict_app = make_app(strict=True)
    strict_headers = {**headers, "Authorization": f"Bearer {admin_token(strict_state)}"}
    with strict_app.test_client() as client:
        refused = client.post(LIST, headers=strict_headers, data=json.dumps(body_with(change)))
        assert refused.status_code == 400, refused.get_data(as_text=True)
        assert set(refused.get_json()) == {"message"}
    assert len(strict_state.settings) == 1  # only the seed


def test_members_bind_in_any_case_and_the_last_spelling_wins(
    make_app: Callable[..., tuple[State, Flask]],
) -> None:
    state, app = make_app()
    headers = {"Authorization": f"Bearer {admin_token(state)}", "Content-Type": "application/json"}
    body = {"Host": "a.example.org", "PORT": 25, "fromaddress": "a@example.org", "host": "b.example.org"}
    with app.test_client() as client:
        created = client.post(LIST, headers=headers, data=json.dumps(body))
        assert created.status_code == 201, created.get_data(as_text=True)
        record = client.get(created.headers["Location"], headers=headers).get_json()
    assert (record["host"], record["port"], record["fromAddress"]) == ("b.example.org", 25, "a@example.org")
    found = {v.code: v.severity for v in state.journal.entries(operation_id="createSmtpSettings")[-1].violations}
    assert found["member-case"] == "info" and found["member-duplicate"] == "warning"


def test_a_port_written_as_a_float_is_read_and_linted_as_the_service_refusing_it(
    make_app: Callable[..., tuple[State, Flask]],
) -> None:
    """25.0 was accepted before #22; Json.NET (the service's reader, inference) refuses it for an Int32."""
    state, app = make_app()
    headers = {"Authorization": f"Bearer {admin_token(state)}", "Content-Type": JSON_V1}
    with app.test_client() as client:
        created = client.post(LIST, headers=headers, data=json.dumps({**BODY, "port": 25.0}))
    assert created.status_code == 201
    (lint,) = [v for v in state.journal.entries()[-1].violations if v.code == "integer-as-float"]
    assert lint.severity == "error" and "send 25" in lint.message


@pytest.mark.parametrize(
    ("change", "member", "words"),
    [
        ({"host": "***"}, "host", "fails at connect"),
        ({"host": "smtp.example.org:25"}, "host", "fails at connect"),
        ({"fromAddress": "***"}, "fromAddress", "fails before it connects"),
        ({"recieverEmail": "***"}, "recieverEmail", "fails before it connects"),
        ({"username": "a\nb"}, "username", "line breaks"),
    ],
)
def test_testconnection_refuses_what_no_smtp_session_can_use(
    make_app: Callable[..., tuple[State, Flask]], change: dict[str, Any], member: str, words: str
) -> None:
    state, app = make_app()
    headers = {"Authorization": f"Bearer {admin_token(state)}", "Content-Type": JSON_V1}
    body = {**BODY, "recieverEmail": "admin@example.org", **change}
    with app.test_client() as client:
        response = client.post(LIST + "/testconnection", headers=headers, data=json.dumps(body))
    assert response.status_code == 400
    message = response.get_json()["message"]
    assert member in message and words in message, message


def test_testconnection_sends_from_a_display_name_sender_and_to_an_underscore_host(server: MockServer) -> None:
    body = {
        **BODY,
        "host": "smtp_relay.example.org",
        "fromAddress": "Checkmarx <noreply@check.org>",
        "recieverEmail": "Ops Team <ops@example.org>",
        "encryptionType": "None",
    }
    headers = {**server.auth_headers(), "Content-Type": "application/json"}
    response = requests.post(
        server.api_url + "/SMTPSettings/testconnection", json=body, headers=headers, timeout=TIMEOUT
    )
    assert response.status_code == 200, response.text
    (mail,) = server.sink.wait_for(count=1, timeout=10)
    assert mail.mail_from == "noreply@check.org" and mail.rcpt_tos == ["ops@example.org"]
    assert mail.from_ is not None and "Checkmarx" in mail.from_ and "noreply@check.org" in mail.from_
    codes = {v.code for v in server.requests(operation_id="testSmtpConnection")[-1].violations}
    assert {"host-invalid", "address-display-name"} <= codes


@pytest.mark.parametrize("accept", ["text/json", "text/json;v=1.0", "application/problem+json", "text/*"])
def test_accept_text_json_is_served(make_app: Callable[..., tuple[State, Flask]], accept: str) -> None:
    """ASP.NET's JSON output formatter writes text/json and application/*+json too (``--strict``: 406)."""
    state, app = make_app()
    headers = {"Authorization": f"Bearer {admin_token(state)}", "Accept": accept}
    with app.test_client() as client:
        response = client.get(LIST, headers=headers)
        assert response.status_code == 200 and isinstance(response.get_json(), list)
        assert client.get("/cxrestapi/auth/MyProfile", headers=headers).status_code == 200
    strict_state, strict_app = make_app(strict=True)
    with strict_app.test_client() as client:
        response = client.get(LIST, headers={**headers, "Authorization": f"Bearer {admin_token(strict_state)}"})
        assert response.status_code == 406


def test_ids_below_1_are_404_and_400_in_strict_mode(make_server: Callable[..., MockServer]) -> None:
    for strict, status in ((False, 404), (True, 400)):
        server = make_server(strict=strict)
        for raw in ("0", "-1"):
            url = f"{server.api_url}/SMTPSettings/{raw}"
            with requests.get(url, headers=server.auth_headers(), timeout=TIMEOUT) as response:
                assert response.status_code == status, (strict, raw)
                assert set(response.json()) == {"message"}
