"""The pytest plugin as a downstream suite meets it: run real pytest sessions in subprocesses (pytester)."""

from __future__ import annotations

import pytest

from mockserver.runtime.server import MockServer

pytest_plugins = ["pytester"]

BASIC = """
import requests

def test_list(cxmock):
    r = requests.get(cxmock.api_url + "/SMTPSettings", headers=cxmock.auth_headers(), timeout=10)
    assert r.status_code == 200
    assert [s["host"] for s in r.json()] == ["pod55017.outlook.com"]

def test_create_is_not_seen_by_the_next_test(cxmock):
    body = {"host": "smtp.example.org", "port": 25, "encryptionType": "None", "fromAddress": "a@check.org",
            "useDefaultCredentials": True}
    r = requests.post(cxmock.api_url + "/SMTPSettings", json=body,
                      headers={**cxmock.auth_headers(), "Content-Type": "application/json;v=1.0"}, timeout=10)
    assert r.status_code == 201

def test_reset_happened(cxmock):
    assert len(cxmock.requests()) == 0
    r = requests.get(cxmock.api_url + "/SMTPSettings", headers=cxmock.auth_headers(), timeout=10)
    assert len(r.json()) == 1
"""


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    # schemathesis and hypothesis are unrelated to these runs and make every subprocess start slower
    quiet = ("-p", "no:cacheprovider", "-p", "no:schemathesis", "-p", "no:hypothesispytest")
    return pytester.runpytest_subprocess(*quiet, *args, timeout=120)


def test_plugin_autoloads_and_resets_between_tests(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_basic=BASIC)
    result = _run(pytester)
    result.assert_outcomes(passed=3)


def test_marker_seeds_and_arms_faults(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_marker="""
import pytest, requests

@pytest.mark.cxmock(seed=[{"host": "mx.check.org", "port": 2525, "encryptionType": "None",
                           "fromAddress": "a@check.org", "useDefaultCredentials": True}],
                    faults=["flaky-5xx"])
def test_seeded_and_flaky(cxmock):
    url = cxmock.api_url + "/SMTPSettings"
    codes = [requests.get(url, headers=cxmock.auth_headers(), timeout=10).status_code for _ in range(3)]
    assert codes == [503, 503, 200]
    assert requests.get(url, headers=cxmock.auth_headers(), timeout=10).json()[0]["host"] == "mx.check.org"

def test_next_test_is_back_to_the_default_seed(cxmock):
    r = requests.get(cxmock.api_url + "/SMTPSettings", headers=cxmock.auth_headers(), timeout=10)
    assert r.status_code == 200 and r.json()[0]["host"] == "pod55017.outlook.com"
"""
    )
    result = _run(pytester)
    result.assert_outcomes(passed=2)


def test_smtp_sink_fixture_sees_testconnection_mail(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_sink="""
import requests

def test_testconnection(cxmock, smtp_sink):
    body = {"host": "smtp.example.org", "port": 587, "encryptionType": "Tls", "fromAddress": "a@check.org",
            "recieverEmail": "ops@check.org", "useDefaultCredentials": False, "username": "u", "password": "p"}
    r = requests.post(cxmock.api_url + "/SMTPSettings/testconnection", json=body,
                      headers={**cxmock.auth_headers(), "Content-Type": "application/json;v=1.0"}, timeout=30)
    assert r.status_code == 200, r.text
    (message,) = smtp_sink.wait_for(count=1, timeout=5, to="ops@check.org")
    assert message.tls is not None and message.auth_user == "u"
"""
    )
    _run(pytester).assert_outcomes(passed=1)


def test_failure_report_section_shows_journal_and_mail(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_fail="""
import requests

def test_fails(cxmock):
    requests.get(cxmock.api_url + "/SMTPSettings/999", headers=cxmock.auth_headers(), timeout=10)
    assert False, "the code under test misbehaved"
"""
    )
    result = _run(pytester)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*- cxmock -*",
            "*(in-process: it stops with this session; what it saw is below)*",
            "*requests of this test (1)*",  # auth_headers() gets its token in-process, without a request
            "*GET /cxrestapi/auth/SMTPSettings/999 -> 404 (getSmtpSettingsById)*",
            "*reason: *999*",
            "*captured mail (0)*",
        ]
    )


