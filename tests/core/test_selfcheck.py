"""core/selfcheck: a response is compared with what the OpenAPI document declares for its operation."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mockserver.core.selfcheck import check_response, find_operation

API = "/cxrestapi/auth"
JSON_V1 = {"Content-Type": "application/json;v=1.0"}
RECORD = {
    "id": 1,
    "host": "smtp.example.org",
    "port": 587,
    "encryptionType": "Tls",
    "fromAddress": "noreply@check.org",
    "useDefaultCredentials": False,
    "username": "noreply@check.org",
}


def body(value: Any) -> bytes:
    return json.dumps(value).encode()


@pytest.mark.parametrize(
    ("method", "path", "operation_id"),
    [
        ("GET", "/SMTPSettings", "getAllSmtpSettings"),
        ("POST", "/SMTPSettings", "createSmtpSettings"),
        ("GET", "/SMTPSettings/7", "getSmtpSettingsById"),
        ("DELETE", "/SMTPSettings/abc", "deleteSmtpSettings"),
        ("POST", "/SMTPSettings/testconnection", "testSmtpConnection"),
        ("post", "/identity/connect/token", "getToken"),
    ],
)
def test_find_operation(method: str, path: str, operation_id: str) -> None:
    operation = find_operation(method, API + path)
    assert operation is not None and operation.operation_id == operation_id


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/SMTPSettings/testconnection"),  # the concrete path wins; it has no GET
        ("HEAD", "/SMTPSettings"),
        ("GET", "/SMTPSettings/1/extra"),
        ("GET", "/nope"),
        ("GET", "/_mock/health"),
    ],
)
def test_requests_the_document_does_not_describe_are_not_checked(method: str, path: str) -> None:
    full = path if path.startswith("/_mock") else API + path
    assert find_operation(method, full) is None
    assert check_response(method, full, 500, {}, b"whatever") == []


def test_conforming_responses_pass() -> None:
    assert check_response("GET", API + "/SMTPSettings", 200, JSON_V1, body([RECORD])) == []
    assert check_response("GET", API + "/SMTPSettings/1", 200, JSON_V1, body({**RECORD, "username": None})) == []
    assert check_response("POST", API + "/SMTPSettings", 201, {"Location": f"{API}/SMTPSettings/2"}, b"") == []
    assert check_response("PUT", API + "/SMTPSettings/1", 204, {}, b"") == []
    error = body({"message": "port must be an integer"})
    assert check_response("PUT", API + "/SMTPSettings/1", 400, JSON_V1, error) == []
    unauthorized = {**JSON_V1, "www-authenticate": "Bearer"}  # header names are case-insensitive
    assert check_response("DELETE", API + "/SMTPSettings/1", 401, unauthorized, body({"message": "x"})) == []
    token = {"access_token": "t", "token_type": "Bearer", "expires_in": 3600}
    assert (
        check_response("POST", API + "/identity/connect/token", 200, {"Content-Type": "application/json"}, body(token))
        == []
    )


def test_an_undeclared_status_is_reported() -> None:
    (problem,) = check_response("GET", API + "/SMTPSettings", 500, JSON_V1, body({"message": "x"}))
    assert "getAllSmtpSettings answered status 500" in problem and "200, 401, 403, 406" in problem


def test_a_missing_required_header_is_reported() -> None:
    assert check_response("POST", API + "/SMTPSettings", 201, {}, b"") == [
        "createSmtpSettings 201: the required header Location is missing"
    ]
    problems = check_response("GET", API + "/SMTPSettings", 401, JSON_V1, body({"message": "x"}))
    assert problems == ["getAllSmtpSettings 401: the required header WWW-Authenticate is missing"]


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, "no Content-Type; the document declares application/json;v=1.0"),
        ({"Content-Type": "application/json"}, "Content-Type 'application/json' is not declared"),
        ({"Content-Type": "application/json;v=2.0"}, "is not declared"),
        ({"Content-Type": "text/html"}, "is not declared"),
    ],
)
def test_a_wrong_content_type_is_reported(headers: dict[str, str], expected: str) -> None:
    (problem,) = check_response("GET", API + "/SMTPSettings", 200, headers, body([RECORD]))
    assert expected in problem


def test_media_type_parameters_compare_loosely() -> None:
    headers = {"Content-Type": 'Application/JSON; charset=utf-8; v="1.0"'}
    assert check_response("GET", API + "/SMTPSettings", 200, headers, body([RECORD])) == []


def test_schema_errors_name_the_location() -> None:
    wrong = {**RECORD, "encryptionType": "tls", "port": 0}
    problems = check_response("GET", API + "/SMTPSettings/1", 200, JSON_V1, body(wrong))
    assert any("body at /encryptionType" in p and "'tls' is not one of" in p for p in problems)
    assert any("body at /port" in p for p in problems)
    (problem,) = check_response("GET", API + "/SMTPSettings", 200, JSON_V1, body(RECORD))
    assert problem == "getAllSmtpSettings 200: body at /: must be of type array, got object"


def test_schema_errors_are_bounded() -> None:
    wrong: dict[str, list[object]] = {key: [] for key in RECORD}
    problems = check_response("GET", API + "/SMTPSettings/1", 200, JSON_V1, body(wrong))
    assert len(problems) == 4 and problems[-1].endswith("more schema errors in the body")


def test_a_password_in_a_response_is_reported_without_its_value() -> None:
    problems = check_response("GET", API + "/SMTPSettings/1", 200, JSON_V1, body({**RECORD, "password": "s3cret-pw"}))
    assert problems and not any("s3cret-pw" in p for p in problems)


def test_body_where_none_is_declared_and_none_where_one_is() -> None:
    assert check_response("DELETE", API + "/SMTPSettings/1", 204, {}, b"{}") == [
        "deleteSmtpSettings 204: the document declares no body, but 2 bytes were sent"
    ]
    (problem,) = check_response("GET", API + "/SMTPSettings", 200, JSON_V1, b"")
    assert "the body is empty" in problem
    (problem,) = check_response("GET", API + "/SMTPSettings", 200, JSON_V1, b")]}',\n[]")
    assert "not valid JSON" in problem


def test_an_unknown_body_is_not_checked() -> None:
    assert check_response("GET", API + "/SMTPSettings", 200, JSON_V1, None) == []
