"""The contract (mockserver/core/contract.py): body validation from the document, coercions, negotiation, ids."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mockserver.core.contract import (
    JSON_V1,
    parse_json,
    parse_seed,
    parse_settings,
    parse_test_connection,
    show,
)
from mockserver.core.document import component_schema
from mockserver.core.negotiation import check_body_size, check_content_type, negotiate_accept, parse_id
from mockserver.errors import BadRequest, ConfigError, NotAcceptable, NotFound, PayloadTooLarge, UnsupportedMediaType

BODY: dict[str, Any] = {
    "host": "smtp.example.org",
    "port": 587,
    "encryptionType": "Tls",
    "fromAddress": "noreply@example.org",
    "useDefaultCredentials": False,
    "username": "mailer",
    "password": "contract-secret",
}


def raw(body: Any) -> bytes:
    return json.dumps(body).encode()


def codes(violations: list[Any]) -> set[str]:
    return {v.code for v in violations}


# -- bodies -------------------------------------------------------------------------------------------------------


def test_valid_body_becomes_canonical_fields() -> None:
    parsed = parse_settings(raw(BODY))
    assert parsed.fields == {
        "host": "smtp.example.org",
        "port": 587,
        "encryption_type": "Tls",
        "from_address": "noreply@example.org",
        "use_default_credentials": False,
        "username": "mailer",
        "password": "contract-secret",
        "display_name": None,
    }
    assert parsed.violations == [] and parsed.unknown == []


def test_coercions_are_applied_and_reported() -> None:
    parsed = parse_settings(raw({**BODY, "encryptionType": "SSL", "useDefaultCredentials": "FALSE"}))
    assert parsed.fields["encryption_type"] == "Ssl"
    assert parsed.fields["use_default_credentials"] is False
    assert {"coerced-enum-case", "coerced-boolean"} <= codes(parsed.violations)


def test_default_credentials_make_username_optional_and_null() -> None:
    body = {k: v for k, v in BODY.items() if k not in ("username", "password")}
    parsed = parse_settings(raw({**body, "useDefaultCredentials": "True"}))
    assert parsed.fields["use_default_credentials"] is True
    assert parsed.fields["username"] is None


def test_unknown_members_are_ignored_and_reported_with_a_suggestion() -> None:
    parsed = parse_settings(raw({**BODY, "fromAdress": "x@y.org"}))
    assert parsed.unknown == ["fromAdress"]
    assert "fromAdress" not in parsed.fields and "from_adress" not in parsed.fields
    # a near miss of a member, with a value: the value is lost, so the service answers differently (warning)
    assert codes(parsed.violations) == {"unknown-member-near-miss"}
    assert parsed.violations[0].severity == "warning"
    assert "fromAddress" in parsed.violations[0].message


def test_strict_mode_rejects_unknown_members() -> None:
    with pytest.raises(BadRequest) as info:
        parse_settings(raw({**BODY, "fromAdress": "x@y.org"}), strict=True)
    assert info.value.errors is not None and "fromAdress" in info.value.errors
    assert "fromAddress" in info.value.details


def test_missing_member_near_an_unknown_one_gets_a_hint() -> None:
    body = {k: v for k, v in BODY.items() if k != "host"}
    with pytest.raises(BadRequest) as info:
        parse_settings(raw({**body, "hots": "smtp.example.org"}))
    assert "host" in info.value.errors  # type: ignore[operator]
    assert "hots" in info.value.details


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"port": 0}, "port"),
        ({"port": "abc"}, "port"),
        ({"port": 70000}, "port"),
        ({"port": True}, "port"),
        ({"encryptionType": "Starttls"}, "encryptionType"),
        ({"fromAddress": None}, "fromAddress"),
        ({"fromAddress": 7}, "fromAddress"),
        ({"host": None}, "host"),
        ({"host": ["a.org"]}, "host"),
        ({"useDefaultCredentials": "yes"}, "useDefaultCredentials"),
        ({"username": 7}, "username"),
    ],
)
def test_invalid_field_names_the_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(BadRequest) as info:
        parse_settings(raw({**BODY, **change}))
    assert info.value.status == 400
    assert info.value.errors is not None and list(info.value.errors) == [field]
    assert info.value.details.startswith("invalid SMTP settings: ")
    assert field in info.value.details


def test_messages_escape_markup_in_client_input() -> None:
    with pytest.raises(BadRequest) as info:
        parse_settings(raw({**BODY, "host": "<script>alert(1)</script>"}), strict=True)
    assert "<script>" not in info.value.details
    (lint,) = parse_settings(raw({**BODY, "host": "<script>alert(1)</script>"})).violations
    assert lint.code == "host-invalid" and "<script>" not in lint.message


def test_malformed_password_is_never_echoed() -> None:
    for value, strict in (
        (123456789, False),
        (["contract-secret"], False),
        ({"p": "contract-secret"}, False),
        ("contract-secret" * 30, True),  # the service takes any length: only --strict refuses it
    ):
        with pytest.raises(BadRequest) as info:
            parse_settings(raw({**BODY, "password": value}), strict=strict)
        text = info.value.details + json.dumps(info.value.errors)
        assert "contract-secret" not in text and "123456789" not in text
        assert "password" in text


def test_null_password_is_accepted_and_linted_on_create_not_on_update() -> None:
    body = {**BODY, "password": None}
    assert parse_settings(raw(body), update=True).fields["password"] is None
    assert "credentials-missing" not in codes(parse_settings(raw(body), update=True).violations)
    created = parse_settings(raw(body))  # the service's model allows it: stored, linted
    assert created.fields["password"] is None and "credentials-missing" in codes(created.violations)


def test_only_host_port_and_from_address_are_required() -> None:
    """The service's CreateSMTPSettingsViewModel: everything else is optional, with the C# defaults."""
    parsed = parse_settings(raw({"host": "h.example.org", "port": 25, "fromAddress": "a@example.org"}))
    assert parsed.fields == {
        "host": "h.example.org",
        "port": 25,
        "from_address": "a@example.org",
        "encryption_type": "None",
        "use_default_credentials": False,
        "username": None,
        "display_name": None,
    }
    (lint,) = parsed.violations
    assert lint.code == "credentials-missing" and lint.severity == "warning"
    assert "username and password are missing" in lint.message
    with pytest.raises(BadRequest) as info:
        parse_settings(raw({"port": 25}))
    assert set(info.value.errors or {}) == {"host", "fromAddress"}


