"""``cxmock serve`` / ``python -m mockserver`` as a real process, ``cxmock check``, and option precedence.

Servers run as subprocesses on a port picked here (bind port 0, close, reuse); readiness is polled on
``/_mock/health`` with a deadline; shutdown is a signal and a bounded ``wait``.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner

from mockserver.cli import main
from mockserver.config import DEFAULT_CLIENT_SECRET
from mockserver.core.identity.identity import password_grant

STARTUP_DEADLINE = 20.0
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No CXMOCK_* variable of the developer's shell leaks into these tests."""
    for key in list(os.environ):
        if key.startswith("CXMOCK_"):
            monkeypatch.delenv(key)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


class Served:
    def __init__(self, proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
        self.proc = proc
        self.port = port
        self.log = log
        self.base_url = f"http://127.0.0.1:{port}"

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


@contextlib.contextmanager
def start(tmp_path: Path, *args: str) -> Iterator[Served]:
    port = free_port()
    log = tmp_path / f"serve-{port}.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "mockserver", "serve", "--port", str(port), "--smtp-port", "0", "--smtps-port", "0"]
            + list(args),
            stdout=sink,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    served = Served(proc, port, log)
    try:
        wait_healthy(served)
        yield served
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


def wait_healthy(served: Served) -> None:
    deadline = time.monotonic() + STARTUP_DEADLINE
    while True:
        try:
            with requests.get(served.base_url + "/_mock/health", timeout=1) as response:
                if response.status_code == 200:
                    return
        except requests.ConnectionError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"cxmock serve did not answer within {STARTUP_DEADLINE} s:\n{served.output()}")
        try:
            code = served.proc.wait(timeout=0.05)  # the pause between polls; also notices an early exit
        except subprocess.TimeoutExpired:
            continue
        pytest.fail(f"cxmock serve exited with {code} before answering:\n{served.output()}")


def token(base_url: str) -> str:
    form = password_grant("admin", "admin", scope="access_control_api", client_secret=DEFAULT_CLIENT_SECRET)
    with requests.post(base_url + "/cxrestapi/auth/identity/connect/token", data=form, timeout=10) as response:
        assert response.status_code == 200, response.text
        value: str = response.json()["access_token"]
        return value


def list_settings(base_url: str) -> list[dict[str, Any]]:
    headers = {"Authorization": f"Bearer {token(base_url)}", "Accept": "application/json;v=1.0"}
    with requests.get(base_url + "/cxrestapi/auth/SMTPSettings", headers=headers, timeout=10) as response:
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "application/json;v=1.0"
        records: list[dict[str, Any]] = response.json()
        return records


# -- live process ---------------------------------------------------------------------------------------------


def test_serve_answers_then_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    with start(tmp_path, "--seed", "none") as served:
        assert list_settings(served.base_url) == []

        healthy = CliRunner().invoke(main, ["check", "--url", served.base_url, "--timeout", "5"])
        assert healthy.exit_code == 0, healthy.output
        assert "healthy" in healthy.output

        served.proc.send_signal(signal.SIGTERM)
        assert served.proc.wait(timeout=5) == 0, served.output()  # issue #6: within 5 s


def test_serve_with_a_seed_file_and_sigint(tmp_path: Path) -> None:
    seed = tmp_path / "seed.yaml"
    seed.write_text(
        "- host: relay.example.org\n"
        "  port: 2525\n"
        "  encryptionType: none\n"
        "  fromAddress: ci@example.org\n"
        "  useDefaultCredentials: true\n",
        encoding="utf-8",
    )
    with start(tmp_path, "--seed", str(seed)) as served:
        records = list_settings(served.base_url)
        assert [(r["host"], r["port"], r["encryptionType"]) for r in records] == [("relay.example.org", 2525, "None")]
        served.proc.send_signal(signal.SIGINT)
        assert served.proc.wait(timeout=10) == 0, served.output()


def test_check_against_a_closed_port_exits_1() -> None:
    result = CliRunner().invoke(main, ["check", "--url", f"http://127.0.0.1:{free_port()}", "--timeout", "2"])
    assert result.exit_code == 1
    assert "unhealthy" in result.output


