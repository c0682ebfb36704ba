"""Static checks of the container files (#6); ``scripts/container-smoke`` builds and runs the image for real.

These catch drift cheaply in every pytest run: an environment variable the image sets that the app no longer reads,
a data folder the wheel needs that ``.dockerignore`` leaves out, a non-exec ENTRYPOINT, a root USER.
"""

from __future__ import annotations

import json
import re
import subprocess
import tomllib
from pathlib import Path

import pytest

from mockserver.config import ENV_PREFIX, Config

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
SMOKE = ROOT / "scripts" / "container-smoke"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined, comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        keyword, _, args = full.partition(" ")
        out.append((keyword.upper(), args.strip()))
    return out


def of(keyword: str) -> list[str]:
    return [args for kw, args in instructions() if kw == keyword]


def final_stage() -> list[tuple[str, str]]:
    items = instructions()
    last_from = max(i for i, (kw, _) in enumerate(items) if kw == "FROM")
    return items[last_from:]


def env_of_final_stage() -> dict[str, str]:
    env: dict[str, str] = {}
    for kw, args in final_stage():
        if kw == "ENV":
            for key, value in re.findall(r"(\w+)=(\S+)", args):
                env[key] = value
    return env


def test_base_image_is_an_argument_defaulting_to_the_official_slim_python() -> None:
    items = instructions()
    assert items[0] == ("ARG", "BASE_IMAGE=python:3.12-slim")
    froms = of("FROM")
    assert froms and all(f.split()[0] == "${BASE_IMAGE}" for f in froms)


def test_environment_binds_all_interfaces_and_every_variable_is_a_config_option() -> None:
    env = env_of_final_stage()
    assert env["CXMOCK_HOST"] == "0.0.0.0"
    assert env["CXMOCK_SMTP_HOST"] == "0.0.0.0"
    options = {ENV_PREFIX + name.upper() for name in Config.option_names()}
    cxmock_vars = {key for key in env if key.startswith(ENV_PREFIX)}
    assert cxmock_vars <= options, f"the app reads none of {sorted(cxmock_vars - options)}"
    # EXPOSE lists exactly the ports the environment sets
    exposed = {int(p.split("/")[0]) for args in of("EXPOSE") for p in args.split()}
    assert exposed == {int(env[k]) for k in ("CXMOCK_PORT", "CXMOCK_SMTP_PORT", "CXMOCK_SMTPS_PORT")}
    assert exposed == {8080, 2525, 4650}


def test_runs_as_a_numeric_non_root_user() -> None:
    users = [args for kw, args in final_stage() if kw == "USER"]
    assert users, "the final stage has no USER"
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and int(uid) != 0


def test_entrypoint_is_exec_form_cxmock_serve_and_healthcheck_uses_cxmock_check() -> None:
    (entrypoint,) = of("ENTRYPOINT")
    assert json.loads(entrypoint) == ["cxmock", "serve"]  # exec form: cxmock is PID 1 and gets SIGTERM
    (healthcheck,) = of("HEALTHCHECK")
    assert "cxmock check" in healthcheck and "${CXMOCK_PORT}" in healthcheck


def test_dockerignore_keeps_what_the_wheel_needs_and_the_wheelhouse() -> None:
    lines = [ln.strip() for ln in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()]
    patterns = [ln for ln in lines if ln and not ln.startswith("#")]
    assert patterns[0] == "*", ".dockerignore is an allow-list"
    allowed = {p[1:].rstrip("/") for p in patterns if p.startswith("!")}
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    wheel = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]
    needed = {"pyproject.toml", "wheelhouse", pyproject["project"]["readme"], *wheel["packages"]}
    needed |= set(wheel.get("force-include", {}))
    assert needed <= allowed, f".dockerignore leaves out {sorted(needed - allowed)}"
    assert not allowed & {".git", ".venv", ".ci-venv", "tests"}


def test_smoke_script_is_executable_bash_with_valid_syntax() -> None:
    assert SMOKE.stat().st_mode & 0o111
    assert SMOKE.read_text(encoding="utf-8").startswith("#!/usr/bin/env bash\n")
    result = subprocess.run(["bash", "-n", str(SMOKE)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("needle", ["--network=host", "--init", "CONTAINERS_CONF", "hadolint"])
def test_smoke_script_follows_the_container_notes(needle: str) -> None:
    assert needle in SMOKE.read_text(encoding="utf-8")