def test_use_default_credentials_may_not_be_null() -> None:
    with pytest.raises(BadRequest) as info:
        parse_settings(raw({**BODY, "useDefaultCredentials": None}))
    assert "useDefaultCredentials must be true or false (not null)" in info.value.details


def test_update_does_not_need_a_password() -> None:
    body = {k: v for k, v in BODY.items() if k != "password"}
    assert "password" not in parse_settings(raw(body), update=True).fields


def test_test_connection_body_adds_the_receiver() -> None:
    parsed = parse_test_connection(raw({**BODY, "recieverEmail": "admin@example.org"}))
    assert parsed.fields["receiver"] == "admin@example.org"
    with pytest.raises(BadRequest) as info:
        parse_test_connection(raw(BODY))
    assert "recieverEmail" in info.value.errors  # type: ignore[operator]
    assert info.value.details.startswith("invalid testconnection request: recieverEmail is required")


def test_the_documentation_spelling_alone_is_400_naming_the_service_spelling() -> None:
    with pytest.raises(BadRequest) as info:
        parse_test_connection(raw({**BODY, "receiverEmail": "admin@example.org"}))
    message = info.value.details
    assert "recieverEmail is required" in message and "'receiverEmail' is not bound by the service" in message
    (lint,) = info.value.violations
    assert (lint.code, lint.severity) == ("doc-spelling", "error")


def test_both_spellings_use_the_service_one_and_lint_the_other() -> None:
    parsed = parse_test_connection(
        raw({**BODY, "recieverEmail": "svc@example.org", "receiverEmail": "doc@example.org"})
    )
    assert parsed.fields["receiver"] == "svc@example.org"
    assert codes(parsed.violations) == {"doc-spelling"}