def test_invalid_seed_file_exits_non_zero_naming_the_field(tmp_path: Path) -> None:
    seed = tmp_path / "bad-seed.yaml"
    seed.write_text(
        "- host: relay.example.org\n  port: 0\n  encryptionType: Tls\n  fromAddress: ci@example.org\n"
        "  useDefaultCredentials: true\n",
        encoding="utf-8",
    )
    completed = subprocess.run(
        [sys.executable, "-m", "mockserver", "serve", "--port", str(free_port()), "--smtp-port", "0"]
        + ["--smtps-port", "0", "--seed", str(seed)],
        capture_output=True,
        timeout=30,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert completed.returncode != 0
    message = (completed.stdout + completed.stderr).decode()
    assert "port" in message
    assert "bad-seed.yaml" in message
    assert "Traceback" not in message


def test_missing_seed_file_exits_non_zero(tmp_path: Path) -> None:
    """In-process: a start-up failure leaves no thread or socket behind (the leak check watches)."""
    result = CliRunner().invoke(main, ["serve", "--port", "0", "--seed", str(tmp_path / "absent.yaml")])
    assert result.exit_code == 3
    assert "absent.yaml" in result.output


def test_port_in_use_exits_non_zero() -> None:
    """In-process: the SMTP sink and everything else started before the HTTP bind failed is stopped again."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        result = CliRunner().invoke(
            main, ["serve", "--port", str(port), "--smtp-port", "0", "--smtps-port", "0", "--seed", "none"]
        )
    assert result.exit_code == 3
    assert str(port) in result.output


# -- --print-config and precedence (no server) -----------------------------------------------------------------------


def print_config(args: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    result = CliRunner().invoke(main, ["serve", *args, "--print-config"], env=env)
    assert result.exit_code == 0, result.output
    config: dict[str, Any] = json.loads(result.output)
    return config


def test_print_config_masks_the_client_secret() -> None:
    config = print_config([])
    assert config["client_secret"] == "***"
    shown = print_config(["--client-secret", "my-client-secret", "--admin-token", "my-admin-token"])
    assert shown["client_secret"] == "***" and shown["admin_token"] == "***"
    result = CliRunner().invoke(main, ["serve", "--client-secret", "my-client-secret", "--print-config"])
    assert "my-client-secret" not in result.output
    assert DEFAULT_CLIENT_SECRET not in CliRunner().invoke(main, ["serve", "--print-config"]).output


def test_flag_beats_environment_beats_config_file(tmp_path: Path) -> None:
    config_file = tmp_path / "cxmock.yaml"
    config_file.write_text("port: 1111\ntoken_lifetime: 11\nmax_body: 1000\nstrict: true\n", encoding="utf-8")
    env = {"CXMOCK_PORT": "2222", "CXMOCK_TOKEN_LIFETIME": "22"}

    only_file = print_config(["--config", str(config_file)])
    assert (only_file["port"], only_file["token_lifetime"], only_file["max_body"]) == (1111, 11, 1000)

    env_over_file = print_config(["--config", str(config_file)], env=env)
    assert (env_over_file["port"], env_over_file["token_lifetime"], env_over_file["max_body"]) == (2222, 22, 1000)

    flags = print_config(["--config", str(config_file), "--port", "3333", "--no-strict"], env=env)
    assert (flags["port"], flags["token_lifetime"], flags["max_body"], flags["strict"]) == (3333, 22, 1000, False)


def test_config_file_from_the_environment(tmp_path: Path) -> None:
    config_file = tmp_path / "from-env.yaml"
    config_file.write_text("seed: none\n", encoding="utf-8")
    assert print_config([], env={"CXMOCK_CONFIG": str(config_file)})["seed"] == "none"


@pytest.mark.parametrize(
    ("args", "env", "named"),
    [
        (["--port", "abc"], {}, "port"),
        ([], {"CXMOCK_PORT": "abc"}, "port"),
        ([], {"CXMOCK_STRICT": "perhaps"}, "strict"),
        (["--port", "70000"], {}, "port"),
        (["--smtp-mode", "relay"], {}, "smtp_mode"),
    ],
)
def test_bad_options_are_usage_errors_naming_the_option(args: list[str], env: dict[str, str], named: str) -> None:
    result = CliRunner().invoke(main, ["serve", *args, "--print-config"], env=env)
    assert result.exit_code == 2
    assert named in result.output.replace("-", "_")


def test_unknown_key_in_config_file_is_a_usage_error(tmp_path: Path) -> None:
    config_file = tmp_path / "typo.yaml"
    config_file.write_text("prot: 8080\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["serve", "--config", str(config_file), "--print-config"])
    assert result.exit_code == 2
    assert "prot" in result.output


def test_serve_defaults_are_fixed_ports_and_request_logging_below_env_and_file(tmp_path: Path) -> None:
    shown = json.loads(CliRunner().invoke(main, ["serve", "--print-config"]).output)
    assert (shown["port"], shown["smtp_port"], shown["smtps_port"], shown["log_requests"]) == (8080, 2525, 4650, True)
    env = {"CXMOCK_LOG_REQUESTS": "false", "CXMOCK_SMTP_PORT": "0"}
    shown = json.loads(CliRunner().invoke(main, ["serve", "--print-config"], env=env).output)
    assert shown["log_requests"] is False and shown["smtp_port"] == 0
    config_file = tmp_path / "cxmock.yaml"
    config_file.write_text("log_requests: false\nport: 9000\n", encoding="utf-8")
    shown = json.loads(CliRunner().invoke(main, ["serve", "--config", str(config_file), "--print-config"]).output)
    assert shown["log_requests"] is False and shown["port"] == 9000


def test_smtp_allow_extends_the_loopback_default() -> None:
    shown = json.loads(CliRunner().invoke(main, ["serve", "--smtp-allow", "10.0.0.5", "--print-config"]).output)
    assert shown["smtp_allow"] == ["10.0.0.5"]
    from mockserver.config import LOOPBACK_ALLOW, Config

    assert Config(smtp_allow=("10.0.0.5",)).effective_smtp_allow == (*LOOPBACK_ALLOW, "10.0.0.5")
    assert Config().effective_smtp_allow == LOOPBACK_ALLOW


def test_secrets_stay_out_of_the_config_repr() -> None:
    from mockserver.config import Config

    config = Config(client_secret="cs-123456", admin_token="adm-654321", smtp_credentials=("u:pw-777",))
    assert not any(secret in repr(config) for secret in ("cs-123456", "adm-654321", "pw-777"))
