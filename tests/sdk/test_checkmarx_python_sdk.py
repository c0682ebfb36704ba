"""CheckmarxPythonSDK (PyPI) runs unchanged against a live cxmock (issue #12).

``examples/checkmarx_python_sdk.py`` drives the SDK's own ``AccessControl`` SMTP methods, configured by the SDK's
documented environment variables, in a subprocess (the SDK reads ``sys.argv`` and ``~/.Checkmarx/config.ini``; both
are isolated here). Install the SDK with ``pip install '.[sdk]'`` (CI does); without it the test is skipped.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mockserver.runtime.server import MockServer

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "examples" / "checkmarx_python_sdk.py"

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("CheckmarxPythonSDK") is None,
    reason="CheckmarxPythonSDK is not installed: pip install '.[sdk]' (CI installs it)",
)


def test_the_sdk_runs_unchanged_against_cxmock(tmp_path: Path) -> None:
    with MockServer() as server:
        env = {
            **os.environ,
            "cxsast_base_url": server.base_url,
            "cxsast_username": "admin",
            "cxsast_password": "admin",
            "checkmarx_config_path": str(tmp_path / "no-config.ini"),  # not the user's ~/.Checkmarx/config.ini
            "HOME": str(tmp_path),
        }
        result = subprocess.run(
            [sys.executable, str(SCRIPT), "sdk-receiver@check.org"],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        steps = {json.loads(line)["step"]: json.loads(line)["result"] for line in result.stdout.splitlines()}
        assert steps["list"] == ["pod55017.outlook.com"]
        assert steps["get"]["host"] == "smtp.sdk.example" and steps["get"]["encryption_type"] == "Tls"
        assert steps["get-updated"] == 2525 and steps["testconnection"] is True and steps["delete"] is True
        # the SDK's testconnection really delivered, to its receiver, with its credentials
        (mail,) = server.sink.messages
        assert mail.rcpt_tos == ["sdk-receiver@check.org"] and mail.auth_user == "sdk-user"
        assert mail.mail_from == "sdk@check.org"
        # what the SDK does that the vendor contract does not promise: recorded, never refused
        codes = {v.code for e in server.requests() for v in e.violations}
        assert "doc-spelling" not in codes  # the SDK spells recieverEmail as the service does
        server.assert_no_violations("warning")  # a correct client: style notes (info) only (#22)
        assert {e.operation_id for e in server.requests()} >= {
            "getAllSmtpSettings",
            "createSmtpSettings",
            "getSmtpSettingsById",
            "updateSmtpSettings",
            "testSmtpConnection",
            "deleteSmtpSettings",
        }
