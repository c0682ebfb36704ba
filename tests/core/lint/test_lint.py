"""Contract-lint: did-you-mean, severities, summary, assert_no_violations and the reports."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from mockserver.core.journal.journal import Journal
from mockserver.core.lint.lint import CODES, Violation, did_you_mean, severity_at_least, violation
from mockserver.core.lint.report import assert_no_violations, report_json, report_junit, report_text, summarize
from mockserver.errors import AssertionHelperError

SMTP = "/cxrestapi/auth/SMTPSettings"
TEST_CONNECTION = "/cxrestapi/auth/SMTPSettings/testconnection"
KNOWN = [
    "host",
    "port",
    "encryptionType",
    "useDefaultCredentials",
    "username",
    "password",
    "fromAddress",
    "receiverEmail",
]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("receiveremail", "receiverEmail"),  # case only
        ("recieverEmail", "receiverEmail"),  # transposition
        ("RECEIVEREMAIL", "receiverEmail"),
        ("receiverEmails", "receiverEmail"),
        ("recieverEmal", "receiverEmail"),  # two edits
        ("encryption_type", "encryptionType"),
        ("hots", "host"),  # short name, one transposition
        ("prot", "port"),
        ("colour", None),
        ("hx", None),  # short: two edits away from "host" is too far
        ("usernme", "username"),
        ("receiverAddress", None),
        ("", None),
    ],
)
def test_did_you_mean(name: str, expected: str | None) -> None:
    assert did_you_mean(name, KNOWN) == expected


def test_did_you_mean_prefers_the_closest() -> None:
    assert did_you_mean("pot", ["port", "pot2", "po"]) == "port"
    assert did_you_mean("abcdef", ["abcxyz", "abcdeg"]) == "abcdeg"
    assert did_you_mean("x", []) is None


def test_severity_at_least() -> None:
    assert severity_at_least("error", "warning")
    assert severity_at_least("warning", "warning")
    assert not severity_at_least("info", "warning")
    assert severity_at_least("info", "info")
    with pytest.raises(ValueError, match="unknown severity 'fatal'; expected one of info, warning, error"):
        severity_at_least("fatal", "info")


@pytest.fixture
def journal() -> Journal:
    # severities spelled out: these tests are about the reports, not about the default severity of each code
    j = Journal()
    j.record(
        method="POST",
        path=SMTP,
        status=201,
        operation_id="createSmtpSettings",
        violations=[
            Violation("version-missing", "warning", "Content-Type application/json names no version; send ;v=1.0"),
            Violation("unknown-member", "warning", "unknown member 'colour'"),
            violation("coerced-boolean", "useDefaultCredentials: string 'false' taken as false"),
        ],
    )
    j.record(method="GET", path=f"{SMTP}/1", status=200, operation_id="getSmtpSettingsById")
    j.record(
        method="POST",
        path=TEST_CONNECTION,
        status=400,
        operation_id="testSmtpConnection",
        violations=[
            Violation("unknown-member", "warning", "unknown member 'recieverEmail' (did you mean 'receiverEmail'?)"),
            violation("media-type-wrong", "Content-Type text/plain; expected application/json;v=1.0"),
            Violation("version-missing", "warning", "Accept names no version"),
        ],
    )
    j.record(
        method="GET",
        path=SMTP,
        status=200,
        operation_id="getAllSmtpSettings",
        violations=[violation("cxorigin-missing", "no cxOrigin header")],
    )
    return j


def test_summarize(journal: Journal) -> None:
    assert summarize(journal.entries()) == [
        {
            "code": "media-type-wrong",
            "severity": "error",
            "count": 1,
            "requests": 1,
            "example": "Content-Type text/plain; expected application/json;v=1.0",
            "firstRequestId": 3,
            "lastRequestId": 3,
        },
        {
            "code": "unknown-member",
            "severity": "warning",
            "count": 2,
            "requests": 2,
            "example": "unknown member 'colour'",
            "firstRequestId": 1,
            "lastRequestId": 3,
        },
        {
            "code": "version-missing",
            "severity": "warning",
            "count": 2,
            "requests": 2,
            "example": "Content-Type application/json names no version; send ;v=1.0",
            "firstRequestId": 1,
            "lastRequestId": 3,
        },
        {
            "code": "coerced-boolean",
            "severity": "info",
            "count": 1,
            "requests": 1,
            "example": "useDefaultCredentials: string 'false' taken as false",
            "firstRequestId": 1,
            "lastRequestId": 1,
        },
        {
            "code": "cxorigin-missing",
            "severity": "info",
            "count": 1,
            "requests": 1,
            "example": "no cxOrigin header",
            "firstRequestId": 4,
            "lastRequestId": 4,
        },
    ]
    assert summarize([]) == []


def test_summarize_accepts_the_json_form(journal: Journal) -> None:
    as_json = json.loads(json.dumps([e.to_dict() for e in journal.entries()]))
    assert summarize(as_json) == summarize(journal.entries())


def test_assert_no_violations_message(journal: Journal) -> None:
    with pytest.raises(AssertionHelperError) as info:
        assert_no_violations(journal.entries())
    message = str(info.value)
    print(message)
    assert message == (
        "5 contract violations at or above 'warning' in 2 of 4 journaled requests:\n"
        "\n"
        "  media-type-wrong (error, 1 request):\n"
        f"    #3 POST {TEST_CONNECTION} → media-type-wrong: "
        "Content-Type text/plain; expected application/json;v=1.0\n"
        "\n"
        "  unknown-member (warning, 2 requests):\n"
        f"    #1 POST {SMTP} → unknown-member: unknown member 'colour'\n"
        f"    #3 POST {TEST_CONNECTION} → unknown-member: unknown member 'recieverEmail' "
        "(did you mean 'receiverEmail'?)\n"
        "\n"
        "  version-missing (warning, 2 requests):\n"
        f"    #1 POST {SMTP} → version-missing: Content-Type application/json names no version; send ;v=1.0\n"
        f"    #3 POST {TEST_CONNECTION} → version-missing: Accept names no version\n"
        "\n"
        "Fix the client so it follows the vendor contract, "
        'or pass min_severity="error" to fail only on errors. '
        "Codes and severities: mockserver.core.lint.lint.CODES."
    )


def test_assert_no_violations_thresholds(journal: Journal) -> None:
    with pytest.raises(AssertionHelperError) as info:
        assert_no_violations(journal.entries(), min_severity="error")
    message = str(info.value)
    assert message.startswith("1 contract violation at or above 'error' in 1 of 4 journaled requests:")
    assert "unknown-member" not in message
    assert 'min_severity="error"' not in message
    # only info-level left on these requests: passes at "warning"
    assert_no_violations(journal.entries(since_id=3))
    with pytest.raises(AssertionHelperError, match="cxorigin-missing"):
        assert_no_violations(journal.entries(since_id=3), min_severity="info")
    assert_no_violations([])
    with pytest.raises(ValueError, match="unknown severity"):
        assert_no_violations([], min_severity="warn")


def test_report_text(journal: Journal) -> None:
    text = report_text(journal.entries())
    print(text)
    lines = text.splitlines()
    assert lines[0] == "cxmock contract-lint: 4 requests, 7 violations (1 error, 4 warning, 2 info)"
    assert lines[2].split() == ["CODE", "SEVERITY", "COUNT", "REQUESTS", "EXAMPLE"]
    assert lines[3].split()[:4] == ["media-type-wrong", "error", "1", "1"]
    assert "3 requests with violations:" in lines
    assert f"  #3 POST {TEST_CONNECTION} → 400 (testSmtpConnection)" in lines
    assert "      error   media-type-wrong: Content-Type text/plain; expected application/json;v=1.0" in lines
    assert f"  #2 GET {SMTP}/1 → 200 (getSmtpSettingsById)" not in lines
    clean = Journal()
    clean.record(method="GET", path=SMTP, status=200)
    assert report_text(clean.entries()) == (
        "cxmock contract-lint: 1 request, 0 violations (0 error, 0 warning, 0 info)\nNo violations.\n"
    )
    assert report_text(journal.entries(since_id=3), min_severity="warning").endswith(
        "No violations at or above 'warning'.\n"
    )


def test_report_json(journal: Journal) -> None:
    doc = json.loads(report_json(journal.entries()))
    assert doc["totals"] == {"requests": 4, "info": 2, "warning": 4, "error": 1}
    assert doc["summary"] == summarize(journal.entries())
    assert [r["id"] for r in doc["requests"]] == [1, 3, 4]
    assert doc["requests"][1]["operationId"] == "testSmtpConnection"
    assert doc["requests"][1]["violations"][1] == {
        "code": "media-type-wrong",
        "severity": "error",
        "message": "Content-Type text/plain; expected application/json;v=1.0",
    }


def _cases(xml_text: str) -> dict[str, ET.Element]:
    root = ET.fromstring(xml_text)
    assert root.tag == "testsuites"
    (suite,) = root.findall("testsuite")
    return {case.get("name", ""): case for case in suite.findall("testcase")}


def test_report_junit_parses_and_fails_on_errors(journal: Journal) -> None:
    xml_text = report_junit(journal.entries())
    print(xml_text)
    assert xml_text.startswith("<?xml")
    root = ET.fromstring(xml_text)
    suite = root.find("testsuite")
    assert suite is not None
    assert suite.get("tests") == str(len(CODES)) and suite.get("failures") == "1"
    cases = _cases(xml_text)
    assert list(cases) == list(CODES)  # a stable testcase per code, passing ones included
    failure = cases["media-type-wrong"].find("failure")
    assert failure is not None
    assert failure.get("type") == "error:media-type-wrong"
    assert failure.get("message", "").startswith("1 violation (error) in 1 request: Content-Type text/plain")
    assert f"#3 POST {TEST_CONNECTION} → media-type-wrong:" in (failure.text or "")
    # warnings and infos are reported, not failed, by default
    assert cases["unknown-member"].find("failure") is None
    out = cases["unknown-member"].find("system-out")
    assert out is not None and "unknown member 'colour'" in (out.text or "")
    assert cases["cxorigin-missing"].find("system-out") is not None
    # codes nobody triggered pass with no content
    assert list(cases["version-unsupported"]) == []


def test_report_junit_min_severity_warning(journal: Journal) -> None:
    cases = _cases(report_junit(journal.entries(), min_severity="warning"))
    failing = sorted(name for name, case in cases.items() if case.find("failure") is not None)
    assert failing == ["media-type-wrong", "unknown-member", "version-missing"]
    assert cases["coerced-boolean"].find("system-out") is not None


def test_report_junit_survives_hostile_text() -> None:
    entries = [
        {
            "id": 7,
            "method": "POST",
            "path": SMTP,
            "status": 201,
            "operationId": "createSmtpSettings",
            "violations": [
                {
                    "code": "unknown-member",
                    "severity": "error",
                    "message": "unknown member 'a\x00b<]]>&\x1b'",
                },
                {"code": "x-custom", "severity": "bogus", "message": "odd"},
            ],
        }
    ]
    xml_text = report_junit(entries)
    cases = _cases(xml_text)
    assert "x-custom" in cases
    failure = cases["unknown-member"].find("failure")
    assert failure is not None and "<]]>&" in (failure.text or "")


def test_violation_helper_uses_default_severity() -> None:
    assert violation("media-type-missing", "m") == Violation("media-type-missing", "error", "m")
