"""Versioning and media types: Accept negotiation (406), request media types (415), body size (413)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from mockserver.config import Config
from mockserver.core.contract import JSON_V1
from mockserver.core.state import State
from mockserver.http import create_app

LIST = "/cxrestapi/auth/SMTPSettings"
ONE = LIST + "/1"
TC = LIST + "/testconnection"
BODY: dict[str, Any] = {
    "host": "smtp.example.org",
    "port": 587,
    "encryptionType": "Tls",
    "fromAddress": "noreply@example.org",
    "useDefaultCredentials": True,
}
TC_BODY = {**BODY, "recieverEmail": "admin@example.org"}
BODY_OPERATIONS = [("POST", LIST, BODY), ("PUT", ONE, BODY), ("POST", TC, TC_BODY)]
BODY_IDS = ["create", "update", "testconnection"]


@pytest.fixture(scope="module")
def _app_pair() -> tuple[State, Flask]:
    """One app for the module (building one costs tens of ms): these tests only read, or write what none reads."""
    state = State.from_config(Config())
    app = create_app(state)
    app.testing = True
    return state, app


@pytest.fixture
def auth(admin_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {admin_token}"}


# -- Accept -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "accept",
    [
        None,
        JSON_V1,
        "application/json;v=1",
        "application/json; v=1.0",
        "application/json",
        "*/*",
        "application/*",
        "text/html, application/json;v=1.0;q=0.9",
        "application/json;v=2.0, application/json;v=1.0",
        "APPLICATION/JSON;V=1.0",
    ],
)
@pytest.mark.parametrize("path", [LIST, ONE])
def test_acceptable_versions_get_v1(client: FlaskClient, auth: dict[str, str], accept: str | None, path: str) -> None:
    headers = dict(auth)
    if accept is not None:
        headers["Accept"] = accept
    response = client.get(path, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Content-Type"] == JSON_V1


@pytest.mark.parametrize(
    "accept",
    [
        "application/json;v=2.0",
        "application/json;v=0.9",
        "application/json;v=2.0, */*;v=3",
        "text/html",
        "application/xml",
        "application/json;v=1.0;q=0",
    ],
)
@pytest.mark.parametrize("path", [LIST, ONE])
def test_unsupported_accept_is_406(client: FlaskClient, auth: dict[str, str], accept: str, path: str) -> None:
    response = client.get(path, headers={**auth, "Accept": accept})
    assert response.status_code == 406
    assert response.headers["Content-Type"] == JSON_V1
    payload = response.get_json()
    assert set(payload) == {"message"}
    assert "1.0" in payload["message"]


def test_version_2_error_names_the_version(client: FlaskClient, auth: dict[str, str]) -> None:
    response = client.get(LIST, headers={**auth, "Accept": "application/json;v=2.0"})
    assert "2.0" in response.get_json()["message"]


def test_406_does_not_hide_a_missing_token(client: FlaskClient) -> None:
    response = client.get(LIST, headers={"Accept": "application/json;v=2.0"})
    assert response.status_code == 401


def test_every_json_response_carries_the_versioned_media_type(client: FlaskClient, auth: dict[str, str]) -> None:
    responses = [
        client.get(LIST, headers=auth),
        client.get(ONE, headers=auth),
        client.get(LIST + "/999", headers=auth),
        client.get(LIST),
        client.get("/cxrestapi/auth/Nope", headers=auth),
        client.patch(LIST, headers=auth),
        client.post(LIST, headers={**auth, "Content-Type": JSON_V1}, data=b"{"),
    ]
    for response in responses:
        assert response.headers["Content-Type"] == JSON_V1, (response.status_code, response.headers)


# -- Content-Type ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [
        JSON_V1,
        "application/json",
        "application/json; charset=utf-8",
        "application/json;v=1",
        "Application/JSON;v=1.0",
        # ASP.NET's JSON input formatter: text/json and any application/*+json (the NSwag client's first type)
        "application/json-patch+json",
        "application/json-patch+json;v=1.0",
        "text/json",
        "text/json; charset=utf-8",
        "application/problem+json",
        "application/*+json",
    ],
)
@pytest.mark.parametrize(("method", "path", "body"), BODY_OPERATIONS, ids=BODY_IDS)
def test_json_media_types_are_accepted(
    client: FlaskClient, auth: dict[str, str], content_type: str, method: str, path: str, body: dict[str, Any]
) -> None:
    response = client.open(path, method=method, headers={**auth, "Content-Type": content_type}, data=json.dumps(body))
    # testconnection validates and then needs the SMTP part (not in this app): anything but 415 shows the type passed
    assert response.status_code != 415
    if path != TC:
        assert response.status_code in (201, 204), response.get_data(as_text=True)


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/json;v=2.0",
        "application/json;v=0",
        "application/xml",
        "application/x-www-form-urlencoded",
        "application/json-patch+json;v=2.0",
        "text/json;v=3",
        "application/+json",
        "text/plain+json",
        "multipart/form-data; boundary=x",
        None,
    ],
)
@pytest.mark.parametrize(("method", "path", "body"), BODY_OPERATIONS, ids=BODY_IDS)
def test_other_media_types_are_415(
    client: FlaskClient,
    auth: dict[str, str],
    app_state: State,
    content_type: str | None,
    method: str,
    path: str,
    body: dict[str, Any],
) -> None:
    headers = dict(auth)
    if content_type is not None:
        headers["Content-Type"] = content_type
    before = app_state.settings.list()
    response = client.open(path, method=method, headers=headers, data=json.dumps(body).encode())
    assert response.status_code == 415
    assert response.headers["Content-Type"] == JSON_V1
    payload = response.get_json()
    assert set(payload) == {"message"}
    assert "1.0" in payload["message"]  # says what to send instead
    assert app_state.settings.list() == before


# -- size -----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "body"), BODY_OPERATIONS, ids=BODY_IDS)
def test_100_kib_body_is_413(
    client: FlaskClient, auth: dict[str, str], method: str, path: str, body: dict[str, Any]
) -> None:
    big = json.dumps({**body, "padding": "x" * (100 * 1024)})
    response = client.open(path, method=method, headers={**auth, "Content-Type": JSON_V1}, data=big)
    assert response.status_code == 413
    payload = response.get_json()
    assert set(payload) == {"message"}
    assert "65536" in payload["message"]


def test_body_limit_is_configurable_and_inclusive(make_app: Callable[..., tuple[State, Flask]]) -> None:
    state, app = make_app(max_body=1024)
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
    raw = json.dumps(BODY)
    exact = raw + " " * (1024 - len(raw))
    with app.test_client() as client:
        assert client.post(LIST, headers=headers, data=exact).status_code == 201
        assert client.post(LIST, headers=headers, data=exact + " ").status_code == 413


def test_413_is_decided_before_the_body_is_parsed(client: FlaskClient, auth: dict[str, str]) -> None:
    response = client.post(LIST, headers={**auth, "Content-Type": JSON_V1}, data=b"{" * (100 * 1024))
    assert response.status_code == 413


def test_token_endpoint_refuses_huge_forms(client: FlaskClient) -> None:
    response = client.post(
        "/cxrestapi/auth/identity/connect/token",
        data={"grant_type": "password", "username": "a" * (100 * 1024)},
    )
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_request"


def test_invalid_json_is_400_not_415(client: FlaskClient, auth: dict[str, str]) -> None:
    response = client.post(LIST, headers={**auth, "Content-Type": JSON_V1}, data=b"{'single': 'quotes'}")
    assert response.status_code == 400
