"""No 5xx from the identity server, whatever arrives: a sweep over a real socket (issue #13).

More than a hundred malformed bearer tokens, Basic headers, refresh tokens, grant bodies, revocation bodies and
discovery/JWKS/userinfo requests against one running server. Every answer must be a 2xx/4xx, and every 4xx of an
OAuth2 endpoint the OAuth2 error shape; bearer failures must carry a ``Bearer`` challenge.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from mockserver.config import DEFAULT_CLIENT_SECRET
from mockserver.runtime.server import MockServer

TIMEOUT = 10
OAUTH_ERRORS = {
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unsupported_grant_type",
    "invalid_scope",
    "unsupported_token_type",
}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _jwt_like(header: Any, payload: Any, signature: str = "c2ln") -> str:
    return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(payload).encode())}.{signature}"


def malformed_tokens(genuine: str) -> list[str]:
    head, payload, sig = genuine.split(".")
    tokens = [
        "x",
        ".",
        "..",
        "...",
        "a.b",
        "a.b.c",
        "a.b.c.d",
        "=",
        "%00",
        "Bearer",
        "null",
        "{}",
        "[]",
        "😀",
        "x" * 20_000,
        genuine + "x",
        genuine[:-1],
        genuine[:-10],
        f"{head}.{payload}.",
        f"{head}..{sig}",
        f".{payload}.{sig}",
        f"{head}.{payload}.{sig}{sig}",
        f"{payload}.{head}.{sig}",
        genuine.upper(),
        f"{head}.{payload}.{'A' * len(sig)}",
        genuine.replace(".", ". "),
        _jwt_like({"alg": "none", "typ": "at+jwt"}, {"sub": "1"}, ""),
        _jwt_like({"alg": "HS256", "kid": "x"}, {"sub": "1"}),
        _jwt_like({"alg": "RS256"}, {"sub": "1"}),
        _jwt_like({"alg": "RS256", "kid": None}, []),
        _jwt_like({"alg": "RS256", "kid": '"quoted"\\'}, "string"),
        _jwt_like([], {}),
        _jwt_like("str", {}),
        _jwt_like({"alg": ["RS256"]}, {}),
        _jwt_like({"alg": "RS256", "kid": 1e308}, {"exp": "soon"}),
        f"{_b64(b'not json')}.{payload}.{sig}",
        f"{_b64(b'[' * 12_000)}.{payload}.{sig}",
        _b64(b'{"alg":' * 3000) + f".{payload}.{sig}",
        f"{head}.{_b64(b'not json')}.{sig}",
        f"{head}.{_b64(json.dumps({'exp': 'x', 'scope': 5}).encode())}.{sig}",
    ]
    return tokens


def basic_headers() -> list[str]:
    values = [
        "Basic",
        "Basic ",
        "Basic ===",
        "Basic !!!!",
        "Basic " + "A" * 5000,
        "Basic " + _b64(b"no-colon"),
        "Basic " + base64.b64encode(b":").decode(),
        "Basic " + base64.b64encode(b":secret").decode(),
        "Basic " + base64.b64encode(b"\xff\xfe:\x80").decode(),
        "Basic " + base64.b64encode(b"a:b:c").decode(),
        "Basic " + base64.b64encode(b"resource_owner_client:wrong").decode(),
        "Basic " + base64.b64encode(b"%zz:%zz").decode(),
        "Basic " + base64.b64encode(b"%00:%00").decode(),
        "basic " + base64.b64encode(f"resource_owner_client:{DEFAULT_CLIENT_SECRET}".encode()).decode(),
        "Digest abc",
        "Bearer abc",
        "Basic\tabc",
    ]
    return values


def grant_bodies(refresh: str) -> list[dict[str, str]]:
    creds = {"client_id": "resource_owner_client", "client_secret": DEFAULT_CLIENT_SECRET}
    bodies: list[dict[str, str]] = [
        {},
        {"grant_type": ""},
        {"grant_type": "password"},
        {"grant_type": "x" * 10_000, **creds},
        {"grant_type": "password", **creds},
        {"grant_type": "password", "username": "admin", **creds},
        {"grant_type": "password", "username": "admin", "password": "", **creds},
        {"grant_type": "password", "username": "admin", "password": "admin", "scope": " ", **creds},
        {"grant_type": "password", "username": "admin", "password": "admin", "scope": "openid\x00", **creds},
        {"grant_type": "password", "username": "\u202e", "password": "\ud7ff", **creds},
        {"grant_type": "refresh_token", **creds},
        {"grant_type": "refresh_token", "refresh_token": "", **creds},
        {"grant_type": "refresh_token", "refresh_token": refresh, "client_id": "cli_client"},
        {"grant_type": "refresh_token", "refresh_token": refresh, "scope": "access_control_api sast_api", **creds},
        {"grant_type": "authorization_code", "code": "x", **creds},
        {"grant_type": "client_credentials", **creds},
    ]
    for bad in malformed_tokens(refresh)[:25]:
        bodies.append({"grant_type": "refresh_token", "refresh_token": bad, **creds})
    return bodies


@pytest.fixture(scope="module")
def live() -> Iterator[MockServer]:
    with MockServer() as server:
        yield server


def _no_5xx(response: requests.Response, what: str) -> None:
    assert response.status_code < 500, f"{what}: {response.status_code} {response.text[:300]}"


def test_malformed_bearer_tokens(live: MockServer) -> None:
    genuine = live.token()
    tokens = malformed_tokens(genuine)
    paths = ["/SMTPSettings", "/MyProfile", "/identity/connect/userinfo"]
    count = 0
    with requests.Session() as http:
        for token in tokens:
            for path in paths:
                value = f"Bearer {token}".encode().decode("latin-1")
                response = http.get(live.api_url + path, headers={"Authorization": value}, timeout=TIMEOUT)
                _no_5xx(response, f"GET {path} with {token[:60]!r}")
                assert response.status_code == 401, (path, token[:60])
                assert response.headers["WWW-Authenticate"].startswith("Bearer")
                count += 1
    assert count >= 100


def test_basic_headers_refresh_tokens_and_grant_bodies(live: MockServer) -> None:
    refresh = requests.post(
        live.api_url + "/identity/connect/token",
        data={
            "grant_type": "password",
            "username": "admin",
            "password": "admin",
            "scope": "offline_access",
            "client_id": "resource_owner_client",
            "client_secret": DEFAULT_CLIENT_SECRET,
        },
        timeout=TIMEOUT,
    ).json()["refresh_token"]
    count = 0
    with requests.Session() as http:
        for header in basic_headers():
            for endpoint, body in (
                ("token", {"grant_type": "password", "username": "admin", "password": "admin"}),
                ("revocation", {"token": refresh}),
            ):
                response = http.post(
                    live.api_url + "/identity/connect/" + endpoint,
                    data=body,
                    headers={"Authorization": header},
                    timeout=TIMEOUT,
                )
                _no_5xx(response, f"{endpoint} with {header[:60]!r}")
                if response.status_code >= 400:
                    assert response.json()["error"] in OAUTH_ERRORS
                count += 1
        for body in grant_bodies(refresh):
            for endpoint in ("token", "revocation"):
                response = http.post(live.api_url + "/identity/connect/" + endpoint, data=body, timeout=TIMEOUT)
                _no_5xx(response, f"{endpoint} with {str(body)[:80]}")
                if response.status_code >= 400:
                    assert response.json()["error"] in OAUTH_ERRORS
                count += 1
        for raw, content_type in (
            (b"\xff\xfe", "application/x-www-form-urlencoded"),
            (b"{}", "application/json"),
            (b"a=%ZZ&&&=", "application/x-www-form-urlencoded"),
            (b"", None),
        ):
            for endpoint in ("token", "revocation"):
                headers = {"Content-Type": content_type} if content_type else {}
                response = http.post(
                    live.api_url + "/identity/connect/" + endpoint, data=raw, headers=headers, timeout=TIMEOUT
                )
                _no_5xx(response, f"{endpoint} with raw {raw!r}")
                count += 1
    assert count >= 100


def test_discovery_jwks_and_userinfo_requests(live: MockServer) -> None:
    base = live.api_url + "/identity"
    count = 0
    with requests.Session() as http:
        for path in (
            "/.well-known/openid-configuration",
            "/.well-known/openid-configuration/jwks",
            "/connect/userinfo",
            "/connect/revocation",
            "/connect/token",
            "/.well-known/nope",
        ):
            for method in ("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"):
                for extra in ("", "?x=1", "?%ff", "/"):
                    response = http.request(
                        method,
                        base + path + extra,
                        timeout=TIMEOUT,
                        headers={"Host": 'evil.example"<x>', "Accept": "text/html"},
                    )
                    _no_5xx(response, f"{method} {path}{extra}")
                    count += 1
    assert count >= 100
