"""The pytest plugin in a newcomer's first hour (#16 items 14-18), through real pytest sessions (pytester): the marker
takes the server options a running server can change and names the rest; ``--cxmock-strict`` fails the last test
cleanly; a failing ``assert_called`` shows the message, not cxmock's frames; an unused plugin imports nothing of the
server; a ``MockServer`` nobody stops does not keep Python from exiting, and Ctrl-C leaves no threading traceback."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    quiet = ("-p", "no:cacheprovider", "-p", "no:schemathesis", "-p", "no:hypothesispytest")
    return pytester.runpytest_subprocess(*quiet, *args, timeout=120)


# -- 14. the marker takes every option a running server can change, and names the rest ---------------------------


def test_item14_marker_token_lifetime_applies_to_this_test_only(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_marker="""
import pytest, requests
from mockserver.core.identity.identity import password_grant

def token_response(server):
    form = password_grant("admin", "admin", scope="access_control_api", client_secret=server.config.client_secret)
    return requests.post(server.api_url + "/identity/connect/token", data=form, timeout=10).json()

@pytest.mark.cxmock(token_lifetime=1, strict=True)
def test_short_tokens(cxmock):
    assert token_response(cxmock)["expires_in"] == 1
    assert cxmock.config.strict is True

def test_back_to_the_session_value(cxmock):
    assert token_response(cxmock)["expires_in"] == 3600
    assert cxmock.config.strict is False
"""
    )
    _run(pytester).assert_outcomes(passed=2)


def test_item14_marker_refuses_startup_and_unknown_options_naming_them(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_marker="""
import pytest

@pytest.mark.cxmock(port=8080, token_lifetme=1)
def test_bad_marker(cxmock):
    pass
"""
    )
    result = _run(pytester)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*@pytest.mark.cxmock: unknown option 'token_lifetme'; did you mean 'token_lifetime'?;"
            " port cannot change for one test (fixed when the server starts*"
            "It accepts: seed, faults, token_lifetime, strict, max_body, smtp_require_auth, smtp_mode, smtp_allow,"
            " smtp_timeout*"
        ]
    )
    assert "Traceback" not in result.stdout.str()


# -- 16. --cxmock-strict on the session's last test ------------------------------------------------------------------


def test_item16_strict_failure_of_the_last_test_is_one_failure_with_the_journal(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_last="""
import requests

def test_fine(cxmock):
    pass

def test_sloppy_and_last(cxmock):
    h = {"Authorization": "Bearer " + cxmock.token()}
    assert requests.get(cxmock.api_url + "/SMTPSettings", headers=h, timeout=10).status_code == 200
"""
    )
    result = _run(pytester, "--cxmock-strict", "info")  # version-missing is info (#22)
    result.assert_outcomes(passed=1, failed=1)
    out = result.stdout.str()
    assert "could not read the cxmock journal" not in out
    result.stdout.fnmatch_lines(["*version-missing*", "*- cxmock -*", "*GET /cxrestapi/auth/SMTPSettings -> 200*"])


# -- 17. a failing assert_called shows the message, not cxmock's frames --------------------------------------------


def test_item17_assert_called_failure_hides_cxmock_frames(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_assert="""
def test_never_called(cxmock):
    cxmock.assert_called("createSmtpSettings", times=1)
"""
    )
    result = _run(pytester)
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "createSmtpSettings" in out  # the message is kept
    failure = out[out.index("test_never_called") : out.index("- cxmock -")]
    assert "mockserver/" not in failure and "mockserver\\\\" not in failure, failure
    assert len(failure.splitlines()) < 40, failure


# -- 18. an unused plugin imports nothing of the server --------------------------------------------------------------


def test_item18_an_unused_plugin_imports_nothing_heavy(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
import json, sys

def pytest_sessionfinish(session):
    heavy = sorted(m for m in ("flask", "aiosmtpd", "cryptography", "cheroot", "jsonschema", "werkzeug",
                               "mockserver.runtime", "mockserver.http", "mockserver.smtp") if m in sys.modules)
    with open("imported.json", "w") as handle:
        json.dump({"plugin": "mockserver.pytest_plugin" in sys.modules, "heavy": heavy}, handle)
"""
    )
    pytester.makepyfile(test_plain="def test_nothing_to_do_with_cxmock():\n    assert True\n")
    _run(pytester).assert_outcomes(passed=1)
    seen = json.loads((pytester.path / "imported.json").read_text())
    assert seen == {"plugin": True, "heavy": []}, (
        "a session that uses no cxmock fixture imported the server: import it inside the fixture or hook that needs "
        "it, not at the top of mockserver/pytest_plugin.py or mockserver/__init__.py (#16 item 18)"
    )


def test_item18_import_mockserver_is_light() -> None:
    code = (
        "import sys, mockserver; "
        "print([m for m in ('flask', 'aiosmtpd', 'cryptography', 'cheroot') if m in sys.modules]); "
        "mockserver.MockServer; print(mockserver.MockServer.__module__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True).stdout
    assert out.splitlines() == ["[]", "mockserver"]


# -- 15. a MockServer nobody stops does not hold the interpreter -----------------------------------------------------


def test_item15_an_unstopped_server_lets_python_exit() -> None:
    code = "from mockserver import MockServer; server = MockServer(); print(server.base_url, flush=True)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("http://127.0.0.1:") and done.stderr == ""


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_item15_ctrl_c_leaves_no_threading_traceback(tmp_path: Path) -> None:
    script = tmp_path / "app.py"
    script.write_text(
        "import time\nfrom mockserver import MockServer\nserver = MockServer()\nprint('ready', flush=True)\n"
        "time.sleep(60)\n",
        encoding="utf-8",
    )
    # a terminal's Ctrl-C: SIGINT at its default disposition in the child, even when this run was started in the
    # background (a non-interactive shell's `cmd &` ignores SIGINT, and an ignored SIGINT is inherited)
    proc = subprocess.Popen(
        [sys.executable, str(script)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=10)
    assert proc.returncode in (-signal.SIGINT, 1, 130)  # Python's own exit for an uncaught KeyboardInterrupt
    assert stderr.rstrip().endswith("KeyboardInterrupt")  # the user's script's traceback, nothing after it
    assert "threading" not in stderr and "Exception ignored" not in stderr, stderr