def test_display_name_is_kept() -> None:
    assert parse_settings(raw({**BODY, "displayName": "Checkmarx"})).fields["display_name"] == "Checkmarx"
    injected = {**BODY, "displayName": "a\r\nBcc: x@example.org"}
    stored = parse_settings(raw(injected))  # the service stores it; no test mail can carry it
    assert codes(stored.violations) == {"value-unsendable"}
    with pytest.raises(BadRequest) as info:
        parse_settings(raw(injected), strict=True)
    assert "displayName must not contain line breaks" in info.value.details
    with pytest.raises(BadRequest) as info:
        parse_test_connection(raw({**injected, "recieverEmail": "a@example.org"}))
    assert "displayName must not contain line breaks" in info.value.details


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"", "empty"),
        (b"   ", "empty"),
        (b"\xff{}", "UTF-8"),
        (b"{", "not valid JSON"),
        (b'{"port": NaN}', "NaN"),
        (b"[" * 100_000 + b"]" * 100_000, "JSON"),
    ],
)
def test_parse_json_errors_are_bad_requests(data: bytes, fragment: str) -> None:
    with pytest.raises(BadRequest) as info:
        parse_json(data)
    assert fragment in info.value.details


@pytest.mark.parametrize("body", [[], "x", 1, None, True])
def test_body_must_be_an_object(body: Any) -> None:
    with pytest.raises(BadRequest, match="JSON object"):
        parse_settings(raw(body))


# -- seed -----------------------------------------------------------------------------------------------------------


def test_parse_seed_accepts_lists_mappings_and_none() -> None:
    records = parse_seed([{**BODY, "id": 5}])
    assert records[0]["id"] == 5 and records[0]["encryption_type"] == "Tls"
    assert parse_seed({"settings": [BODY]})[0]["host"] == "smtp.example.org"
    assert parse_seed(None) == []


@pytest.mark.parametrize(
    ("records", "fragment"),
    [
        ([{**BODY, "port": 0}], "port"),
        ([{**BODY, "id": "one"}], "id"),
        ([{**BODY, "id": True}], "id"),
        ([BODY, {**BODY, "extra": 1}], "record 1"),
        ("not a list", "list"),
        ([1], "mapping"),
    ],
)
def test_parse_seed_errors_name_the_record_and_field(records: Any, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_seed(records, source="seed file x.yaml")
    assert fragment in str(info.value)
    assert "x.yaml" in str(info.value)


# -- ids and sizes --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "value"), [("1", 1), ("42", 42), ("007", 7), (str(2**31 - 1), 2**31 - 1)])
def test_parse_id(text: str, value: int) -> None:
    assert parse_id(text) == value


@pytest.mark.parametrize("text", ["0", "-1", str(-(2**31))])
def test_parse_id_of_an_int32_below_1_reaches_the_lookup_and_is_400_in_strict_mode(text: str) -> None:
    assert parse_id(text) == int(text)  # the lookup then answers 404 not found, as the service's action does
    with pytest.raises(BadRequest) as info:
        parse_id(text, strict=True)
    assert info.value.message_code == 10002 and "between 1 and 2147483647" in info.value.details


@pytest.mark.parametrize("text", ["", "abc", "1.0", "+1", " 1", "١", str(2**31), str(-(2**31) - 1), "1" * 31])
def test_parse_id_of_no_int32_is_404_as_a_failed_route_constraint(text: str) -> None:
    with pytest.raises(NotFound) as info:
        parse_id(text)
    assert "no route matches id" in info.value.details and "Int32" in info.value.details


def test_check_body_size() -> None:
    check_body_size(None, 10)
    check_body_size(10, 10)
    with pytest.raises(PayloadTooLarge, match="11 bytes"):
        check_body_size(11, 10)


# -- negotiation ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "lint"),
    [
        (JSON_V1, set()),
        ("application/json;v=1", set()),
        ("application/json", {"version-missing"}),
        ("*/*", {"version-missing"}),
        (None, {"version-missing"}),
        ("", {"version-missing"}),
    ],
)
def test_negotiate_accept_ok(accept: str | None, lint: set[str]) -> None:
    assert codes(negotiate_accept(accept)) == lint


@pytest.mark.parametrize("accept", ["application/json;v=2.0", "text/html", "application/json;v=1.0;q=0", ",,,"])
def test_negotiate_accept_406(accept: str) -> None:
    with pytest.raises(NotAcceptable):
        negotiate_accept(accept)


