"""Identity over HTTP: the token endpoint (every OAuth2 error), 401 and 403 on every operation, expiry (fake clock)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

from mockserver.config import DEFAULT_CLIENT_SECRET, Config
from mockserver.core.contract import JSON_V1
from mockserver.core.identity.identity import password_grant
from mockserver.core.state import State
from mockserver.http import create_app
from mockserver.runtime.server import MockServer

TOKEN = "/cxrestapi/auth/identity/connect/token"
LIST = "/cxrestapi/auth/SMTPSettings"
BODY = {
    "host": "smtp.example.org",
    "port": 25,
    "encryptionType": "None",
    "fromAddress": "a@example.org",
    "useDefaultCredentials": True,
}
OPERATIONS = [
    ("GET", LIST, None),
    ("POST", LIST, BODY),
    ("GET", LIST + "/1", None),
    ("PUT", LIST + "/1", BODY),
    ("DELETE", LIST + "/1", None),
    ("POST", LIST + "/testconnection", {**BODY, "recieverEmail": "b@example.org"}),
]
OP_IDS = [f"{m} {p}" for m, p, _ in OPERATIONS]


@pytest.fixture(scope="module")
def _app_pair() -> tuple[State, Flask]:
    """One app for the module (building one costs tens of ms): these tests only read, or write what none reads."""
    state = State.from_config(Config())
    app = create_app(state)
    app.testing = True
    return state, app


class FakeClock:
    """A clock the test moves by hand: expiry without sleeping."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def form(**changes: str | None) -> dict[str, str]:
    base: dict[str, str | None] = {
        **password_grant("admin", "admin", scope="access_control_api", client_secret=DEFAULT_CLIENT_SECRET)
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def call(client: FlaskClient, method: str, path: str, body: Any, authorization: str | None) -> Any:
    headers = {"Content-Type": JSON_V1, "Accept": JSON_V1}
    if authorization is not None:
        headers["Authorization"] = authorization
    return client.open(path, method=method, headers=headers, data=json.dumps(body) if body is not None else None)


# -- token endpoint --------------------------------------------------------------------------------------------


def test_token_endpoint_issues_a_bearer_token(client: FlaskClient) -> None:
    response = client.post(TOKEN, data=form())
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    payload = response.get_json()
    assert payload["token_type"] == "Bearer"
    assert payload["expires_in"] == 3600
    assert "access_control_api" in payload["scope"].split()
    api = client.get(LIST, headers={"Authorization": f"Bearer {payload['access_token']}"})
    assert api.status_code == 200


@pytest.mark.parametrize("client_id", ["resource_owner_client", "resource_owner_sast_client"])
def test_both_documented_clients_are_known(client: FlaskClient, client_id: str) -> None:
    assert client.post(TOKEN, data=form(client_id=client_id)).status_code == 200


def test_several_scopes_may_be_requested(client: FlaskClient) -> None:
    response = client.post(TOKEN, data=form(scope="access_control_api sast_rest_api offline_access"))
    assert response.status_code == 200
    assert set(response.get_json()["scope"].split()) == {"access_control_api", "sast_rest_api", "offline_access"}


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"client_secret": "wrong"}, "invalid_client"),
        ({"client_secret": None}, "invalid_client"),
        ({"client_id": "unknown_client"}, "invalid_client"),
        ({"client_id": None}, "invalid_request"),
        ({"grant_type": None}, "invalid_request"),
        ({"username": None}, "invalid_request"),
        ({"password": None}, "invalid_request"),
        ({"password": "wrong"}, "invalid_grant"),
        ({"username": "nobody"}, "invalid_grant"),
        ({"grant_type": "client_credentials"}, "unsupported_grant_type"),
        ({"grant_type": "authorization_code"}, "unsupported_grant_type"),
        ({"scope": "not_a_scope"}, "invalid_scope"),
        ({"scope": "access_control_api admin_everything"}, "invalid_scope"),
    ],
)
def test_token_errors(client: FlaskClient, changes: dict[str, str | None], error: str) -> None:
    response = client.post(TOKEN, data=form(**changes))
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/json"
    payload = response.get_json()
    assert payload["error"] == error
    assert isinstance(payload["error_description"], str) and payload["error_description"]
    assert "admin" not in payload["error_description"].split()  # no password (admin's is "admin") echoed


