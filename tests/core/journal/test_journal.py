"""The request journal: redaction, bounds, filters and assert_called messages."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest

from mockserver.core.faults.decisions import HttpFault
from mockserver.core.journal.assertions import assert_called
from mockserver.core.journal.entry import JournalEntry
from mockserver.core.journal.journal import Journal
from mockserver.core.lint.lint import violation
from mockserver.core.redaction import redact_body, redact_headers, redact_query
from mockserver.errors import AssertionHelperError, ConfigError

SMTP = "/cxrestapi/auth/SMTPSettings"
TOKEN = "eyJhbGciOiJSUzI1NiJ9.PAYLOAD-sekret-token-ZQ7x"
PASSWORD = "Pa55-w0rd-DISTINCTIVE-91"
CLIENT_SECRET = "014DF517-39D1-4453-B7B3-9930C563627C-distinct"
REFRESH = "refresh-DISTINCTIVE-7781"
ADMIN = "admin-token-DISTINCTIVE-5521"
SECRETS = [TOKEN, PASSWORD, CLIENT_SECRET, REFRESH, ADMIN, "PAYLOAD-sekret"]


def _assert_clean(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"secret {secret!r} leaked into {text}"


# --- redaction -------------------------------------------------------------------------------------------


def test_authorization_bearer_keeps_last_four() -> None:
    out = redact_headers({"Authorization": f"Bearer {TOKEN}", "Accept": "application/json;v=1.0"})
    assert out == {"Authorization": "Bearer …ZQ7x", "Accept": "application/json;v=1.0"}


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("Bearer short", "Bearer …"),  # too short to show 4 characters of it
        ("Basic dXNlcjpwYXNzd29yZA==", "Basic …"),
        ("Digest username=x, response=abc", "Digest …"),
        ("justatoken", "…"),
        ("Bearer …ZQ7x", "Bearer …ZQ7x"),  # idempotent
    ],
)
def test_authorization_other_forms(value: str, shown: str) -> None:
    assert redact_headers({"authorization": value}) == {"authorization": shown}


def test_cookie_and_admin_tokens_are_starred() -> None:
    out = redact_headers(
        [
            ("Cookie", "session=abc"),
            ("X-Admin-Token", ADMIN),
            ("x-cxmock-admin-token", ADMIN),
            ("X-Other", "a"),
            ("x-other", "b"),
        ]
    )
    assert out == {"Cookie": "***", "X-Admin-Token": "***", "x-cxmock-admin-token": "***", "X-Other": "a, b"}


def test_body_secrets_at_any_depth_and_case() -> None:
    body = {
        "host": "smtp.example.com",
        "Password": PASSWORD,
        "nested": {"CLIENT_SECRET": CLIENT_SECRET, "items": [{"refresh_token": REFRESH}]},
        "accessToken": TOKEN,
        "smtpPassword": PASSWORD,
    }
    out = redact_body(body)
    assert out == {
        "host": "smtp.example.com",
        "Password": "***",
        "nested": {"CLIENT_SECRET": "***", "items": [{"refresh_token": "***"}]},
        "accessToken": "***",
        "smtpPassword": "***",
    }
    assert body["Password"] == PASSWORD  # the input is not modified


def test_raw_json_and_form_bodies_are_parsed_and_redacted() -> None:
    raw = json.dumps({"username": "u", "password": PASSWORD}).encode()
    assert redact_body(raw) == {"username": "u", "password": "***"}
    form = f"grant_type=password&username=admin&password={PASSWORD}&client_id=cli&client_secret={CLIENT_SECRET}"
    assert redact_body(form, "application/x-www-form-urlencoded") == {
        "grant_type": "password",
        "username": "admin",
        "password": "***",
        "client_id": "cli",
        "client_secret": "***",
    }
    assert redact_body(form.encode()) == redact_body(form, "application/x-www-form-urlencoded")


@pytest.mark.parametrize(
    "raw",
    [
        f'{{"password": "{PASSWORD}"',  # broken JSON
        f'{{"password": "a={PASSWORD}"',  # broken JSON that contains "="
        f"the password is {PASSWORD}",
        b"\xff\xfe" + PASSWORD.encode(),  # not UTF-8
    ],
)
def test_unparseable_bodies_keep_only_their_size(raw: str | bytes) -> None:
    size = len(raw) if isinstance(raw, bytes) else len(raw.encode())
    assert redact_body(raw, "application/json") == {"unparsed": True, "size": size}
    assert redact_body(raw) == {"unparsed": True, "size": size}


def test_empty_and_deeply_nested_bodies() -> None:
    assert redact_body(b"") is None
    assert redact_body("") is None
    deep = "[" * 100_000 + "]" * 100_000
    assert redact_body(deep) == {"unparsed": True, "size": len(deep)}


def test_query_redaction_keeps_shape() -> None:
    assert redact_query(f"a=1&access_token={TOKEN}") == "a=1&access_token=***"
    assert redact_query({"access_token": TOKEN, "b": "2"}) == {"access_token": "***", "b": "2"}
    assert redact_query(None) == {}


def test_no_secret_survives_in_any_serialised_entry() -> None:
    journal = Journal()
    journal.record(
        method="post",
        path="/cxrestapi/auth/identity/connect/token",
        headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": f"s={TOKEN}"},
        body=f"grant_type=password&username=admin&password={PASSWORD}&client_secret={CLIENT_SECRET}".encode(),
        content_type="application/x-www-form-urlencoded",
        status=200,
        operation_id="getToken",
    )
    journal.record(
        method="POST",
        path=SMTP,
        query=f"access_token={TOKEN}",
        headers=[("Authorization", f"Bearer {TOKEN}"), ("X-Cxmock-Admin-Token", ADMIN)],
        body={"host": "h", "password": PASSWORD, "deep": [{"Refresh_Token": REFRESH}]},
        status=201,
        operation_id="createSmtpSettings",
    )
    journal.record(method="PUT", path=f"{SMTP}/1", body=f'{{"password": "{PASSWORD}", oops', status=400)
    journal.record(method="POST", path="/x", headers={"Authorization": f"Basic {TOKEN}"}, body=PASSWORD.encode())
    dumped = json.dumps([e.to_dict() for e in journal.entries()], ensure_ascii=False)
    _assert_clean(dumped)
    _assert_clean(repr(journal.entries()))
    assert "Bearer …ZQ7x" in dumped


# --- journal ---------------------------------------------------------------------------------------------


def _clock() -> datetime:
    return datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)


def test_record_assigns_ids_time_and_to_dict_is_camel_case() -> None:
    journal = Journal(clock=_clock)
    entry = journal.record(
        method="post",
        path=SMTP,
        query={"x": "1"},
        headers={"Accept": "application/json"},
        body={"host": "h"},
        status=201,
        duration_ms=1.23456,
        operation_id="createSmtpSettings",
        faults=[
            HttpFault("r1", "slow", "delay", {"ms": 5}),
            {"ruleId": "r2", "name": None, "action": "status"},
        ],
        violations=[violation("version-missing", "Accept has no v=1.0")],
        user="admin",
        remote="127.0.0.1:5555",
    )
    assert isinstance(entry, JournalEntry)
    assert entry.to_dict() == {
        "id": 1,
        "time": "2024-05-01T12:00:00.123Z",
        "method": "POST",
        "path": SMTP,
        "query": {"x": "1"},
        "headers": {"Accept": "application/json"},
        "body": {"host": "h"},
        "status": 201,
        "durationMs": 1.235,
        "operationId": "createSmtpSettings",
        "faults": [
            {"ruleId": "r1", "name": "slow", "action": "delay"},
            {"ruleId": "r2", "name": None, "action": "status"},
        ],
        "violations": [{"code": "version-missing", "severity": "info", "message": "Accept has no v=1.0"}],
        "user": "admin",
        "remote": "127.0.0.1:5555",
        "error": None,
        "responseBody": None,
    }
    json.dumps(entry.to_dict())  # JSON-friendly
    assert journal.record(method="GET", path=SMTP).id == 2


def test_time_is_utc_from_an_offset_or_naive_clock() -> None:
    offset = datetime(2024, 5, 1, 14, 0, tzinfo=UTC).astimezone(timezone(timedelta(hours=2)))
    assert Journal(clock=lambda: offset).record(method="GET", path="/").time == "2024-05-01T14:00:00.000Z"
    naive = datetime(2024, 5, 1, 14, 0)  # taken as UTC
    assert Journal(clock=lambda: naive).record(method="GET", path="/").time == "2024-05-01T14:00:00.000Z"


def test_bounded_under_ten_thousand_records_and_ids_never_reused() -> None:
    journal = Journal(limit=1000)
    for i in range(10_000):
        journal.record(method="GET", path=f"{SMTP}/{i}", status=200)
    assert journal.count == len(journal) == 1000
    assert journal.total_recorded == 10_000
    ids = [e.id for e in journal.entries()]
    assert ids == list(range(9001, 10_001))
    journal.clear()
    assert journal.count == 0
    assert journal.record(method="GET", path="/").id == 10_001


def test_concurrent_records_get_unique_ids() -> None:
    journal = Journal(limit=50)

    def work() -> None:
        for _ in range(200):
            journal.record(method="GET", path="/")

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert journal.total_recorded == 800
    ids = [e.id for e in journal.entries()]
    assert len(ids) == 50 and len(set(ids)) == 50 and ids == sorted(ids)


@pytest.mark.parametrize("limit", [0, -1, True, 1.5])
def test_limit_must_be_positive(limit: object) -> None:
    with pytest.raises(ConfigError, match="journal limit must be a positive integer"):
        Journal(limit=limit)  # type: ignore[arg-type]


@pytest.fixture
def filled() -> Journal:
    journal = Journal()
    journal.record(method="POST", path=SMTP, status=201, operation_id="createSmtpSettings")  # 1
    journal.record(method="GET", path=f"{SMTP}/1", status=200, operation_id="getSmtpSettingsById")  # 2
    journal.record(method="GET", path=f"{SMTP}/9", status=404, operation_id="getSmtpSettingsById")  # 3
    journal.record(method="DELETE", path=f"{SMTP}/1", status=204, operation_id="deleteSmtpSettings")  # 4
    journal.record(method="POST", path="/cxrestapi/auth/identity/connect/token", status=400)  # 5
    return journal


def _ids(entries: list[JournalEntry]) -> list[int]:
    return [e.id for e in entries]


def test_filters(filled: Journal) -> None:
    assert _ids(filled.entries()) == [1, 2, 3, 4, 5]
    assert _ids(filled.entries(method="get")) == [2, 3]
    assert _ids(filled.entries(path=SMTP)) == [1]
    assert _ids(filled.entries(path=SMTP + "*")) == [1, 2, 3, 4]
    assert _ids(filled.entries(operation_id="getSmtpSettingsById")) == [2, 3]
    assert _ids(filled.entries(status=404)) == [3]
    assert _ids(filled.entries(status="404")) == [3]
    assert _ids(filled.entries(status="4xx")) == [3, 5]
    assert _ids(filled.entries(status="2XX")) == [1, 2, 4]
    assert _ids(filled.entries(since_id=3)) == [4, 5]
    assert _ids(filled.entries(limit=2)) == [4, 5]
    assert _ids(filled.entries(limit=0)) == []
    assert _ids(filled.entries(method="GET", status="2xx", path=SMTP + "/*")) == [2]


def test_bad_status_filter_says_what_is_expected(filled: Journal) -> None:
    with pytest.raises(ValueError, match=r"status filter 'client-error': expected a status code such as 404"):
        filled.entries(status="client-error")


# --- assert_called ---------------------------------------------------------------------------------------


@pytest.fixture
def calls() -> Journal:
    journal = Journal()
    journal.record(
        method="POST",
        path=SMTP,
        headers={"Authorization": f"Bearer {TOKEN}", "Accept": "application/json;v=1.0"},
        body={"host": "smtp.example.com", "port": 25, "password": PASSWORD},
        status=400,
        operation_id="createSmtpSettings",
        user="admin",
    )
    journal.record(
        method="POST",
        path=SMTP,
        body={"host": "smtp.example.com", "port": 587},
        status=201,
        operation_id="createSmtpSettings",
        user="admin",
    )
    journal.record(method="GET", path=f"{SMTP}/1", status=200, operation_id="getSmtpSettingsById")
    return journal


def test_assert_called_returns_matches(calls: Journal) -> None:
    found = assert_called(calls.entries(), "createSmtpSettings")
    assert _ids(found) == [1, 2]
    found = assert_called(calls.entries(), "createSmtpSettings", times=1, status=201, body={"port": 587})
    assert _ids(found) == [2]
    assert _ids(calls.assert_called("createSmtpSettings", status="4xx", user="admin", method="post")) == [1]
    found = assert_called(
        calls.entries(), "createSmtpSettings", header={"authorization": "Bearer …ZQ7x"}, path=SMTP + "*"
    )
    assert _ids(found) == [1]
    assert assert_called(calls.entries(), "deleteSmtpSettings", times=0) == []
    assert _ids(assert_called(calls.entries(), None, times=3)) == [1, 2, 3]


def test_assert_called_failure_shows_closest_calls(calls: Journal) -> None:
    with pytest.raises(AssertionHelperError) as info:
        assert_called(calls.entries(), "createSmtpSettings", times=1, status=201, body={"port": 25})
    message = str(info.value)
    print(message)
    lines = message.splitlines()
    assert lines[0] == (
        'Expected createSmtpSettings with status=201, body ⊇ {"port":25} to be called exactly 1 time; no call matched.'
    )
    assert lines[1] == "Closest calls seen:"
    assert lines[2].startswith(f"  #2 POST {SMTP} → 201 (createSmtpSettings) body=")
    assert lines[3] == "      differs: body: port=587 (wanted 25)"
    assert lines[4] == (
        f'  #1 POST {SMTP} → 400 (createSmtpSettings) body={{"host":"smtp.example.com","port":25,"password":"***"}}'
    )
    assert lines[5] == "      differs: status 400 (wanted 201)"
    assert "getSmtpSettingsById" not in message  # unrelated calls are not "close"
    assert lines[-1] == "(searched 3 journaled calls, #1–#3; the journal keeps only the most recent ones)"
    _assert_clean(message)


def test_assert_called_wrong_count_lists_the_matches(calls: Journal) -> None:
    with pytest.raises(AssertionHelperError) as info:
        assert_called(calls.entries(), "createSmtpSettings", times=1, method="POST")
    message = str(info.value)
    assert message.startswith(
        "Expected createSmtpSettings with method=POST to be called exactly 1 time; 2 calls matched.\n"
        "Matching calls:\n"
        f"  #1 POST {SMTP} → 400 (createSmtpSettings) body="
    )
    assert f"  #2 POST {SMTP} → 201 (createSmtpSettings) body=" in message


def test_assert_called_unknown_operation_suggests_one(calls: Journal) -> None:
    with pytest.raises(AssertionHelperError) as info:
        assert_called(calls.entries(), "createSMTPSetting")
    message = str(info.value)
    assert message.splitlines()[:2] == [
        "Expected createSMTPSetting to be called at least once; no call matched.",
        "No call with operationId 'createSMTPSetting' or the same path was seen.",
    ]
    assert "Did you mean operationId 'createSmtpSettings'?" in message
    assert "Operations seen: createSmtpSettings ×2, getSmtpSettingsById ×1" in message


def test_assert_called_same_path_counts_as_close(calls: Journal) -> None:
    with pytest.raises(AssertionHelperError) as info:
        assert_called(calls.entries(), "updateSmtpSettings", path=f"{SMTP}/1")
    message = str(info.value)
    assert f"  #3 GET {SMTP}/1 → 200 (getSmtpSettingsById)" in message
    assert "differs: operationId getSmtpSettingsById (wanted updateSmtpSettings)" in message


def test_assert_called_on_empty_journal() -> None:
    with pytest.raises(AssertionHelperError, match="No API request was journaled"):
        assert_called([], "createSmtpSettings")


def test_assert_called_secret_in_body_condition_explains_redaction(calls: Journal) -> None:
    with pytest.raises(AssertionHelperError) as info:
        assert_called(calls.entries(), "createSmtpSettings", body={"password": "whatever"})
    assert "body: password cannot be compared (secrets are journaled as '***'; leave it out)" in str(info.value)


def test_assert_called_header_mismatch(calls: Journal) -> None:
    with pytest.raises(AssertionHelperError) as info:
        assert_called(calls.entries(), "createSmtpSettings", status=400, header={"Accept": "application/json"})
    assert "differs: header Accept 'application/json;v=1.0' (wanted 'application/json')" in str(info.value)


def test_assert_called_unknown_condition_is_a_type_error(calls: Journal) -> None:
    with pytest.raises(TypeError, match=r"unknown condition 'stauts' \(did you mean 'status'\?\); accepted: "):
        assert_called(calls.entries(), "createSmtpSettings", stauts=201)
