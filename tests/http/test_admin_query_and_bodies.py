"""#16 item 13: the journal keeps response bodies (redacted, bounded), so a 400's message can be recovered; unknown
query parameters on every admin route are a 400 with a did-you-mean; a 400 for a body with ``fromAddr`` says
"did you mean 'fromAddress'"."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from mockserver.core.journal.journal import RESPONSE_BODY_LIMIT, RESPONSE_BODY_PARSE_LIMIT
from tests.conftest import issue_token

SMTP = "/cxrestapi/auth/SMTPSettings"


def test_a_400s_message_is_recovered_from_the_journal(client: FlaskClient, headers: dict[str, str]) -> None:
    body = {"host": "a.example.org", "port": 25, "encryptionType": "None", "fromAddr": "a@check.org"}
    response = client.post(SMTP, json=body, headers={**headers, "Content-Type": "application/json;v=1.0"})
    assert response.status_code == 400
    message = json.dumps(response.get_json())
    assert "fromAddress is required; did you mean 'fromAddress' instead of" in message
    (entry,) = client.get("/_mock/requests?status=400").get_json()
    sent = response.get_json()
    kept = entry["responseBody"]
    # the message survives whole; members named like secrets are masked in response bodies as in request bodies
    assert {k: v for k, v in kept.items() if k != "errors"} == {k: v for k, v in sent.items() if k != "errors"}
    if "errors" in sent:
        assert kept["errors"]["fromAddress"] == sent["errors"]["fromAddress"]
    assert entry["id"] == int(response.headers["X-Cxmock-Request-Id"])


def test_journaled_token_responses_are_redacted(client: FlaskClient) -> None:
    form = {
        "grant_type": "password",
        "username": "admin",
        "password": "admin",
        "scope": "access_control_api offline_access",
        "client_id": "resource_owner_client",
        "client_secret": "014DF517-39D1-4453-B7B3-9930C563627C",
    }
    token = client.post("/cxrestapi/auth/identity/connect/token", data=form).get_json()
    (entry,) = client.get("/_mock/requests").get_json()
    assert entry["responseBody"]["access_token"] == "***"
    assert entry["responseBody"]["token_type"] == "Bearer"
    assert token["access_token"] not in json.dumps(entry)
    if "refresh_token" in token:
        assert token["refresh_token"] not in json.dumps(entry)


def test_large_response_bodies_are_bounded(make_app: Any) -> None:
    state, app = make_app()
    records = [
        {
            "host": f"relay{i}.example.org",
            "port": 25,
            "encryptionType": "None",
            "fromAddress": "a@check.org",
            "useDefaultCredentials": True,
        }
        for i in range(200)
    ]
    with app.test_client() as client:
        assert client.post("/_mock/seed", json=records).status_code == 200
        headers = {"Authorization": f"Bearer {issue_token(state)}", "Accept": "application/json;v=1.0"}
        listing = client.get(SMTP, headers=headers)
        assert listing.status_code == 200 and len(listing.data) > RESPONSE_BODY_LIMIT
        (entry,) = client.get("/_mock/requests").get_json()
    kept = entry["responseBody"]
    assert kept["truncated"] is True and kept["size"] == len(listing.data)
    assert len(kept["head"]) == RESPONSE_BODY_LIMIT and kept["head"].startswith('[{"id":')


def test_a_huge_response_body_is_journaled_by_its_size_only(make_app: Any) -> None:
    """Over RESPONSE_BODY_PARSE_LIMIT the body is not parsed for its head (redacting 1.6 MB cost ~200 ms a request)."""
    state, app = make_app(settings_limit=2000, max_body=1024 * 1024)
    records = [
        {"host": f"relay{i}.example.org", "port": 25, "fromAddress": "a@check.org", "useDefaultCredentials": True}
        for i in range(1000)
    ]
    with app.test_client() as client:
        assert client.post("/_mock/seed", json=records).status_code == 200
        headers = {"Authorization": f"Bearer {issue_token(state)}", "Accept": "application/json;v=1.0"}
        listing = client.get(SMTP, headers=headers)
        assert listing.status_code == 200 and len(listing.data) > RESPONSE_BODY_PARSE_LIMIT
        (entry,) = client.get("/_mock/requests").get_json()
    assert entry["responseBody"] == {"truncated": True, "size": len(listing.data), "head": None}


def test_unknown_query_parameter_on_requests_is_a_400_with_did_you_mean(client: FlaskClient) -> None:
    response = client.get("/_mock/requests?statsu=401")
    assert response.status_code == 400
    text = json.dumps(response.get_json())
    assert "unknown query parameter 'statsu' for GET /_mock/requests; did you mean 'status'?" in text
    assert "accepted: method, path, operationId, status, since, limit" in text
    assert client.get("/_mock/requests?status=401").status_code == 200


def _admin_routes(app: Flask) -> list[tuple[str, str]]:
    out = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("admin."):  # the admin API (the dashboard under /_mock/ui is its own)
            continue
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", "1", rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            out.append((method, path))
    return out


def test_every_admin_route_refuses_an_unknown_query_parameter(app: Flask, client: FlaskClient) -> None:
    routes = _admin_routes(app)
    assert len(routes) >= 15
    for method, path in routes:
        response = client.open(path + "?bogus=1", method=method)
        assert response.status_code == 400, (method, path, response.status_code)
        assert "unknown query parameter 'bogus'" in json.dumps(response.get_json()), (method, path)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("/_mock/messages?sbject=x", "did you mean 'subject'?"),
        ("/_mock/violations?formt=json", "did you mean 'format'?"),
        ("/_mock/health?verbose=1", "this route takes no query parameters"),
    ],
)
def test_near_misses_get_a_suggestion(client: FlaskClient, url: str, expected: str) -> None:
    response = client.get(url)
    assert response.status_code == 400 and expected in json.dumps(response.get_json())
