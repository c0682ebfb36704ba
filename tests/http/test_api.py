"""The SMTP Settings operations through the Flask test client: CRUD semantics, validation, write-only password."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

from mockserver.core.contract import JSON_V1
from mockserver.core.state import State
from mockserver.runtime.server import MockServer

LIST = "/cxrestapi/auth/SMTPSettings"
TC = LIST + "/testconnection"
SECRET = "top-Secret-passw0rd"

BODY: dict[str, Any] = {
    "host": "smtp.example.org",
    "port": 587,
    "encryptionType": "Tls",
    "fromAddress": "noreply@example.org",
    "useDefaultCredentials": False,
    "username": "mailer@example.org",
    "password": SECRET,
    "displayName": "Checkmarx Mailer",
}


def post(client: FlaskClient, headers: dict[str, str], body: Any, path: str = LIST) -> Any:
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return client.post(path, headers=headers, data=data)


def put(client: FlaskClient, headers: dict[str, str], record_id: int, body: Any) -> Any:
    return client.put(f"{LIST}/{record_id}", headers=headers, data=json.dumps(body))


def create(client: FlaskClient, headers: dict[str, str], body: dict[str, Any] | None = None) -> int:
    response = post(client, headers, body or BODY)
    assert response.status_code == 201, response.get_data(as_text=True)
    return int(response.headers["Location"].rsplit("/", 1)[1])


def public(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != "password"}


def field_errors(state: State) -> dict[str, list[str]]:
    """The per-field errors of the last request, as the journal keeps them (the wire carries only ``message``)."""
    error = state.journal.entries()[-1].error or {}
    found: dict[str, list[str]] = error.get("errors", {})
    return found


# -- create / read -------------------------------------------------------------------------------------------


def test_create_then_get_by_location_returns_what_was_sent_minus_the_password(
    client: FlaskClient, headers: dict[str, str]
) -> None:
    response = post(client, headers, BODY)
    assert response.status_code == 201
    assert response.get_data() == b""
    location = response.headers["Location"]
    assert location.startswith("/cxrestapi/auth/SMTPSettings/")

    got = client.get(location, headers=headers)
    assert got.status_code == 200
    assert got.headers["Content-Type"] == JSON_V1
    record = got.get_json()
    assert isinstance(record, dict), "GET by id answers one object, not the vendor sample's array"
    new_id = record.pop("id")
    assert location.endswith(f"/{new_id}")
    assert record == public(BODY)


def test_list_returns_every_record_in_id_order(client: FlaskClient, headers: dict[str, str]) -> None:
    first = create(client, headers)
    second = create(client, headers, {**BODY, "host": "second.example.org"})
    response = client.get(LIST, headers=headers)
    assert response.status_code == 200
    records = response.get_json()
    assert [r["id"] for r in records] == sorted(r["id"] for r in records)
    assert {first, second} <= {r["id"] for r in records}
    assert all("password" not in r for r in records)


def test_default_seed_is_the_vendor_sample(client: FlaskClient, headers: dict[str, str]) -> None:
    records = client.get(LIST, headers=headers).get_json()
    assert records == [
        {
            "id": 1,
            "host": "pod55017.outlook.com",
            "port": 521,
            "encryptionType": "Tls",
            "fromAddress": "noreply@check.org",
            "useDefaultCredentials": False,
            "username": "noreply@check.org",
            "displayName": None,
        }
    ]


def test_default_credentials_record_has_null_username(client: FlaskClient, headers: dict[str, str]) -> None:
    body = {"host": "10.0.0.5", "port": 25, "encryptionType": "None", "fromAddress": "a@example.org"}
    record_id = create(client, headers, {**body, "useDefaultCredentials": True})
    record = client.get(f"{LIST}/{record_id}", headers=headers).get_json()
    assert record["useDefaultCredentials"] is True
    assert record["username"] is None


# -- update ----------------------------------------------------------------------------------------------------


def test_put_without_password_keeps_the_stored_one(
    client: FlaskClient, headers: dict[str, str], app_state: State
) -> None:
    record_id = create(client, headers)
    assert app_state.settings.get(record_id).password == SECRET
    changed = {**public(BODY), "host": "changed.example.org", "port": 2525}
    response = put(client, headers, record_id, changed)
    assert response.status_code == 204
    assert response.get_data() == b""
    assert app_state.settings.get(record_id).password == SECRET
    assert client.get(f"{LIST}/{record_id}", headers=headers).get_json() == {"id": record_id, **changed}


def test_put_with_null_password_keeps_it_and_a_new_one_replaces_it(
    client: FlaskClient, headers: dict[str, str], app_state: State
) -> None:
    record_id = create(client, headers)
    assert put(client, headers, record_id, {**BODY, "password": None}).status_code == 204
    assert app_state.settings.get(record_id).password == SECRET
    assert put(client, headers, record_id, {**BODY, "password": "rotated"}).status_code == 204
    assert app_state.settings.get(record_id).password == "rotated"


def test_put_replaces_the_whole_record(client: FlaskClient, headers: dict[str, str]) -> None:
    record_id = create(client, headers)
    replacement = {
        "host": "relay.example.org",
        "port": 465,
        "encryptionType": "ssl",
        "fromAddress": "other@example.org",
        "useDefaultCredentials": True,
    }
    assert put(client, headers, record_id, replacement).status_code == 204
    record = client.get(f"{LIST}/{record_id}", headers=headers).get_json()
    assert record == {**replacement, "id": record_id, "encryptionType": "Ssl", "username": None, "displayName": None}


def test_put_follows_the_create_rules(client: FlaskClient, headers: dict[str, str]) -> None:
    record_id = create(client, headers)
    response = put(client, headers, record_id, {**BODY, "port": 70000})
    assert response.status_code == 400
    assert "port" in response.get_json()["message"]
    without_from = {k: v for k, v in BODY.items() if k != "fromAddress"}
    response = put(client, headers, record_id, without_from)
    assert response.status_code == 400
    assert response.get_json() == {"message": "invalid SMTP settings: fromAddress is required"}


# -- delete and ids -----------------------------------------------------------------------------------------------


def test_delete_then_get_is_404(client: FlaskClient, headers: dict[str, str]) -> None:
    record_id = create(client, headers)
    response = client.delete(f"{LIST}/{record_id}", headers=headers)
    assert response.status_code == 204
    assert response.get_data() == b""
    for method in ("GET", "DELETE"):
        gone = client.open(f"{LIST}/{record_id}", method=method, headers=headers)
        assert gone.status_code == 404
        assert str(record_id) in gone.get_json()["message"]
    assert put(client, headers, record_id, BODY).status_code == 404


def test_ids_increase_and_are_never_reused(client: FlaskClient, headers: dict[str, str], app_state: State) -> None:
    first = create(client, headers)
    second = create(client, headers)
    assert second > first >= 1
    assert client.delete(f"{LIST}/{second}", headers=headers).status_code == 204
    third = create(client, headers)
    assert third > second
    app_state.reset()
    after_reset = create(client, headers)
    assert after_reset > third
    assert client.post("/_mock/reset").status_code == 200
    assert create(client, headers) > after_reset


def test_ids_never_reused_across_mock_server_reset(server: MockServer) -> None:
    headers = {**server.auth_headers(), "Content-Type": JSON_V1}
    with requests.post(server.api_url + "/SMTPSettings", headers=headers, data=json.dumps(BODY), timeout=10) as r:
        assert r.status_code == 201
        before = int(r.headers["Location"].rsplit("/", 1)[1])
    server.reset()
    assert before not in [rec.id for rec in server.state.settings.list()]
    with requests.post(server.api_url + "/SMTPSettings", headers=headers, data=json.dumps(BODY), timeout=10) as r:
        assert r.status_code == 201
        assert int(r.headers["Location"].rsplit("/", 1)[1]) > before
        assert r.headers["Location"].startswith(("/cxrestapi/auth/SMTPSettings/", server.api_url + "/SMTPSettings/"))


@pytest.mark.parametrize("raw", ["0", "-1", str(-(2**31))])
def test_id_an_int32_below_1_is_404_not_found(client: FlaskClient, headers: dict[str, str], raw: str) -> None:
    """Any Int32 reaches the service's action, which finds no record (issue #22; ``--strict``: 400)."""
    for method in ("GET", "DELETE"):
        response = client.open(f"{LIST}/{raw}", method=method, headers=headers)
        assert response.status_code == 404, (method, raw)
        assert f"SMTP settings with id {raw} were not found" in response.get_json()["message"]
    response = client.put(f"{LIST}/{raw}", headers=headers, data=json.dumps(BODY))
    assert response.status_code == 404


