"""Identity (mockserver/core/identity/): users file, token issue, bearer checks against an injected clock."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mockserver.config import DEFAULT_CLIENT_SECRET
from mockserver.core.identity.identity import API_SCOPE, MANAGE_SYSTEM_SETTINGS, Identity, load_users, parse_users
from mockserver.core.resources import fixture_path
from mockserver.errors import ConfigError, Forbidden, OAuthError, Unauthorized


class FakeClock:
    def __init__(self) -> None:
        self.now = 5_000.0

    def __call__(self) -> float:
        return self.now


def form(**changes: str | None) -> dict[str, str]:
    base: dict[str, str | None] = {
        "grant_type": "password",
        "username": "admin",
        "password": "admin",
        "scope": API_SCOPE,
        "client_id": "resource_owner_client",
        "client_secret": DEFAULT_CLIENT_SECRET,
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def identity(clock: FakeClock) -> Identity:
    users, clients = load_users(fixture_path("users.yaml"), default_secret=DEFAULT_CLIENT_SECRET)
    return Identity(users, clients, token_lifetime=60, clock=clock)


def test_default_users_file() -> None:
    users, clients = load_users(fixture_path("users.yaml"), default_secret="s")
    by_name = {u.username: u for u in users}
    assert MANAGE_SYSTEM_SETTINGS in by_name["admin"].permissions
    assert MANAGE_SYSTEM_SETTINGS not in by_name["viewer"].permissions
    assert by_name["admin"].password == "admin" and by_name["viewer"].password == "viewer"
    assert {c.client_id for c in clients} == {"resource_owner_client", "resource_owner_sast_client"}
    assert all(c.client_secret == "s" for c in clients)
    assert all(API_SCOPE in c.scopes for c in clients)


def test_issue_and_authenticate(identity: Identity, clock: FakeClock) -> None:
    response = identity.issue(form())
    assert response["token_type"] == "Bearer" and response["expires_in"] == 60
    info = identity.authenticate(f"Bearer {response['access_token']}")
    assert info.username == "admin"
    assert info.expires_at == clock.now + 60
    identity.authorize(info)


def test_tokens_are_unique(identity: Identity) -> None:
    tokens = {identity.issue(form())["access_token"] for _ in range(50)}
    assert len(tokens) == 50


def test_expiry_follows_the_injected_clock(identity: Identity, clock: FakeClock) -> None:
    token = identity.issue(form())["access_token"]
    clock.now += 59.999
    identity.authenticate(f"Bearer {token}")
    clock.now += 0.001
    with pytest.raises(Unauthorized) as info:
        identity.authenticate(f"Bearer {token}")
    assert "expired" in info.value.details
    assert 'error="invalid_token"' in info.value.headers["WWW-Authenticate"]


def test_missing_token_has_a_challenge_without_error(identity: Identity) -> None:
    for header in (None, ""):
        with pytest.raises(Unauthorized) as info:
            identity.authenticate(header)
        challenge = info.value.headers["WWW-Authenticate"]
        assert challenge.startswith("Bearer ") and "error=" not in challenge


@pytest.mark.parametrize("header", ["Bearer", "Basic abc", "Bearer unknown", "Bearer  ", "x"])
def test_malformed_or_unknown_token(identity: Identity, header: str) -> None:
    with pytest.raises(Unauthorized) as info:
        identity.authenticate(header)
    assert 'error="invalid_token"' in info.value.headers["WWW-Authenticate"]


def test_viewer_and_missing_scope_are_forbidden(identity: Identity) -> None:
    viewer = identity.authenticate(
        "Bearer " + identity.issue(form(username="viewer", password="viewer"))["access_token"]
    )
    with pytest.raises(Forbidden, match=MANAGE_SYSTEM_SETTINGS):
        identity.authorize(viewer)
    no_scope = identity.authenticate("Bearer " + identity.issue(form(scope="sast_rest_api"))["access_token"])
    with pytest.raises(Forbidden, match=API_SCOPE):
        identity.authorize(no_scope)


def test_reset_forgets_tokens(identity: Identity) -> None:
    token = identity.issue(form())["access_token"]
    identity.reset()
    with pytest.raises(Unauthorized):
        identity.authenticate(f"Bearer {token}")


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"grant_type": None}, "invalid_request"),
        ({"client_id": None}, "invalid_request"),
        ({"client_id": "nope"}, "invalid_client"),
        ({"client_secret": "wrong"}, "invalid_client"),
        ({"client_secret": DEFAULT_CLIENT_SECRET.lower()}, "invalid_client"),
        ({"grant_type": "refresh_token"}, "unsupported_grant_type"),
        ({"username": None}, "invalid_request"),
        ({"password": "nope"}, "invalid_grant"),
        ({"username": "ghost"}, "invalid_grant"),
        ({"scope": "root"}, "invalid_scope"),
    ],
)
def test_issue_errors(identity: Identity, changes: dict[str, Any], error: str) -> None:
    with pytest.raises(OAuthError) as info:
        identity.issue(form(**changes))
    assert info.value.error == error
    assert info.value.body() == {"error": error, "error_description": info.value.description}


def test_default_scope_is_the_clients_scopes(identity: Identity) -> None:
    response = identity.issue(form(scope=None))
    assert API_SCOPE in response["scope"].split()


def test_expired_tokens_are_pruned(identity: Identity, clock: FakeClock) -> None:
    old = identity.issue(form())["access_token"]
    clock.now += 61
    identity.issue(form())
    assert old not in identity._tokens  # noqa: SLF001 - bounded memory is the point


def test_parse_users_roles_and_direct_permissions() -> None:
    users, clients = parse_users(
        {
            "roles": {"Ops": [MANAGE_SYSTEM_SETTINGS]},
            "users": [
                {"username": "ops", "password": "p", "roles": ["Ops"]},
                {"username": "direct", "password": "p", "permissions": [MANAGE_SYSTEM_SETTINGS]},
            ],
            "clients": [{"client_id": "c", "client_secret": "own", "scopes": ["access_control_api"]}],
        },
        default_secret="d",
    )
    assert all(MANAGE_SYSTEM_SETTINGS in u.permissions for u in users)
    assert clients[0].client_secret == "own"


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ([], "mapping"),
        ({"users": []}, "no users"),
        ({"users": [{"username": "a"}]}, "users[0]"),
        ({"users": [{"username": "a", "password": "p", "roles": ["Nope"]}]}, "Nope"),
        ({"roles": ["x"], "users": [{"username": "a", "password": "p"}]}, "roles"),
        ({"users": [{"username": "a", "password": "p"}], "clients": [{}]}, "clients[0]"),
    ],
)
def test_parse_users_errors(data: Any, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_users(data, default_secret="d", source="users.yaml")
    assert fragment in str(info.value) and "users.yaml" in str(info.value)


def test_load_users_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_users(tmp_path / "missing.yaml", default_secret="d")
    bad = tmp_path / "bad.yaml"
    bad.write_text("users: [unclosed", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_users(bad, default_secret="d")
