"""What a newcomer sees when the CLI or the configuration is wrong (#16, items 4-11): every error names where the
value came from, what was expected and what to do; every ``--help`` text gives values, units and defaults."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from mockserver.cli import _HELP, main
from mockserver.config import Config
from mockserver.runtime.server import MockServer

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("CXMOCK_"):
            monkeypatch.delenv(key)


def serve(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m mockserver serve ...`` as a user runs it, on ephemeral ports."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CXMOCK_")}
    return subprocess.run(
        [sys.executable, "-m", "mockserver", "serve", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        stdin=subprocess.DEVNULL,
        env={**clean, **(env or {})},
    )


# -- 4. the Dockerfile's comments say what the image does --------------------------------------------------------


def test_item4_dockerfile_and_readme_give_the_real_ports_and_the_podman_format() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "default is 0" not in dockerfile
    assert "8080" in dockerfile and "podman build --format docker" in dockerfile
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "podman build --format docker" in readme and "HEALTHCHECK" in readme


# -- 5. a bad value names its source, the expected type and the right default -------------------------------------


def test_item5_bad_environment_value_names_the_variable_the_type_and_the_serve_default() -> None:
    result = CliRunner().invoke(main, ["serve", "--print-config"], env={"CXMOCK_PORT": "abc"})
    assert result.exit_code == 2
    assert "CXMOCK_PORT: option port expects an integer, got 'abc' (default: 8080)" in result.output
    assert "invalid literal" not in result.output and "Traceback" not in result.output


def test_item5_bad_file_value_names_file_and_line(tmp_path: Path) -> None:
    config = tmp_path / "cxmock.yaml"
    config.write_text("seed: none\nsmtp_timeout: soon\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["serve", "--config", str(config), "--print-config"])
    assert result.exit_code == 2
    assert f"{config}:2: option smtp_timeout expects a number, got 'soon' (default: 10.0)" in result.output


def test_item5_out_of_range_value_names_its_source(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["serve", "--print-config"], env={"CXMOCK_SMTP_PORT": "70000"})
    assert result.exit_code == 2
    assert "CXMOCK_SMTP_PORT: smtp_port must be between 0 and 65535" in result.output
    assert "(default: 2525)" in result.output
    flag = CliRunner().invoke(main, ["serve", "--port", "abc"])
    assert flag.exit_code == 2 and "'--port'" in flag.output and "not a valid integer" in flag.output


# -- 6. wrong shapes are errors that show the expected shape ------------------------------------------------------


def test_item6_inline_rule_in_the_config_file_is_refused_with_the_expected_shape(tmp_path: Path) -> None:
    config = tmp_path / "cxmock.yaml"
    config.write_text("port: 0\nfaults: {name: x}\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["serve", "--config", str(config), "--print-config"])
    assert result.exit_code == 2
    assert f"{config}:2: option faults expects a list of strings" in result.output
    assert "got a mapping" in result.output and "faults: [flaky-5xx, ./my-faults.yaml]" in result.output


@pytest.mark.parametrize(
    ("text", "fragment"),
    [("port: [8080]\n", "option port expects an integer, got a list"), ("seed: {a: 1}\n", "got a mapping")],
)
def test_item6_scalar_options_refuse_lists_and_mappings(tmp_path: Path, text: str, fragment: str) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["serve", "--config", str(config), "--print-config"])
    assert result.exit_code == 2 and fragment in result.output


# -- 7. report --fail-on says why it failed --------------------------------------------------------------------------


def test_item7_report_fail_on_says_why_on_stderr(tmp_path: Path) -> None:
    with MockServer() as live:
        # stored without credentials: credentials-missing is a warning (a missing v=1.0 is info since #22)
        body = {"host": "smtp.example.org", "port": 25, "fromAddress": "a@example.org"}
        headers = {"Authorization": f"Bearer {live.token()}"}
        requests.post(live.api_url + "/SMTPSettings", json=body, headers=headers, timeout=10)
        out = tmp_path / "lint.xml"
        result = CliRunner().invoke(
            main, ["report", "--url", live.base_url, "--format", "junit", "-o", str(out), "--fail-on", "warning"]
        )
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "violations at or above --fail-on warning" in result.stderr
    assert "credentials-missing x1 (warning)" in result.stderr and str(out) in result.stderr


# -- 8. faults prints one JSON document ----------------------------------------------------------------------------


def test_item8_faults_preset_prints_one_json_document() -> None:
    with MockServer() as live:
        result = CliRunner().invoke(main, ["faults", "--url", live.base_url, "--preset", "slow"])
    assert result.exit_code == 0, result.output
    listing = json.loads(result.stdout)  # one document: json.loads refuses two
    assert [rule["name"] for rule in listing["rules"]] == ["slow"]
    assert result.stderr == f"added 1 rule(s): {listing['rules'][0]['id']}\n"


# -- 9. --help lists values, units and defaults ----------------------------------------------------------------------


def test_item9_every_serve_option_has_a_written_help_with_its_default_and_variable() -> None:
    assert set(_HELP) == {f.name for f in fields(Config)}
    text = CliRunner().invoke(main, ["serve", "--help"], terminal_width=400).output
    text = re.sub(r"\s+", " ", text)
    for f in fields(Config):
        flag = "--" + f.name.replace("_", "-")
        start = text.index(flag + " ")
        chunk = text[start : text.index("[default:", start) + 60]
        assert f"CXMOCK_{f.name.upper()}" in chunk, flag
    assert "--log-format [text|json]" in text and "--smtp-auth [any|fixed]" in text
    assert "--smtp-mode [sink|direct]" in text
    assert "seconds" in text[text.index("--smtp-timeout") :][:200]
    assert "--port INTEGER HTTP port (1-65535); 0 picks a free one. Env: CXMOCK_PORT. [default: 8080]" in text
    for name in ("Log format.", "Smtp auth.", "Smtp timeout."):
        assert name not in text


def test_item9_faults_help_lists_the_presets_and_points_at_the_reference() -> None:
    text = re.sub(r"\s+", " ", CliRunner().invoke(main, ["faults", "--help"], terminal_width=400).output)
    assert "flaky-5xx" in text and "smtp-greeting-421" in text and "docs/faults.md" in text


# -- 10. a bind error gives advice that matches its cause -------------------------------------------------------------


@pytest.mark.slow
def test_item10_an_address_not_on_this_machine_is_named_as_such() -> None:
    # a TEST-NET-style private address no interface of the test machine has: the bind fails, no packet is sent
    completed = serve("--host", "10.99.99.99", "--port", "0", "--smtp-port", "0", "--smtps-port", "0")
    assert completed.returncode == 3
    assert "10.99.99.99 is not an address of this machine" in completed.stderr
    assert "127.0.0.1" in completed.stderr and "0.0.0.0" in completed.stderr
    assert "pick another --port" not in completed.stderr and "Traceback" not in completed.stderr


@pytest.mark.slow
def test_item10_a_busy_port_still_says_pick_another_port() -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        completed = serve("--port", "0", "--smtp-port", str(port), "--smtps-port", "0", "--seed", "none")
    assert completed.returncode == 3
    assert f"port {port} is already in use" in completed.stderr and "--smtp-port" in completed.stderr


# -- 11. unknown CXMOCK_* variables warn; users-file shapes ----------------------------------------------------------


def test_item11_unknown_environment_variable_warns_with_did_you_mean() -> None:
    result = CliRunner().invoke(main, ["serve", "--print-config"], env={"CXMOCK_PROT": "1"})
    assert result.exit_code == 0
    assert (
        "cxmock: warning: environment variable CXMOCK_PROT is not a cxmock option and is ignored; "
        "did you mean 'CXMOCK_PORT'?" in result.stderr
    )
    assert json.loads(result.stdout)["port"] == 8080


@pytest.mark.slow
def test_item11_users_not_a_list_is_a_shape_message(tmp_path: Path) -> None:
    users = tmp_path / "users.yaml"
    users.write_text("users: notalist\n", encoding="utf-8")
    completed = serve("--users", str(users), "--port", "0", "--smtp-port", "0", "--smtps-port", "0")
    assert completed.returncode == 3
    assert "'users' must be a list, got str 'notalist'" in completed.stderr
    assert "users: [{username: admin, password: admin" in completed.stderr
    assert "users[0]" not in completed.stderr