@pytest.mark.parametrize("raw", ["abc", "1.5", "1e3", " 1", "0x10", "%C2%B9", str(2**31), "9" * 30])
def test_id_that_is_no_int32_is_404_as_an_int_route_constraint(
    client: FlaskClient, headers: dict[str, str], raw: str
) -> None:
    for method in ("GET", "DELETE"):
        response = client.open(f"{LIST}/{raw}", method=method, headers=headers)
        assert response.status_code == 404, (method, raw)
        assert set(response.get_json()) == {"message"} and "Int32" in response.get_json()["message"]
    response = client.put(f"{LIST}/{raw}", headers=headers, data=json.dumps(BODY))
    assert response.status_code == 404


def test_the_largest_int32_id_is_looked_up(client: FlaskClient, headers: dict[str, str]) -> None:
    response = client.get(f"{LIST}/{2**31 - 1}", headers=headers)
    assert response.status_code == 404 and "were not found" in response.get_json()["message"]


# -- validation -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("port", 0),
        ("port", "abc"),
        ("port", 70000),
        ("encryptionType", "Starttls"),
        ("fromAddress", None),
        ("host", ["smtp.x.org"]),
    ],
)
def test_invalid_field_is_400_naming_the_field(
    client: FlaskClient, headers: dict[str, str], app_state: State, field: str, value: Any
) -> None:
    for path in (LIST, TC):
        body = {**BODY, field: value, "recieverEmail": "admin@example.org"}
        response = post(client, headers, body, path)
        assert response.status_code == 400
        payload = response.get_json()
        assert set(payload) == {"message"}
        assert field in payload["message"]
        assert list(field_errors(app_state)) == [field]
        assert all(isinstance(m, str) and m for m in field_errors(app_state)[field])


