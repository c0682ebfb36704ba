"""The core admin API under /_mock: health, reset, seed, the OpenAPI document served as is, config, the lock."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import requests
import yaml
from flask import Flask
from flask.testing import FlaskClient

from mockserver.config import DEFAULT_CLIENT_SECRET
from mockserver.core.resources import openapi_path
from mockserver.core.state import State
from mockserver.runtime.server import MockServer

LIST = "/cxrestapi/auth/SMTPSettings"
RECORD: dict[str, Any] = {
    "host": "seeded.example.org",
    "port": 2525,
    "encryptionType": "ssl",
    "fromAddress": "seed@example.org",
    "useDefaultCredentials": False,
    "username": "seed-user",
    "password": "seed-Secret-1",
}


def test_health(client: FlaskClient) -> None:
    response = client.get("/_mock/health")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.get_json()["status"] == "ok"


def test_reset_restores_the_seed(client: FlaskClient, headers: dict[str, str], app_state: State) -> None:
    created = client.post(LIST, headers=headers, data=json.dumps({**RECORD, "host": "created.example.org"}))
    assert created.status_code == 201
    seed_id = app_state.settings.list()[0].id
    assert client.delete(f"{LIST}/{seed_id}", headers=headers).status_code == 204
    response = client.post("/_mock/reset")
    assert response.status_code == 200
    records = client.get(LIST, headers=headers).get_json()
    assert [r["host"] for r in records] == ["pod55017.outlook.com"]


def test_post_seed_replaces_the_records_and_becomes_the_reset_target(
    client: FlaskClient, headers: dict[str, str], app_state: State
) -> None:
    second = {**RECORD, "host": "second.example.org", "useDefaultCredentials": "true"}
    response = client.post("/_mock/seed", data=json.dumps([RECORD, second]), content_type="application/json")
    assert response.status_code == 200
    assert response.get_json()["count"] == 2
    records = client.get(LIST, headers=headers).get_json()
    assert [r["host"] for r in records] == ["seeded.example.org", "second.example.org"]
    assert records[0]["encryptionType"] == "Ssl"  # canonical, as the API stores it
    assert app_state.settings.get(records[0]["id"]).password == "seed-Secret-1"

    seed_view = client.get("/_mock/seed")
    assert seed_view.status_code == 200
    assert b"seed-Secret-1" not in seed_view.get_data()

    client.post(LIST, headers=headers, data=json.dumps({**RECORD, "host": "extra.example.org"}))
    client.post("/_mock/reset")
    hosts = [r["host"] for r in client.get(LIST, headers=headers).get_json()]
    assert hosts == ["seeded.example.org", "second.example.org"]


def test_empty_seed_empties_the_store(client: FlaskClient, headers: dict[str, str]) -> None:
    assert client.post("/_mock/seed", data="[]", content_type="application/json").status_code == 200
    assert client.get(LIST, headers=headers).get_json() == []


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ([{**RECORD, "port": 0}], "port"),
        ([{**RECORD, "fromAddress": None}], "fromAddress"),  # "nope" is a string the service stores (#22)
        ([{**RECORD, "id": 0}], "id"),
        ([{**RECORD, "unknownMember": 1}], "unknownMember"),
        ({"host": "not-a-list"}, "list"),
        (["not-a-mapping"], "mapping"),
    ],
)
def test_invalid_seed_is_400_naming_the_problem(
    client: FlaskClient, headers: dict[str, str], body: Any, named: str
) -> None:
    before = client.get(LIST, headers=headers).get_json()
    response = client.post("/_mock/seed", data=json.dumps(body), content_type="application/json")
    assert response.status_code == 400
    payload = response.get_json()
    assert named in payload["message"]
    assert set(payload) == {"message"}
    assert client.get(LIST, headers=headers).get_json() == before


def test_seed_that_is_not_json_is_400(client: FlaskClient) -> None:
    response = client.post("/_mock/seed", data=b"[{", content_type="application/json")
    assert response.status_code == 400


def test_openapi_yaml_is_served_byte_for_byte(client: FlaskClient) -> None:
    response = client.get("/_mock/openapi.yaml")
    assert response.status_code == 200
    assert response.get_data() == openapi_path().read_bytes()


def test_openapi_json_is_the_same_document(client: FlaskClient) -> None:
    response = client.get("/_mock/openapi.json")
    assert response.status_code == 200
    assert response.get_json() == yaml.safe_load(openapi_path().read_bytes())


def test_config_masks_secrets(make_app: Callable[..., tuple[State, Flask]]) -> None:
    _, app = make_app(client_secret="very-secret-client", admin_token="adm1n-t0ken")
    with app.test_client() as client:
        response = client.get("/_mock/config", headers={"X-Cxmock-Admin-Token": "adm1n-t0ken"})
    assert response.status_code == 200
    config = response.get_json()
    assert config["client_secret"] == "***"
    assert config["admin_token"] == "***"
    assert b"very-secret-client" not in response.get_data()
    assert b"adm1n-t0ken" not in response.get_data()


def test_default_config_masks_the_default_client_secret(client: FlaskClient) -> None:
    response = client.get("/_mock/config")
    assert DEFAULT_CLIENT_SECRET.encode() not in response.get_data()
    assert response.get_json()["port"] == 0


def test_admin_api_lives_outside_cxrestapi(client: FlaskClient, headers: dict[str, str]) -> None:
    assert client.get("/cxrestapi/auth/_mock/health", headers=headers).status_code == 404
    assert client.get("/cxrestapi/_mock/health", headers=headers).status_code == 404


def test_locked_admin_api(make_app: Callable[..., tuple[State, Flask]]) -> None:
    state, app = make_app(admin_token="adm1n-t0ken")
    api_token = state.identity.issue(
        {
            "grant_type": "password",
            "username": "admin",
            "password": "admin",
            "client_id": "resource_owner_client",
            "client_secret": state.config.client_secret,
        }
    )["access_token"]
    with app.test_client() as client:
        for path in ("/_mock/health", "/_mock/config", "/_mock/seed", "/_mock/openapi.yaml"):
            locked = client.get(path)
            assert locked.status_code == 401, path
            assert "WWW-Authenticate" in locked.headers
            assert b"adm1n-t0ken" not in locked.get_data()
            assert client.get(path, headers={"X-Cxmock-Admin-Token": "wrong"}).status_code == 401
            assert client.get(path, headers={"Authorization": f"Bearer {api_token}"}).status_code == 401
            assert client.get(path, headers={"X-Cxmock-Admin-Token": "adm1n-t0ken"}).status_code == 200
            assert client.get(path, headers={"Authorization": "Bearer adm1n-t0ken"}).status_code == 200
        assert client.post("/_mock/reset").status_code == 401
        # the API itself is not affected by the admin lock
        assert client.get(LIST, headers={"Authorization": f"Bearer {api_token}"}).status_code == 200


def test_admin_api_over_the_wire(server: MockServer) -> None:
    with requests.Session() as session:
        with session.get(server.base_url + "/_mock/health", timeout=10) as response:
            assert response.status_code == 200
            assert response.json()["status"] == "ok"
        with session.post(server.base_url + "/_mock/seed", json=[RECORD], timeout=10) as response:
            assert response.status_code == 200
        assert [r.host for r in server.state.settings.list()] == ["seeded.example.org"]
        with session.post(server.base_url + "/_mock/reset", timeout=10) as response:
            assert response.status_code == 200
        assert [r.host for r in server.state.settings.list()] == ["seeded.example.org"]
        with session.get(server.base_url + "/_mock/openapi.yaml", timeout=10) as response:
            assert response.content == openapi_path().read_bytes()
