"""The pure drift logic (``mockserver/core/drift``): shapes and comparisons, the document's view of an answer, the
the bounded drift list. (The lint of a proxied request against ``cxmock serve``'s: tests/proxy.)"""

from __future__ import annotations

import json
from typing import Any

import pytest

from mockserver.core.drift.answers import canonical_path, document_drift, operation_id
from mockserver.core.drift.shapes import Answer, compare, describe, shape
from mockserver.core.drift.store import DriftLog

JSON = {"content-type": "application/json;v=1.0"}


def answer(status: int, body: Any = None, **headers: str) -> Answer:
    raw = b"" if body is None else json.dumps(body).encode()
    return Answer.of(status, {**(JSON if body is not None else {}), **headers}, raw)


def test_a_shape_has_member_names_and_types_never_values() -> None:
    body = b'[{"id": 1, "host": "secret-host", "port": 25, "username": null}, {"id": 2, "username": "u"}]'
    assert shape(body) == [{"id": "integer", "host": "string", "port": "integer", "username": "string"}]
    assert "secret-host" not in describe(Answer.of(200, {}, body))
    assert shape(b"") is None and shape(b"<html>") == "not JSON"


def test_same_status_and_shape_agree_whatever_the_values() -> None:
    assert (
        compare(
            answer(200, {"id": 1, "host": "a", "username": None}), answer(200, {"id": 9, "host": "b", "username": "x"})
        )
        == []
    )


@pytest.mark.parametrize(
    ("service", "mock", "expected"),
    [
        (answer(200, []), answer(404, {"message": "x"}), "status: the service answered 200, the mock 404"),
        (answer(200, {"id": 1, "roles": []}), answer(200, {"id": 1}), "body: members only the service sends: roles"),
        (answer(200, {"id": "1"}), answer(200, {"id": 1}), "body.id: the service sent string, the mock integer"),
        (answer(201, Location="/x/1"), answer(201), "header Location: sent by the service, not by the mock"),
        (
            answer(401, {"message": "m"}),
            answer(401, {"message": "m"}, **{"www-authenticate": "Bearer"}),
            "header WWW-Authenticate: sent by the mock, not by the service",
        ),
        (
            Answer.of(400, {"content-type": "application/json; charset=utf-8"}, b'{"message":"m"}'),
            answer(400, {"message": "m"}),
            "Content-Type: the service sent 'application/json', the mock 'application/json;v=1.0'",
        ),
        (answer(200, [{"id": 1}]), answer(200, [{"id": 1, "x": 2}]), "body[]: members only the mock sends: x"),
    ],
)
def test_differences_are_named(service: Answer, mock: Answer, expected: str) -> None:
    assert expected in compare(service, mock)


def test_paths_are_checked_in_the_documents_case() -> None:
    assert canonical_path("/CxRestAPI/auth/smtpsettings/7") == "/cxrestapi/auth/SMTPSettings/7"
    assert (
        canonical_path("/cxrestapi/auth/smtpsettings/TestConnection") == "/cxrestapi/auth/SMTPSettings/testconnection"
    )
    assert canonical_path("/elsewhere") == "/elsewhere"
    assert operation_id("post", "/cxrestapi/auth/IDENTITY/connect/token") == "getToken"
    assert operation_id("GET", "/cxrestapi/auth/nothing") is None


def test_document_drift_says_what_the_service_answered_and_what_the_document_says() -> None:
    [undeclared] = document_drift("GET", "/cxrestapi/auth/myprofile", 500, {}, b"")
    assert undeclared.startswith("the service answered getMyProfile 500, where the document says getMyProfile answers")
    [typed] = document_drift(
        "GET",
        "/cxrestapi/auth/SMTPSettings",
        200,
        {"Content-Type": "application/json;v=1.0"},
        b'[{"id":1,"host":"h","port":"25","encryptionType":"None","fromAddress":"a@b.c",'
        b'"useDefaultCredentials":false,"username":null,"displayName":null}]',
    )
    assert "getAllSmtpSettings 200, where the document says otherwise: body at /0/port" in typed
    assert (
        document_drift("GET", "/cxrestapi/auth/SMTPSettings", 200, {"Content-Type": "application/json;v=1.0"}, b"[]")
        == []
    )


def test_the_drift_list_is_bounded_and_summarised() -> None:
    drift = DriftLog(limit=3)
    for i in range(5):
        drift.add("document", "m", method="get", path="/p", status=200, operation_id="op", request_id=i)
    assert len(drift) == 3 and [r.id for r in drift.records()] == [3, 4, 5]
    assert drift.summary() == [
        {"kind": "document", "operationId": "op", "message": "m", "count": 3, "lastRequestId": 4}
    ]
    assert drift.records()[0].line() == "[document] #2 GET /p → 200 (op): m"
    with pytest.raises(ValueError, match="drift kind"):
        drift.add("other", "m", method="GET", path="/", status=None)
    drift.clear()
    assert drift.records() == [] and drift.add("shadow", "x", method="GET", path="/", status=1).id == 6