def test_every_problem_is_reported_at_once(client: FlaskClient, headers: dict[str, str], app_state: State) -> None:
    response = post(client, headers, {**BODY, "port": 0, "fromAddress": None, "encryptionType": "x"})
    assert response.status_code == 400
    message = response.get_json()["message"]
    assert all(name in message for name in ("port", "fromAddress", "encryptionType"))
    assert set(field_errors(app_state)) == {"port", "fromAddress", "encryptionType"}


def test_invalid_json_is_400(client: FlaskClient, headers: dict[str, str]) -> None:
    response = post(client, headers, b'{"host": ')
    assert response.status_code == 400
    assert "JSON" in response.get_json()["message"]


@pytest.mark.parametrize(("sent", "stored"), [("SSL", "Ssl"), ("tls", "Tls"), ("none", "None"), ("tLs", "Tls")])
def test_encryption_type_is_case_insensitive_and_stored_canonical(
    client: FlaskClient, headers: dict[str, str], app_state: State, sent: str, stored: str
) -> None:
    record_id = create(client, headers, {**BODY, "encryptionType": sent})
    assert app_state.settings.get(record_id).encryption_type == stored
    assert client.get(f"{LIST}/{record_id}", headers=headers).get_json()["encryptionType"] == stored


@pytest.mark.parametrize(("sent", "stored"), [("TRUE", True), ("true", True), ("False", False), (True, True)])
def test_use_default_credentials_accepts_string_booleans(
    client: FlaskClient, headers: dict[str, str], sent: Any, stored: bool
) -> None:
    record_id = create(client, headers, {**BODY, "useDefaultCredentials": sent})
    assert client.get(f"{LIST}/{record_id}", headers=headers).get_json()["useDefaultCredentials"] is stored


def test_a_record_without_credentials_is_stored_and_linted(
    client: FlaskClient, headers: dict[str, str], app_state: State
) -> None:
    """The service's model allows it: no 400, a contract-lint warning (credentials-missing) instead."""
    body = {"host": "mail.example.org", "port": 25, "encryptionType": "None", "fromAddress": "a@example.org"}
    assert post(client, headers, {**body, "useDefaultCredentials": "true"}).status_code == 201
    assert "credentials-missing" not in {v.code for v in app_state.journal.entries()[-1].violations}
    missing = post(client, headers, body)
    assert missing.status_code == 201
    (lint,) = [v for v in app_state.journal.entries()[-1].violations if v.code == "credentials-missing"]
    assert lint.severity == "warning" and "username and password are missing" in lint.message


