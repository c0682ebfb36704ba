"""The identity server as real clients meet it, through real sockets (acceptance of issue #13).

Each test replays what a public client does (``portilha/Checkmarx.API`` CxClient.cs, ``cxpsemea/CxSASTClientGo``,
``Checkmarx/sast-to-ast-export``, ``checkmarx-ltd/Cx-Client-Common``) against a running ``MockServer``.
"""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa

from mockserver.config import DEFAULT_CLIENT_SECRET
from mockserver.core.contract import JSON_V1
from mockserver.runtime.server import MockServer

TIMEOUT = 10
CLI_SECRET = "B9D84EA8-E476-4E83-A628-8A342D74D3BD"


def login(server: MockServer, scope: str, *, client_id: str = "resource_owner_sast_client", **extra: Any) -> Any:
    form = {"username": "admin", "password": "admin", "grant_type": "password", "scope": scope, "client_id": client_id}
    form["client_secret"] = CLI_SECRET if client_id == "cli_client" else DEFAULT_CLIENT_SECRET
    form.update(extra)
    return requests.post(
        server.api_url + "/identity/connect/token", data=form, headers={"Accept": "application/json"}, timeout=TIMEOUT
    )


def test_csharp_client_login_first_member_is_a_jwt_expiring_in_the_future(server: MockServer) -> None:
    """CxClient.cs: ``((JProperty)accessToken.First).Value`` is the token; it decodes as a JWT and ``ValidTo`` is
    compared with now to re-login 5 minutes early."""
    with login(server, "offline_access sast_api access_control_api") as response:
        assert response.status_code == 200
        first_name, first_value = next(iter(response.json().items()))
    assert first_name == "access_token"
    claims = jwt.decode(first_value, options={"verify_signature": False})
    assert claims["exp"] > time.time() + 5 * 60
    with requests.get(
        server.api_url + "/SMTPSettings",
        headers={"Authorization": f"Bearer {first_value}", "Accept": JSON_V1},
        timeout=TIMEOUT,
    ) as api:
        assert api.status_code == 200


def test_basic_auth_login_refresh_rotation_and_revocation(server: MockServer) -> None:
    """golang.org/x/oauth2 sends the client in HTTP Basic; offline_access gives a refresh token; a used refresh
    token is replaced; a revoked one gets invalid_grant."""
    token_url = server.api_url + "/identity/connect/token"
    basic = ("resource_owner_client", DEFAULT_CLIENT_SECRET)
    with requests.Session() as http:
        first = http.post(
            token_url,
            data={
                "grant_type": "password",
                "username": "admin",
                "password": "admin",
                "scope": "sast_rest_api access_control_api offline_access",
            },
            auth=basic,
            timeout=TIMEOUT,
        ).json()
        assert first["refresh_token"] and first["token_type"] == "Bearer"
        refreshed = http.post(
            token_url,
            data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
            auth=basic,
            timeout=TIMEOUT,
        ).json()
        assert refreshed["access_token"] != first["access_token"]
        assert refreshed["refresh_token"] != first["refresh_token"]
        api = http.get(
            server.api_url + "/SMTPSettings",
            headers={"Authorization": f"Bearer {refreshed['access_token']}", "Accept": JSON_V1},
            timeout=TIMEOUT,
        )
        assert api.status_code == 200
        reused = http.post(
            token_url,
            data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
            auth=basic,
            timeout=TIMEOUT,
        )
        assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
        revoked = http.post(
            server.api_url + "/identity/connect/revocation",
            data={"token": refreshed["refresh_token"], "token_type_hint": "refresh_token"},
            auth=basic,
            timeout=TIMEOUT,
        )
        assert revoked.status_code == 200 and revoked.content == b""
        after = http.post(
            token_url,
            data={"grant_type": "refresh_token", "refresh_token": refreshed["refresh_token"]},
            auth=basic,
            timeout=TIMEOUT,
        )
        assert after.status_code == 400 and after.json()["error"] == "invalid_grant"


