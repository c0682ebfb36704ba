"""The identity routes ignore path case like the rest of /cxrestapi/auth (ASP.NET routing), through a real socket."""

from __future__ import annotations

import pytest
import requests

from mockserver.config import DEFAULT_CLIENT_SECRET
from mockserver.runtime.server import MockServer

TIMEOUT = 10


@pytest.mark.parametrize(
    "path",
    [
        "/CxRestAPI/auth/identity/.well-known/openid-configuration",
        "/CXRESTAPI/AUTH/IDENTITY/.WELL-KNOWN/OPENID-CONFIGURATION",
        "/cxrestapi/auth/Identity/.well-known/openid-configuration/JWKS",
    ],
)
def test_discovery_and_jwks_in_any_case(server: MockServer, path: str) -> None:
    with requests.get(server.base_url + path, timeout=TIMEOUT) as response:
        assert response.status_code == 200, response.text


def test_token_userinfo_revocation_and_my_profile_in_any_case(server: MockServer) -> None:
    form = {
        "grant_type": "password",
        "username": "admin",
        "password": "admin",
        "scope": "openid offline_access access_control_api",
        "client_id": "resource_owner_client",
        "client_secret": DEFAULT_CLIENT_SECRET,
    }
    base = server.base_url + "/CxRestAPI/auth"
    with requests.post(base + "/Identity/Connect/Token", data=form, timeout=TIMEOUT) as response:
        assert response.status_code == 200, response.text
        tokens = response.json()
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    with requests.get(base + "/identity/connect/UserInfo", headers=bearer, timeout=TIMEOUT) as response:
        assert response.status_code == 200 and response.json()["sub"] == "1"
    with requests.get(base + "/myprofile", headers=bearer, timeout=TIMEOUT) as response:
        assert response.status_code == 200 and response.json()["userName"] == "admin"
    revoke = {
        "token": tokens["refresh_token"],
        "client_id": "resource_owner_client",
        "client_secret": DEFAULT_CLIENT_SECRET,
    }
    with requests.post(base + "/IDENTITY/CONNECT/REVOCATION", data=revoke, timeout=TIMEOUT) as response:
        assert response.status_code == 200