def test_host_accepts_names_and_ip_literals(client: FlaskClient, headers: dict[str, str]) -> None:
    for host in ("localhost", "127.0.0.1", "mail-1.example.org", "::1", "smtp.example.org."):
        assert post(client, headers, {**BODY, "host": host}).status_code == 201, host


def test_unknown_members_are_ignored_by_default(client: FlaskClient, headers: dict[str, str], app_state: State) -> None:
    record_id = create(client, headers, {**BODY, "pasword": "typo", "extra": {"nested": [1, 2]}})
    record = client.get(f"{LIST}/{record_id}", headers=headers).get_json()
    assert "pasword" not in record and "extra" not in record
    assert app_state.settings.get(record_id).password == SECRET


def test_unknown_members_are_400_in_strict_mode(make_app: Callable[..., tuple[State, Flask]]) -> None:
    state, app = make_app(strict=True)
    token = state.identity.issue(
        {
            "grant_type": "password",
            "username": "admin",
            "password": "admin",
            "client_id": "resource_owner_client",
            "client_secret": state.config.client_secret,
        }
    )["access_token"]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": JSON_V1}
    with app.test_client() as client:
        response = post(client, headers, {**BODY, "hots": "x"})
        assert response.status_code == 400
        payload = response.get_json()
        assert 'member "hots" is not part of the contract (strict mode)' in payload["message"]
        assert "did you mean 'host'?" in payload["message"]
        assert post(client, headers, BODY).status_code == 201


def test_strict_mock_server_rejects_unknown_members_over_the_wire(make_server: Callable[..., MockServer]) -> None:
    server = make_server(strict=True, seed="none")
    headers = {**server.auth_headers(), "Content-Type": JSON_V1}
    url = server.api_url + "/SMTPSettings"
    with requests.post(url, headers=headers, data=json.dumps({**BODY, "unknown": 1}), timeout=10) as response:
        assert response.status_code == 400
        assert 'member "unknown" is not part of the contract' in response.json()["message"]
    assert len(server.state.settings) == 0


def test_cx_origin_header_is_accepted(client: FlaskClient, headers: dict[str, str]) -> None:
    response = client.get(LIST, headers={**headers, "cxOrigin": "cxmock-tests"})
    assert response.status_code == 200


# -- testconnection (validation only: the SMTP session belongs to tests/smtp/) ------------------------------------


def test_testconnection_requires_receiver_email(client: FlaskClient, headers: dict[str, str]) -> None:
    response = post(client, headers, BODY, TC)
    assert response.status_code == 400
    assert response.get_json() == {"message": "invalid testconnection request: recieverEmail is required"}


# -- the password is write-only -------------------------------------------------------------------------------------


def test_password_never_appears_in_any_response(client: FlaskClient, headers: dict[str, str]) -> None:
    responses = []
    first = post(client, headers, BODY)
    responses.append(first)
    record_id = int(first.headers["Location"].rsplit("/", 1)[1])
    responses.append(client.get(LIST, headers=headers))
    responses.append(client.get(f"{LIST}/{record_id}", headers=headers))
    responses.append(put(client, headers, record_id, {**BODY, "port": 0}))
    responses.append(put(client, headers, record_id, {**BODY, "password": 12345, "port": 0}))
    responses.append(post(client, headers, {**BODY, "password": [SECRET]}))
    responses.append(post(client, headers, {**BODY, "password": {"value": SECRET}}))
    responses.append(post(client, headers, {**BODY, "password": SECRET * 20}))
    responses.append(post(client, headers, {**BODY, "recieverEmail": "nope"}, TC))
    responses.append(client.get("/_mock/seed"))
    for response in responses:
        data = response.get_data(as_text=True)
        assert SECRET not in data, data
        assert "12345" not in data, data
        assert "vendor-sample-password" not in data
        assert all(SECRET not in value for value in response.headers.values())
