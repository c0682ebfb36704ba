"""Exit codes a CI step can use (issue #25, row 4 and 10): ``messages --wait`` fails when nothing matched, a
configuration that would start unsafely or uselessly is refused at start with the fix, ``--print-config`` reads
the files the configuration names."""

from __future__ import annotations

import json
import os
import smtplib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from mockserver.cli import main
from mockserver.runtime.server import MockServer


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("CXMOCK_"):
            monkeypatch.delenv(key)


@pytest.fixture(scope="module")
def live() -> Iterator[MockServer]:
    with MockServer() as server:
        yield server


def run(*args: str) -> subprocess.CompletedProcess[str]:
    """``python -m mockserver ...`` as a CI step runs it (real exit code, separate stdout and stderr)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CXMOCK_")}
    return subprocess.run(
        [sys.executable, "-m", "mockserver", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        stdin=subprocess.DEVNULL,
        env=clean,
    )


@pytest.mark.no_leak_check  # the module-scoped server outlives each test by design
def test_messages_wait_exits_1_and_says_so_when_nothing_matched(live: MockServer) -> None:
    live.reset()
    result = CliRunner().invoke(main, ["messages", "--url", live.base_url, "--wait", "0.2", "--to", "nobody@x.org"])
    assert result.exit_code == 1, result.output
    assert "0 message(s)" in result.stdout
    assert "no message (to containing 'nobody@x.org') arrived within 0.2 s" in result.stderr


@pytest.mark.no_leak_check
def test_messages_wait_exits_0_when_the_mail_came(live: MockServer) -> None:
    live.reset()
    with smtplib.SMTP("127.0.0.1", live.sink.smtp_port, timeout=10) as smtp:
        smtp.sendmail("app@check.org", ["ops@check.org"], b"Subject: hi\r\n\r\nhello\r\n")
    result = CliRunner().invoke(main, ["messages", "--url", live.base_url, "--wait", "5", "--to", "ops@check.org"])
    assert result.exit_code == 0 and "1 message(s)" in result.stdout


@pytest.mark.no_leak_check
def test_a_plain_listing_of_no_mail_is_not_a_failure(live: MockServer) -> None:
    live.reset()
    result = CliRunner().invoke(main, ["messages", "--url", live.base_url])
    assert result.exit_code == 0 and "0 message(s)" in result.stdout


def test_an_empty_admin_token_is_refused_at_start_with_the_fix() -> None:
    result = run("serve", "--port", "0", "--smtp-port", "0", "--smtps-port", "0", "--admin-token", "")
    assert result.returncode == 2, result.stderr
    assert "admin_token is empty, which would leave the admin API unlocked" in result.stderr
    assert "leave --admin-token out" in result.stderr
    from mockserver.config import Config
    from mockserver.errors import ConfigError

    with pytest.raises(ConfigError, match="CXMOCK_ADMIN_TOKEN: admin_token is empty"):
        Config.load(environ={"CXMOCK_ADMIN_TOKEN": " "})
    with pytest.raises(ConfigError, match="admin_token is empty"):
        MockServer(admin_token="")


def test_fixed_smtp_auth_without_credentials_is_refused_at_start_with_the_fix() -> None:
    result = run("serve", "--port", "0", "--smtp-port", "0", "--smtps-port", "0", "--smtp-auth", "fixed")
    assert result.returncode == 2, result.stderr
    assert "every AUTH would be refused" in result.stderr and "--smtp-credentials user:password" in result.stderr
    ok = run("serve", "--smtp-auth", "fixed", "--smtp-credentials", "mailer:secret", "--print-config")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["smtp_auth"] == "fixed"


def test_print_config_reads_the_files_it_names(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-seed.yaml"
    result = run("serve", "--seed", str(missing), "--print-config")
    assert result.returncode == 3
    assert json.loads(result.stdout)["seed"] == str(missing)  # the configuration is still shown
    assert "cannot start with this configuration" in result.stderr and "no-such-seed.yaml" in result.stderr

    broken = tmp_path / "faults.yaml"
    broken.write_text("- match: {method: GET}\n  action: {type: no-such-action}\n")
    result = run("serve", "--faults", str(broken), "--print-config")
    assert result.returncode == 3 and "no-such-action" in result.stderr

    cert = tmp_path / "cert.pem"
    cert.write_text("not a certificate")
    result = run("serve", "--smtp-cert", str(cert), "--smtp-key", str(cert), "--print-config")
    assert result.returncode == 3 and "cert.pem" in result.stderr, result.stderr

    assert run("serve", "--print-config").returncode == 0  # the defaults' files (fixtures) are fine