def test_cli_client_refreshes_with_form_credentials(server: MockServer) -> None:
    """Cx-Client-Common: cli_client with its own secret, scope ``sast_rest_api offline_access``, refresh and
    revocation with the credentials in the form."""
    with login(server, "sast_rest_api offline_access", client_id="cli_client") as response:
        refresh = response.json()["refresh_token"]
    creds = {"client_id": "cli_client", "client_secret": CLI_SECRET}
    url = server.api_url + "/identity/connect/"
    with requests.post(
        url + "token", data={"grant_type": "refresh_token", "refresh_token": refresh, **creds}, timeout=TIMEOUT
    ) as response:
        assert response.status_code == 200
        new_refresh = response.json()["refresh_token"]
    with requests.post(
        url + "revocation", data={"token": new_refresh, "token_type_hint": "refresh_token", **creds}, timeout=TIMEOUT
    ) as response:
        assert response.status_code == 200
    with requests.post(
        url + "token", data={"grant_type": "refresh_token", "refresh_token": new_refresh, **creds}, timeout=TIMEOUT
    ) as response:
        assert response.json()["error"] == "invalid_grant"


def test_sast_to_ast_export_reads_manage_system_settings_from_the_claims(server: MockServer) -> None:
    """sast-to-ast-export: ParseUnverified, then each of sast-permissions / access-control-permissions is a string
    or an array."""
    with login(server, "access_control_api sast_api") as response:
        claims = jwt.decode(response.json()["access_token"], options={"verify_signature": False})
    permissions: list[str] = []
    for key in ("sast-permissions", "access-control-permissions"):
        value = claims.get(key, [])
        permissions.extend(value if isinstance(value, list) else [value])
    assert "manage-system-settings" in permissions
    assert {"manage-users", "manage-roles", "manage-authentication-providers"} <= set(permissions)


def test_discovery_jwks_and_the_token_verifies_with_pyjwt(server: MockServer) -> None:
    with requests.get(server.api_url + "/identity/.well-known/openid-configuration", timeout=TIMEOUT) as response:
        assert response.status_code == 200
        discovery = response.json()
    assert {"sast_api", "sast_rest_api"} <= set(discovery["scopes_supported"])
    assert "sast-permissions" in discovery["claims_supported"]
    assert discovery["token_endpoint"] == server.api_url + "/identity/connect/token"
    with requests.get(discovery["jwks_uri"], timeout=TIMEOUT) as response:
        raw_jwks = response.json()
    assert all(not {"d", "p", "q", "dp", "dq", "qi"} & set(k) for k in raw_jwks["keys"])  # the public half only
    jwks = jwt.PyJWKSet.from_dict(raw_jwks)
    with login(server, "sast_api access_control_api") as response:
        token = response.json()["access_token"]
    key = jwks[jwt.get_unverified_header(token)["kid"]]
    claims = jwt.decode(token, key.key, algorithms=["RS256"], audience="access_control_api", issuer=discovery["issuer"])
    assert claims["sub"] == "1" and claims["name"] == "admin"


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_userinfo_has_sub(server: MockServer, method: str) -> None:
    with login(server, "openid profile access_control_api") as response:
        token = response.json()["access_token"]
    with requests.request(
        method,
        server.api_url + "/identity/connect/userinfo",
        headers={"Authorization": f"Bearer {token}"},
        timeout=TIMEOUT,
    ) as response:
        assert response.status_code == 200
        info = response.json()
    assert info["sub"] == "1" and info["name"] == "admin" and info["email"] == "admin@cx.local"


def test_userinfo_without_openid_or_token(server: MockServer) -> None:
    url = server.api_url + "/identity/connect/userinfo"
    with requests.get(url, headers={"Authorization": f"Bearer {server.token()}"}, timeout=TIMEOUT) as response:
        assert response.status_code == 403
        assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]
    with requests.get(url, timeout=TIMEOUT) as response:
        assert response.status_code == 401 and response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(("username", "user_id"), [("admin", 1), ("viewer", 2)])