def test_cxmock_strict_fails_a_sloppy_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_sloppy="""
import requests

def test_sloppy(cxmock):
    h = {"Authorization": "Bearer " + cxmock.token()}
    assert requests.get(cxmock.api_url + "/SMTPSettings", headers=h, timeout=10).status_code == 200
"""
    )
    _run(pytester).assert_outcomes(passed=1)
    # a missing version is style (info, #22): a correct client passes at warning, a strict team fails it at info
    _run(pytester, "--cxmock-strict", "warning").assert_outcomes(passed=1)
    result = _run(pytester, "--cxmock-strict", "info")
    result.assert_outcomes(failed=1)  # a failure of the test itself, not a passed test plus a teardown error
    result.stdout.fnmatch_lines(["*version-missing*"])


def test_cxmock_url_targets_an_external_server(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_remote="""
import requests

def test_remote(cxmock, smtp_sink):
    r = requests.get(cxmock.api_url + "/SMTPSettings", headers=cxmock.auth_headers(), timeout=10)
    assert r.status_code == 200
    assert type(cxmock).__name__ == "RemoteServer"
    assert "/sandbox/pytest-" in cxmock.base_url
    assert len(cxmock.requests(operation_id="getAllSmtpSettings")) == 1
"""
    )
    with MockServer() as external:
        result = _run(pytester, f"--cxmock-url={external.base_url}")
        result.assert_outcomes(passed=1)
        # the session worked in a sandbox of its own, deleted at the end: the root's journal never saw it
        assert not external.requests(operation_id="getAllSmtpSettings")
        assert len(external.sandboxes.registry) == 0


def test_behind_an_admin_token_the_plugin_creates_its_sandbox_and_a_named_one(pytester: pytest.Pytester) -> None:
    """#23: sandboxes are created only by an authorized request; the plugin's (admin API, with the token) are."""
    pytester.makepyfile(
        test_remote="""
import requests

def test_remote(cxmock):
    r = requests.get(cxmock.api_url + "/SMTPSettings", headers=cxmock.auth_headers(), timeout=10)
    assert r.status_code == 200 and "/sandbox/" in cxmock.base_url
"""
    )
    with MockServer(admin_token="s3cret") as external:
        token = "--cxmock-admin-token=s3cret"
        _run(pytester, f"--cxmock-url={external.base_url}", token).assert_outcomes(passed=1)
        assert len(external.sandboxes.registry) == 0  # its own: created, then deleted at the end
        named = _run(pytester, f"--cxmock-url={external.base_url}", token, "--cxmock-sandbox=team-a")
        named.assert_outcomes(passed=1)
        assert "team-a" in external.sandboxes.registry  # named: created when missing, kept
        _run(pytester, f"--cxmock-url={external.base_url}", token, "--cxmock-sandbox=team-a").assert_outcomes(passed=1)


def test_cxmock_sandbox_none_works_at_the_external_servers_root(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_remote="""
import requests

def test_remote(cxmock):
    r = requests.get(cxmock.api_url + "/SMTPSettings", headers=cxmock.auth_headers(), timeout=10)
    assert r.status_code == 200
    assert "/sandbox/" not in cxmock.base_url
"""
    )
    with MockServer() as external:
        result = _run(pytester, f"--cxmock-url={external.base_url}", "--cxmock-sandbox=none")
        result.assert_outcomes(passed=1)
        assert external.requests(operation_id="getAllSmtpSettings")


def test_two_xdist_workers_do_not_clash(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_basic=BASIC, test_more=BASIC.replace("def test_", "def test_more_"))
    result = _run(pytester, "-n", "2", "-p", "xdist")
    result.assert_outcomes(passed=6)


SHARED = """
import pytest, requests

BODY = {"host": "smtp.example.org", "port": 25, "encryptionType": "None", "fromAddress": "a@check.org",
        "useDefaultCredentials": True}

@pytest.mark.parametrize("n", range(6))
def test_create_then_count(cxmock, n):
    headers = {**cxmock.auth_headers(), "Content-Type": "application/json;v=1.0"}
    for _ in range(3):
        r = requests.post(cxmock.api_url + "/SMTPSettings", json=BODY, headers=headers, timeout=10)
        assert r.status_code == 201
    # another worker's reset or records would show here on a shared root
    assert len(requests.get(cxmock.api_url + "/SMTPSettings", headers=headers, timeout=10).json()) == 4
    assert [e.status for e in cxmock.requests() if e.operation_id != "getToken"] == [201, 201, 201, 200]
"""


def test_xdist_workers_share_one_external_server_each_in_its_own_sandbox(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_shared=SHARED)
    with MockServer() as external:
        result = _run(pytester, "-n", "2", "-p", "xdist", f"--cxmock-url={external.base_url}")
        result.assert_outcomes(passed=6)
        assert len(external.sandboxes.registry) == 0  # each worker deleted its sandbox
        assert external.requests() == []
