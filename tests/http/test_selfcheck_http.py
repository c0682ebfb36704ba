"""``--validate-responses``: the app checks its own responses against the document, logs and journals mismatches.

The suite runs with the self-check on everywhere (tests/conftest.py); here a view is deliberately broken.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask, Response

from mockserver.config import Config
from mockserver.core.contract import JSON_V1
from mockserver.core.state import State
from mockserver.http import api
from mockserver.http.errors import json_response
from tests.conftest import issue_token

ITEM = "/cxrestapi/auth/SMTPSettings/1"


def _wrong_record(self: Any, id: str) -> Response:  # noqa: A002
    """A broken ``GET /SMTPSettings/{id}``: leaks the password and answers a non-canonical encryptionType."""
    record = {
        "id": 1,
        "host": "smtp.example.org",
        "port": 587,
        "encryptionType": "tls",
        "fromAddress": "noreply@check.org",
        "useDefaultCredentials": False,
        "username": "noreply@check.org",
        "password": "leaked-pw-123",
    }
    return json_response(record)


def _headers(state: State) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(state)}", "Accept": JSON_V1}


def test_the_suite_runs_with_the_self_check_on_while_the_product_default_is_off() -> None:
    assert Config().validate_responses is True  # switched by tests/conftest.py for the session
    assert Config.spec("validate_responses").default is False


def test_a_wrong_response_is_logged_and_journaled(
    make_app: Callable[..., tuple[State, Flask]],
    monkeypatch: pytest.MonkeyPatch,
    response_mismatches: list[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    state, app = make_app(validate_responses=True)
    monkeypatch.setattr(api.SettingsItem, "get", _wrong_record)
    with caplog.at_level(logging.ERROR, logger="cxmock"), app.test_client() as client:
        response = client.get(ITEM, headers=_headers(state))
    assert response.status_code == 200  # sent unchanged: the self-check reports, it never repairs
    assert response.json is not None and response.json["encryptionType"] == "tls"

    (entry,) = state.journal.entries(operation_id="getSmtpSettingsById")
    mismatches = [v for v in entry.violations if v.code == "response-mismatch"]
    assert mismatches and all(v.severity == "error" for v in mismatches)
    text = " ".join(v.message for v in mismatches)
    assert "getSmtpSettingsById 200: body at /encryptionType" in text
    assert "'password' was unexpected" in text
    assert "leaked-pw-123" not in text

    assert len(response_mismatches) == len(mismatches)
    assert any(
        r.name == "cxmock.selfcheck" and "GET /cxrestapi/auth/SMTPSettings/1" in r.getMessage() for r in caplog.records
    )
    response_mismatches.clear()  # provoked on purpose: the autouse fixture must not fail this test


def test_an_undeclared_status_is_caught(
    make_app: Callable[..., tuple[State, Flask]], monkeypatch: pytest.MonkeyPatch, response_mismatches: list[str]
) -> None:
    state, app = make_app(validate_responses=True)
    monkeypatch.setattr(api.SettingsItem, "delete", lambda self, id: Response(status=200))
    with app.test_client() as client:
        assert client.delete(ITEM, headers=_headers(state)).status_code == 200
    assert response_mismatches == [
        "response does not match openapi/cxmock.yaml: DELETE /cxrestapi/auth/SMTPSettings/1: deleteSmtpSettings "
        "answered status 200, which the document does not declare (declared: 204, 400, 401, 403, 404)"
    ]
    response_mismatches.clear()


def test_a_missing_location_is_caught(
    make_app: Callable[..., tuple[State, Flask]], monkeypatch: pytest.MonkeyPatch, response_mismatches: list[str]
) -> None:
    state, app = make_app(validate_responses=True)
    monkeypatch.setattr(api.SettingsCollection, "post", lambda self: api.no_content(201))
    with app.test_client() as client:
        assert client.post("/cxrestapi/auth/SMTPSettings", headers=_headers(state)).status_code == 201
    assert [m.rsplit(": ", 1)[-1] for m in response_mismatches] == ["the required header Location is missing"]
    response_mismatches.clear()


def test_responses_shaped_by_a_fault_are_not_checked(
    make_app: Callable[..., tuple[State, Flask]], response_mismatches: list[str]
) -> None:
    state, app = make_app(validate_responses=True)
    state.faults.add(action={"type": "status", "status": 503}, times=1)
    state.faults.add(action={"type": "content_type", "value": "text/html"}, times=1)
    with app.test_client() as client:
        assert client.get(ITEM, headers=_headers(state)).status_code == 503
        faulted = client.get(ITEM, headers=_headers(state))
        assert faulted.status_code == 200 and faulted.headers["Content-Type"] == "text/html"
    assert response_mismatches == []
    assert not [v for e in state.journal.entries() for v in e.violations if v.code == "response-mismatch"]


def test_off_means_unchecked(
    make_app: Callable[..., tuple[State, Flask]], monkeypatch: pytest.MonkeyPatch, response_mismatches: list[str]
) -> None:
    state, app = make_app(validate_responses=False)
    monkeypatch.setattr(api.SettingsItem, "get", _wrong_record)
    with app.test_client() as client:
        assert client.get(ITEM, headers=_headers(state)).status_code == 200
    assert response_mismatches == []
    assert "response-mismatch" not in {v.code for e in state.journal.entries() for v in e.violations}