@pytest.mark.parametrize(
    ("content_type", "lint"),
    [
        (JSON_V1, set()),
        ("application/json", {"version-missing"}),
        ("application/json; charset=utf-8", {"version-missing"}),
    ],
)
def test_check_content_type_ok(content_type: str, lint: set[str]) -> None:
    assert codes(check_content_type(content_type)) == lint


@pytest.mark.parametrize(
    ("content_type", "code"),
    [
        (None, "media-type-missing"),
        ("", "media-type-missing"),
        ("text/plain", "media-type-wrong"),
        ("application/json;v=2.0", "version-unsupported"),
        ("application/jsonx", "media-type-wrong"),
    ],
)
def test_check_content_type_415(content_type: str | None, code: str) -> None:
    with pytest.raises(UnsupportedMediaType) as info:
        check_content_type(content_type)
    assert codes(info.value.violations) == {code}


def test_show_is_short_and_escaped() -> None:
    assert show("x" * 100).endswith("…")
    assert len(show("x" * 100)) == 40
    assert "<" not in show("<b>") and "&" not in show("&")
    assert show(object()).startswith("<") is False


def test_the_document_drives_validation() -> None:
    """The validator reads the document: its Port bounds are the ones enforced."""
    port = component_schema("CreateSmtpSettingsModel")["properties"]["port"]["anyOf"][0]
    assert (port["minimum"], port["maximum"]) == (1, 65535)
    assert "$ref" not in json.dumps(component_schema("TestConnectionModel"))


def test_the_documentation_spelling_in_another_case_is_recognised_too() -> None:
    """Member names bind in any case (#22): ``ReceiverEmail`` is still the page's spelling, not the service's."""
    with pytest.raises(BadRequest) as info:
        parse_test_connection(raw({**BODY, "ReceiverEmail": "admin@example.org"}))
    assert "recieverEmail is required" in info.value.details
    parsed = parse_test_connection(raw({**BODY, "RecieverEmail": "admin@example.org"}))  # the service's, any case
    assert parsed.fields["receiver"] == "admin@example.org" and codes(parsed.violations) == {"member-case"}


def test_strict_rules_are_the_documents_x_cxmock_strict() -> None:
    """``--strict`` validates against the document with its ``x-cxmock-strict`` rules merged in."""
    for value in ("smtp_relay.example.org", "", "a" * 256, "smtp://x.org"):
        assert parse_settings(raw({**BODY, "host": value})).fields["host"] == value
        with pytest.raises(BadRequest, match="host must (be a host name or IP address|not be empty|be at most)"):
            parse_settings(raw({**BODY, "host": value}), strict=True)
    for value in ("Checkmarx <noreply@check.org>", '"a b"@example.org', "jöhn@example.org", "***", ""):
        assert parse_settings(raw({**BODY, "fromAddress": value})).fields["from_address"] == value
        with pytest.raises(BadRequest, match="fromAddress"):
            parse_settings(raw({**BODY, "fromAddress": value}), strict=True)
    with pytest.raises(BadRequest, match="port must be an integer"):
        parse_settings(raw({**BODY, "port": "25"}), strict=True)
    with pytest.raises(BadRequest, match="useDefaultCredentials must be true or false"):
        parse_settings(raw({**BODY, "useDefaultCredentials": 1}), strict=True)
    with pytest.raises(BadRequest, match="not part of the contract"):
        parse_settings(raw({**BODY, "Host": "x.org"}), strict=True)


def test_test_connection_reads_name_and_address_apart() -> None:
    parsed = parse_test_connection(
        raw({**BODY, "fromAddress": '"Cx, Inc." <noreply@check.org>', "recieverEmail": "Ops <ops@example.org>"})
    )
    assert parsed.fields["from_address"] == "noreply@check.org" and parsed.fields["receiver"] == "ops@example.org"
    assert parsed.fields["display_name"] == "Cx, Inc."
    named = parse_test_connection(
        raw({**BODY, "fromAddress": "X <a@check.org>", "displayName": "Wins", "recieverEmail": "o@example.org"})
    )
    assert named.fields["display_name"] == "Wins"  # .NET's MailAddress(address, displayName)
