"""The failure report leads somewhere (issue #25, rows 2, 8, 9): under ``--cxmock-url`` a failing test's section
shows its requests with status, reason, fault and lint notes and its mail, and a dashboard link to its sandbox that
still works after the session (the sandbox is kept as the test left it; later tests run in a fresh one); an
unreachable ``--cxmock-url`` is one sentence, not a traceback per test."""

from __future__ import annotations

import re
import socket

import pytest
import requests

from mockserver.runtime.server import MockServer

pytest_plugins = ["pytester"]

FAILING = """
import pytest, requests

BODY = {"host": "smtp.example.org", "port": 587, "encryptionType": "Tls", "fromAddress": "noreply@check.org",
        "recieverEmail": "ops@check.org", "useDefaultCredentials": False, "username": "u", "password": "p"}

@pytest.mark.cxmock(faults=["smtp-recipient-rejected"])
def test_a_fails(cxmock):
    r = requests.post(cxmock.api_url + "/SMTPSettings/testconnection", json=BODY,
                      headers=cxmock.auth_headers(), timeout=30)
    assert r.status_code == 200, "the code under test expected the mail to go out"

def test_b_passes_in_a_fresh_sandbox(cxmock):
    assert cxmock.requests() == []
    assert requests.get(cxmock.api_url + "/SMTPSettings", headers=cxmock.auth_headers(), timeout=10).ok
"""


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    quiet = ("-p", "no:cacheprovider", "-p", "no:schemathesis", "-p", "no:hypothesispytest")
    return pytester.runpytest_subprocess(*quiet, *args, timeout=120)


@pytest.mark.parametrize("workers", [(), ("-n", "2", "-p", "xdist")], ids=["one-process", "xdist"])
def test_a_failing_tests_report_shows_reason_fault_lint_and_a_link_that_outlives_the_session(
    pytester: pytest.Pytester, workers: tuple[str, ...]
) -> None:
    pytester.makepyfile(test_report=FAILING)
    with MockServer() as external:
        result = _run(pytester, *workers, f"--cxmock-url={external.base_url}")
        result.assert_outcomes(passed=1, failed=1)
        out = result.stdout.str()
        result.stdout.fnmatch_lines(
            [
                "*- cxmock -*",
                "*dashboard: */sandbox/pytest-*/_mock/ui/#requests*kept as the test left it*",
                "*requests of this test (*)*",
                "*POST /cxrestapi/auth/SMTPSettings/testconnection -> 400 (testSmtpConnection)*",
                "*reason: *550*",
                "*fault: smtp-recipient-rejected (reply at SMTP rcpt)*",
                "*lint info: cxorigin-missing*",
                "*captured mail (0)*",
            ]
        )
        (link,) = re.findall(r"dashboard: (\S+)/_mock/ui/#requests", out)
        # after the session: the link opens, and its journal is the failing test's
        with requests.get(link + "/_mock/ui/", timeout=10) as page:
            assert page.status_code == 200
        journal = requests.get(link + "/_mock/requests", timeout=10).json()
        assert [e["status"] for e in journal if e["operationId"] == "testSmtpConnection"] == [400]
        assert journal[-1]["faults"][0]["name"] == "smtp-recipient-rejected"
        # only the kept sandbox is left; the sandboxes the sessions worked in afterwards were deleted
        assert [s.name for s in external.sandboxes.registry.list()] == [link.rsplit("/", 1)[1]]


def test_an_in_process_report_says_the_server_is_gone_after_the_session(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_report=FAILING)
    result = _run(pytester)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*(in-process: it stops with this session; what it saw is below)*"])


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("workers", [(), ("-n", "2", "-p", "xdist")], ids=["one-process", "xdist"])
def test_an_unreachable_cxmock_url_is_one_sentence(pytester: pytest.Pytester, workers: tuple[str, ...]) -> None:
    pytester.makepyfile(test_many="\n".join(f"def test_{i}(cxmock):\n    pass\n" for i in range(16)))
    url = f"http://127.0.0.1:{_closed_port()}"
    result = _run(pytester, *workers, f"--cxmock-url={url}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    text = result.stdout.str() + result.stderr.str()
    assert text.count("no server answers at --cxmock-url") == 1, text
    assert f"--cxmock-url {url} (" in text and "cxmock serve" in text
    assert "Traceback" not in text and len(text.splitlines()) < 10, text
