"""The README's curl walkthrough works verbatim against a default server (only the port is changed)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from mockserver.cli import main
from mockserver.runtime.server import MockServer

README = Path(__file__).resolve().parents[1] / "README.md"


def walkthrough() -> str:
    text = README.read_text(encoding="utf-8")
    match = re.search(r"<!-- walkthrough -->\s*```sh\n(.*?)```", text, re.S)
    assert match, "README.md has no <!-- walkthrough --> code block"
    return match.group(1)


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_readme_curl_walkthrough_runs_verbatim() -> None:
    script = walkthrough()
    assert "http://localhost:8080/cxrestapi/auth" in script
    with MockServer(host="127.0.0.1") as server:
        # the only change: the ephemeral port instead of 8080
        script = script.replace("http://localhost:8080", server.base_url)
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script], capture_output=True, text=True, timeout=60, check=False
        )
        assert result.returncode == 0, result.stderr + result.stdout
        out = result.stdout
        assert '"host":"pod55017.outlook.com"' in out  # 2. the seeded record
        assert "HTTP/1.1 201" in out  # 3. created
        assert "Location: /cxrestapi/auth/SMTPSettings/2" in out
        assert '"id":2' in out and '"host":"smtp.example.org"' in out  # 4. read back
        assert '"displayName":"Checkmarx"' in out  # 4. the display name is stored and returned
        assert "s3cret" not in out  # the password is never returned
        assert "204\n200\n204\n" in out  # 5, 6 (testconnection), 7
        assert out.endswith("\n404\n[]\n")  # the GET after delete (its body the ErrorViewModel), 8: no violations
        assert '{"message":"SMTP settings with id 2 were not found' in out
        assert server.state.settings.list()[-1].id == 1
        (mail,) = server.sink.messages  # 6. delivered to recieverEmail, from displayName <fromAddress>
        assert mail.rcpt_tos == ["ops@check.org"] and mail.from_ == "Checkmarx <noreply@check.org>"
        # lint-clean: versioned Accept and Content-Type, cxOrigin on every request, no unknown member
        entries = server.requests()
        assert len(entries) == 8 and [v.to_dict() for e in entries for v in e.violations] == []
        # exemplary (#16 item 2): the CI gate the README advertises passes
        report = CliRunner().invoke(main, ["report", "--url", server.base_url, "--fail-on", "warning"])
        assert report.exit_code == 0, report.output


def example(name: str) -> str:
    text = README.read_text(encoding="utf-8")
    match = re.search(rf"<!-- example: {name} -->\s*```python\n(.*?)```", text, re.S)
    assert match, f"README.md has no <!-- example: {name} --> code block"
    return match.group(1)


pytest_plugins = ["pytester"]


def test_readme_pytest_example_passes(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_readme_example=example("pytest"))
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-p", "no:schemathesis", "-p", "no:hypothesispytest", timeout=120
    )
    result.assert_outcomes(passed=1)


def test_readme_pytest_example_passes_against_an_external_server(pytester: pytest.Pytester) -> None:
    """``--cxmock-url``: the same example, unchanged, against a server outside the pytest process (#6)."""
    pytester.makepyfile(test_readme_example=example("pytest"))
    with MockServer(host="127.0.0.1") as external:
        result = pytester.runpytest_subprocess(
            "-p",
            "no:cacheprovider",
            "-p",
            "no:schemathesis",
            "-p",
            "no:hypothesispytest",
            f"--cxmock-url={external.base_url}",
            "--cxmock-sandbox=readme",
            timeout=120,
        )
        result.assert_outcomes(passed=1)
        # it ran against the external server, in the sandbox named (kept at the end): the call and the mail are in
        # that sandbox's journal and mailbox, and none at the server's root
        external.sandbox("readme").assert_called("testSmtpConnection", times=1, status=200)
        assert [m.auth_user for m in external.sandbox("readme").sink.messages] == ["mailer"]
        assert external.requests() == [] and external.sink.messages == []


def test_readme_python_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    exec(compile(example("python"), "README.md:python-example", "exec"), {})  # noqa: S102 - our own README
    assert '"smtp"' in capsys.readouterr().out.replace("'", '"')
