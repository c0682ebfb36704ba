"""Identity (mockserver/core/identity/identity.py): grants, JWT access tokens, bearer checks against an injected clock,
refresh-token rotation and revocation, userinfo."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import jwt
import pytest

from mockserver.config import DEFAULT_CLIENT_SECRET
from mockserver.core.identity.identity import API_SCOPE, MANAGE_SYSTEM_SETTINGS, Identity, load_users, parse_users
from mockserver.core.identity.keys import Signer
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
    assert by_name["admin"].has("sast-permissions", "manage-system-settings")
    assert not by_name["viewer"].has("sast-permissions", "manage-system-settings")
    assert by_name["admin"].password == "admin" and by_name["viewer"].password == "viewer"
    secrets = {c.client_id: c.client_secret for c in clients}
    assert secrets == {
        "resource_owner_client": "s",
        "resource_owner_sast_client": "s",
        "cli_client": "B9D84EA8-E476-4E83-A628-8A342D74D3BD",
    }
    assert all({API_SCOPE, "sast_api", "sast_rest_api", "offline_access"} <= c.scopes for c in clients)


def test_issue_and_authenticate(identity: Identity, clock: FakeClock) -> None:
    response = identity.issue(form())
    assert response["token_type"] == "Bearer" and response["expires_in"] == 60
    assert list(response)[0] == "access_token"
    info = identity.authenticate(f"Bearer {response['access_token']}")
    assert info.username == "admin"
    assert info.expires_at == clock.now + 60
    identity.authorize(info)


def test_the_access_token_is_an_rs256_jwt_with_the_services_claims(identity: Identity, clock: FakeClock) -> None:
    token = identity.issue(form(scope="sast_api access_control_api"))["access_token"]
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "RS256" and header["kid"] == identity.signer.kid
    key = jwt.PyJWK(identity.signer.jwks()["keys"][0]).key
    claims = jwt.decode(token, key, algorithms=["RS256"], audience="access_control_api", options={"verify_exp": False})
    assert claims["exp"] == claims["iat"] + 60 == int(clock.now) + 60 and claims["nbf"] == claims["iat"]
    assert claims["sub"] == "1" and claims["name"] == "admin" and claims["client_id"] == "resource_owner_client"
    assert claims["scope"] == ["sast_api", "access_control_api"]
    assert "manage-system-settings" in claims["sast-permissions"]
    assert isinstance(claims["access-control-permissions"], list)


def test_a_permission_claim_with_one_value_is_a_string(identity: Identity) -> None:
    token = identity.issue(form(username="viewer", password="viewer"))["access_token"]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["sast-permissions"] == "view-results"
    assert "access-control-permissions" not in claims


def test_a_token_of_another_key_is_invalid(identity: Identity) -> None:
    other = Identity(*load_users(fixture_path("users.yaml"), default_secret=DEFAULT_CLIENT_SECRET), signer=Signer())
    token = other.issue(form())["access_token"]
    with pytest.raises(Unauthorized) as info:
        identity.authenticate(f"Bearer {token}")
    assert "another key" in info.value.details


def test_identities_sharing_a_signer_accept_each_others_tokens(identity: Identity, clock: FakeClock) -> None:
    users, clients = load_users(fixture_path("users.yaml"), default_secret=DEFAULT_CLIENT_SECRET)
    sandbox = Identity(users, clients, signer=identity.signer, clock=clock)
    assert sandbox.authenticate("Bearer " + identity.issue(form())["access_token"]).username == "admin"


def test_tampered_token_is_invalid(identity: Identity) -> None:
    token = identity.issue(form(username="viewer", password="viewer"))["access_token"]
    head, payload, sig = token.split(".")
    claims = jwt.decode(token, options={"verify_signature": False})
    claims["sast-permissions"] = ["manage-system-settings"]
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(Unauthorized):
        identity.authenticate(f"Bearer {head}.{forged}.{sig}")


def test_a_refresh_token_is_no_access_token(identity: Identity) -> None:
    refresh = identity.issue(form(scope="access_control_api offline_access"))["refresh_token"]
    with pytest.raises(Unauthorized):
        identity.authenticate(f"Bearer {refresh}")


def test_lifetime_per_token(identity: Identity, clock: FakeClock) -> None:
    response = identity.issue(form(), lifetime=5)
    assert response["expires_in"] == 5
    clock.now += 5
    with pytest.raises(Unauthorized, match="expired"):
        identity.authenticate(f"Bearer {response['access_token']}")
    with pytest.raises(Unauthorized, match="expired"):
        identity.authenticate("Bearer " + identity.issue(form(), lifetime=0)["access_token"])


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
    assert "manage-system-settings" not in viewer.claims["sast-permissions"]
    no_scope = identity.authenticate("Bearer " + identity.issue(form(scope="sast_rest_api"))["access_token"])
    with pytest.raises(Forbidden, match=API_SCOPE):
        identity.authorize(no_scope)


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"grant_type": None}, "invalid_request"),
        ({"client_id": None}, "invalid_request"),
        ({"client_id": "nope"}, "invalid_client"),
        ({"client_secret": "wrong"}, "invalid_client"),
        ({"client_secret": DEFAULT_CLIENT_SECRET.lower()}, "invalid_client"),
        ({"grant_type": "refresh_token"}, "invalid_request"),
        ({"grant_type": "refresh_token", "refresh_token": "x.y.z"}, "invalid_grant"),
        ({"grant_type": "client_credentials"}, "unsupported_grant_type"),
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


def test_nothing_is_stored_per_token(identity: Identity) -> None:
    for _ in range(20):
        identity.issue(form(scope="access_control_api offline_access"))
    assert len(identity.revocations) == 0  # issuing stores nothing; only used/revoked refresh tokens are kept


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
    assert all(u.has("sast-permissions", "manage-system-settings") for u in users)
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
        ({"users": [{"username": "a", "password": "p", "id": 0}]}, "users[0].id"),
        ({"users": [{"username": "a", "password": "p", "profile": {"mail": "x"}}]}, "mail"),
        ({"users": [{"username": "a", "password": "p", "profile": []}]}, "users[0].profile"),
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


@pytest.mark.parametrize("changes", [{"password": "nope"}, {"username": "ghost"}])
def test_a_wrong_username_or_password_is_described_as_the_service_describes_it(
    identity: Identity, changes: dict[str, Any]
) -> None:
    """Checkmarx/sast-to-ast-export compares ``error_description`` with ``invalid_username_or_password``
    (internal/integration/rest/apiclient.go, pinned by apiclient_test.go) to print its wrong-credentials message."""
    with pytest.raises(OAuthError) as info:
        identity.issue(form(**changes))
    assert info.value.body() == {"error": "invalid_grant", "error_description": "invalid_username_or_password"}