def test_token_request_must_be_form_encoded(client: FlaskClient) -> None:
    response = client.post(TOKEN, data=json.dumps(form()), headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_request"


def test_token_with_configured_client_secret(make_app: Callable[..., tuple[State, Flask]]) -> None:
    _, app = make_app(client_secret="my-own-secret")
    with app.test_client() as client:
        assert client.post(TOKEN, data=form()).get_json()["error"] == "invalid_client"
        assert client.post(TOKEN, data=form(client_secret="my-own-secret")).status_code == 200


def test_token_lifetime_is_configurable(make_app: Callable[..., tuple[State, Flask]]) -> None:
    _, app = make_app(token_lifetime=1)
    with app.test_client() as client:
        assert client.post(TOKEN, data=form()).get_json()["expires_in"] == 1


def test_token_endpoint_over_the_wire_with_lifetime_1(make_server: Callable[..., MockServer]) -> None:
    server = make_server(token_lifetime=1)
    with requests.post(server.api_url + "/identity/connect/token", data=form(), timeout=10) as response:
        assert response.status_code == 200
        assert response.json()["expires_in"] == 1


# -- 401 ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "body"), OPERATIONS, ids=OP_IDS)
def test_no_token_is_401_with_a_bearer_challenge(client: FlaskClient, method: str, path: str, body: Any) -> None:
    response = call(client, method, path, body, None)
    assert response.status_code == 401
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer ")
    assert "error=" not in challenge  # no token was given: no error code (RFC 6750 §3.1)
    payload = response.get_json()
    assert set(payload) == {"message"} and payload["message"]


@pytest.mark.parametrize(
    "authorization",
    ["Bearer", "Bearer ", "Basic YWRtaW46YWRtaW4=", "Bearer not-issued-here", "Token abc", "bearer"],
)
def test_malformed_or_unknown_token_is_401_invalid_token(client: FlaskClient, authorization: str) -> None:
    response = client.get(LIST, headers={"Authorization": authorization})
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_bearer_scheme_is_case_insensitive(client: FlaskClient, admin_token: str) -> None:
    assert client.get(LIST, headers={"Authorization": f"bearer {admin_token}"}).status_code == 200


def test_expired_token_is_401_invalid_token(make_app: Callable[..., tuple[State, Flask]]) -> None:
    clock = FakeClock()
    state, app = make_app(clock=clock, token_lifetime=1)
    with app.test_client() as client:
        token = client.post(TOKEN, data=form()).get_json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        clock.advance(0.5)
        assert client.get(LIST, headers=auth).status_code == 200
        clock.advance(0.5)  # exactly at the expiry instant
        for method, path, body in OPERATIONS:
            response = call(client, method, path, body, auth["Authorization"])
            assert response.status_code == 401, (method, path)
            challenge = response.headers["WWW-Authenticate"]
            assert 'error="invalid_token"' in challenge
            assert "expired" in response.get_json()["message"]
        # a new token works again
        fresh = client.post(TOKEN, data=form()).get_json()["access_token"]
        assert client.get(LIST, headers={"Authorization": f"Bearer {fresh}"}).status_code == 200
    assert state.identity.token_lifetime == 1


def test_tokens_survive_reset(make_app: Callable[..., tuple[State, Flask]]) -> None:
    state, app = make_app()
    with app.test_client() as client:
        token = client.post(TOKEN, data=form()).get_json()["access_token"]
        state.reset()
        assert client.get(LIST, headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_token_of_one_server_is_unknown_to_another(
    client: FlaskClient, make_app: Callable[..., tuple[State, Flask]], admin_token: str
) -> None:
    _, other = make_app()
    with other.test_client() as other_client:
        response = other_client.get(LIST, headers={"Authorization": f"Bearer {admin_token}"})
        assert response.status_code == 401


# -- 403 ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "body"), OPERATIONS, ids=OP_IDS)
def test_viewer_is_403(client: FlaskClient, token_for: Callable[..., str], method: str, path: str, body: Any) -> None:
    response = call(client, method, path, body, f"Bearer {token_for('viewer', 'viewer')}")
    assert response.status_code == 403
    assert "Manage System Settings" in response.get_json()["message"]
    assert "WWW-Authenticate" not in response.headers


@pytest.mark.parametrize(("method", "path", "body"), OPERATIONS, ids=OP_IDS)
def test_token_without_access_control_scope_is_403(
    client: FlaskClient, token_for: Callable[..., str], method: str, path: str, body: Any
) -> None:
    response = call(client, method, path, body, f"Bearer {token_for(scope='sast_rest_api')}")
    assert response.status_code == 403
    assert "access_control_api" in response.get_json()["message"]


def test_forbidden_requests_change_nothing(
    client: FlaskClient, token_for: Callable[..., str], app_state: State
) -> None:
    before = app_state.settings.list()
    viewer = f"Bearer {token_for('viewer', 'viewer')}"
    for method, path, body in OPERATIONS:
        call(client, method, path, body, viewer)
        call(client, method, path, body, None)
    assert app_state.settings.list() == before


def test_authentication_comes_before_body_checks(client: FlaskClient) -> None:
    """A request without a token learns nothing about the body rules (401 before 415/413/400)."""
    response = client.post(LIST, data=b"not json", headers={"Content-Type": "text/plain"})
    assert response.status_code == 401
