"""CheckmarxPythonSDK's own SMTP and MyProfile tests, unchanged, against cxmock seeded with records 1 and 2 (#22).

The file is the SDK's ``tests/CxRestAPI/test_access_control_api.py`` at commit 99b7de0 of
checkmarx-ts/checkmarx-python-sdk (GPL-3.0, so not vendored: ``scripts/fetch-sdk-tests`` downloads it into
``tests/sdk/checkmarx_python_sdk_tests/``; its SHA-256 is checked, so it runs unchanged). It runs in a subprocess with
the SDK's documented environment variables, selected by ``-k "smtp or my_profile"``: its eight SMTP and MyProfile
tests. Seven pass. ``test_test_smtp_connection`` fails, as it would against the real service: its receiver, host and
sender are the placeholder ``"***"``, which no SMTP session can use; cxmock answers 400 naming ``recieverEmail``,
``host`` and ``fromAddress`` (the test fails before it connects), and the SDK returns False.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from mockserver.runtime.server import MockServer

SDK_TESTS = Path(__file__).resolve().parent / "checkmarx_python_sdk_tests" / "test_access_control_api.py"
SHA256 = "407b14d1ff716ce6b0d17376dc7ee60991125873fce95f26591fe65ac26fc704"
SMTP_AND_PROFILE = {
    "test_get_my_profile",
    "test_update_my_profile",
    "test_get_all_smtp_settings",
    "test_create_smtp_settings",
    "test_get_smtp_settings_by_id",
    "test_update_smtp_settings",
    "test_delete_smtp_settings",
    "test_test_smtp_connection",
}
#: records 1 and 2, which the SDK's tests read, update and delete
SEED = [
    {
        "id": 1,
        "host": "pod55017.outlook.com",
        "port": 521,
        "encryptionType": "Tls",
        "fromAddress": "noreply@check.org",
        "useDefaultCredentials": False,
        "username": "noreply@check.org",
        "password": "vendor-sample-password",
    },
    {
        "id": 2,
        "host": "smtp.example.org",
        "port": 25,
        "encryptionType": "None",
        "fromAddress": "cx@example.org",
        "useDefaultCredentials": True,
    },
]

pytestmark = [
    pytest.mark.skipif(
        importlib.util.find_spec("CheckmarxPythonSDK") is None,
        reason="CheckmarxPythonSDK is not installed: pip install '.[sdk]' (CI installs it)",
    ),
    pytest.mark.skipif(
        not SDK_TESTS.is_file(), reason="the SDK's test file is not fetched: run scripts/fetch-sdk-tests"
    ),
]


def test_the_sdks_own_smtp_and_profile_tests_pass_but_the_placeholder_testconnection(tmp_path: Path) -> None:
    assert hashlib.sha256(SDK_TESTS.read_bytes()).hexdigest() == SHA256, "the SDK's test file was changed"
    (tmp_path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")  # not this project's addopts/conftest
    copy = tmp_path / SDK_TESTS.name
    copy.write_bytes(SDK_TESTS.read_bytes())
    report = tmp_path / "report.xml"
    with MockServer() as server:
        server.seed(SEED)
        env = {
            **os.environ,
            "cxsast_base_url": server.base_url,
            "cxsast_username": "admin",
            "cxsast_password": "admin",
            "checkmarx_config_path": str(tmp_path / "no-config.ini"),  # not the user's ~/.Checkmarx/config.ini
            "HOME": str(tmp_path),
        }
        command = [sys.executable, "-m", "pytest", str(copy), "-k", "smtp or my_profile", "-p", "no:cacheprovider"]
        command += ["-p", "no:cxmock", "--rootdir", str(tmp_path), "-c", str(tmp_path / "pytest.ini")]
        result = subprocess.run(
            [*command, f"--junitxml={report}", "-q"],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        outcomes = {}
        for case in ET.parse(report).getroot().iter("testcase"):
            failed = case.find("failure") is not None or case.find("error") is not None
            outcomes[case.get("name")] = "failed" if failed else "passed"
        assert set(outcomes) == SMTP_AND_PROFILE, result.stdout + result.stderr
        assert {name for name, outcome in outcomes.items() if outcome == "failed"} == {"test_test_smtp_connection"}, (
            result.stdout + result.stderr
        )
        # what the mock answered to the placeholder testconnection, and why
        (tested,) = server.requests(operation_id="testSmtpConnection")
        assert tested.status == 400
        errors = (tested.error or {}).get("errors", {})
        assert {"recieverEmail", "host", "fromAddress"} <= set(errors), tested.error
        assert "fails before it connects" in errors["recieverEmail"][0] and "fails at connect" in errors["host"][0]
        # the profile the SDK's test wrote is what GET answers now; record 1 is gone, record 2 was updated
        profile = {k: v for k, v in server.state.identity.my_profile(_token_info(server)).items() if k == "jobTitle"}
        assert profile == {"jobTitle": "software developer"}
        assert [r.id for r in server.state.settings.list()][:1] == [2]
        assert server.state.settings.get(2).host == "***"


def _token_info(server: MockServer) -> Any:
    return server.state.identity.authenticate(f"Bearer {server.token()}")