def test_my_profile_answers_the_users_object(server: MockServer, username: str, user_id: int) -> None:
    """CxSASTClientGo GetCurrentUser: GET /auth/MyProfile right after login, parsed as one object."""
    token = server.token(username, username, scope="sast_rest_api access_control_api")
    with requests.get(
        server.api_url + "/MyProfile", headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT
    ) as response:
        assert response.status_code == 200
        assert response.headers["Content-Type"] == JSON_V1
        profile = response.json()
    assert profile["id"] == user_id and profile["userName"] == username
    assert set(profile) == {
        "id",
        "userName",
        "firstName",
        "lastName",
        "email",
        "phoneNumber",
        "cellPhoneNumber",
        "jobTitle",
        "other",
        "country",
        "localeId",
        "teams",
        "authenticationProviderId",
    }
    assert isinstance(profile["teams"], str) and isinstance(profile["authenticationProviderId"], int)


def test_my_profile_without_a_valid_token_is_401(server: MockServer) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}):
        with requests.get(server.api_url + "/MyProfile", headers=headers, timeout=TIMEOUT) as response:
            assert response.status_code == 401
            assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_token_signed_by_another_key_is_401(server: MockServer) -> None:
    genuine = server.token()
    header = jwt.get_unverified_header(genuine)
    claims = jwt.decode(genuine, options={"verify_signature": False})
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(claims, other_key, algorithm="RS256", headers={"kid": header["kid"], "typ": header["typ"]})
    for path in ("/SMTPSettings", "/MyProfile", "/identity/connect/userinfo"):
        with requests.get(
            server.api_url + path, headers={"Authorization": f"Bearer {forged}", "Accept": JSON_V1}, timeout=TIMEOUT
        ) as response:
            assert response.status_code == 401, path
            assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_a_token_of_another_server_is_401(make_server: Any) -> None:
    one, other = make_server(), make_server()
    with requests.get(other.api_url + "/SMTPSettings", headers=one.auth_headers(), timeout=TIMEOUT) as response:
        assert response.status_code == 401
        assert "another key" in response.text  # the error sentence names the cause


def test_token_helper_lifetime_gives_expired_tokens(server: MockServer) -> None:
    expired = server.token(lifetime=0)
    with requests.get(
        server.api_url + "/SMTPSettings", headers={"Authorization": f"Bearer {expired}"}, timeout=TIMEOUT
    ) as response:
        assert response.status_code == 401
        assert "expired" in response.text
    assert jwt.decode(server.token(lifetime=90), options={"verify_signature": False})["exp"] <= time.time() + 91


def test_admin_token_route_mints_a_token_with_a_lifetime(server: MockServer) -> None:
    with requests.post(
        server.base_url + "/_mock/token",
        json={"username": "viewer", "password": "viewer", "lifetime": 120},
        timeout=TIMEOUT,
    ) as response:
        assert response.status_code == 200
        body = response.json()
    assert body["expires_in"] == 120
    assert jwt.decode(body["access_token"], options={"verify_signature": False})["name"] == "viewer"
    with requests.post(server.base_url + "/_mock/token", json={"lifetime": -1}, timeout=TIMEOUT) as response:
        assert response.status_code == 400 and "lifetime" in response.text


def test_the_journal_keeps_no_token_or_secret(server: MockServer) -> None:
    """Token, refresh and revocation requests are journaled with every credential redacted."""
    with login(server, "offline_access access_control_api") as response:
        tokens = response.json()
    basic = ("resource_owner_sast_client", DEFAULT_CLIENT_SECRET)
    url = server.api_url + "/identity/connect/"
    with requests.post(url + "revocation", data={"token": tokens["refresh_token"]}, auth=basic, timeout=TIMEOUT):
        pass
    with requests.get(url + "userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}, timeout=TIMEOUT):
        pass
    journal = repr([entry.to_dict() for entry in server.requests()])
    assert "/identity/connect/revocation" in journal and "/identity/connect/userinfo" in journal
    for secret in (tokens["access_token"], tokens["refresh_token"], DEFAULT_CLIENT_SECRET, "admin@cx.local"):
        assert secret not in journal
