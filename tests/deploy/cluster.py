"""Replicas behind a real router (helpers of tests/deploy): ``cxmock serve`` processes and Debian's HAProxy with
``deploy/haproxy/haproxy.cfg``.

``start_cluster(tmp_path, n)`` (a context manager) starts ``n`` replicas on ephemeral ports (each writes its ports to a
``--port-file``; readiness is polled with a deadline) and HAProxy in the foreground with that configuration, its
addresses given through the environment variables the file reads. Skipped, saying what to install, when HAProxy is
absent: ``apt-get install -y haproxy`` (``.ci/run`` installs it). ``CXMOCK_HAPROXY`` names another binary.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
HAPROXY_CFG = ROOT / "deploy" / "haproxy" / "haproxy.cfg"
STARTUP_DEADLINE = 30.0


def haproxy_binary() -> str | None:
    return (
        os.environ.get("CXMOCK_HAPROXY")
        or shutil.which("haproxy")
        or ("/usr/sbin/haproxy" if os.path.exists("/usr/sbin/haproxy") else None)
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def router_env(bind: str, replicas: list[str], **extra: str) -> dict[str, str]:
    """The environment ``haproxy.cfg`` reads: where to listen and the replicas (missing ones repeat the last)."""
    addresses = (replicas + [replicas[-1]] * 3)[:3]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CXMOCK_")}
    env.update(CXMOCK_ROUTER_BIND=bind, CXMOCK_R1=addresses[0], CXMOCK_R2=addresses[1], CXMOCK_R3=addresses[2])
    env.update(extra)
    return env


@dataclass
class Process:
    proc: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


@dataclass
class Cluster:
    url: str
    replicas: list[str]  # the replicas' base URLs, r1 first
    processes: list[Process] = field(default_factory=list)

    def logs(self) -> str:
        return "\n".join(f"--- {p.proc.args!r}\n{p.output()[-4000:]}" for p in self.processes)


def _spawn(argv: list[str], log: Path, env: dict[str, str] | None = None) -> Process:
    with log.open("wb") as sink:
        proc = subprocess.Popen(argv, stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
    return Process(proc, log)


def _wait(what: str, ready: object, process: Process) -> None:
    """Poll ``ready()`` until true, the process exits, or the deadline passes (then fail with its output)."""
    deadline = time.monotonic() + STARTUP_DEADLINE
    while not ready():  # type: ignore[operator]
        if time.monotonic() > deadline:
            pytest.fail(f"{what} was not ready within {STARTUP_DEADLINE} s:\n{process.output()}")
        try:
            code = process.proc.wait(timeout=0.05)  # the pause between polls; also notices an early exit
        except subprocess.TimeoutExpired:
            continue
        pytest.fail(f"{what} exited with {code} before it was ready:\n{process.output()}")


def _answers(url: str) -> bool:
    try:
        with requests.get(url, timeout=1) as response:
            return response.status_code == 200
    except requests.RequestException:
        return False


@contextlib.contextmanager
def start_cluster(tmp: Path, replicas: int, *serve_args: str) -> Iterator[Cluster]:
    haproxy = haproxy_binary()
    if haproxy is None:
        pytest.skip("the router tests need HAProxy: apt-get install -y haproxy (or set CXMOCK_HAPROXY)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CXMOCK_")}
    started: list[Process] = []
    try:
        urls = []
        for i in range(1, replicas + 1):
            port_file = tmp / f"r{i}.json"
            argv = [
                sys.executable,
                "-m",
                "mockserver",
                "serve",
                "--port",
                "0",
                "--smtp-port",
                "0",
                "--smtps-port",
                "0",
                "--port-file",
                str(port_file),
                *serve_args,
            ]
            process = _spawn(argv, tmp / f"r{i}.log", env)
            started.append(process)
            _wait(f"replica r{i}", lambda f=port_file: f.exists() and f.stat().st_size > 0, process)
            urls.append(str(json.loads(port_file.read_text())["base_url"]))
        port = free_port()
        router = _spawn(
            [haproxy, "-db", "-f", str(HAPROXY_CFG)],
            tmp / "haproxy.log",
            router_env(f"127.0.0.1:{port}", [u.removeprefix("http://") for u in urls]),
        )
        started.append(router)
        url = f"http://127.0.0.1:{port}"
        # root traffic reaches r1; HAProxy starts its servers up (every replica answered before it started)
        _wait("haproxy", lambda: _answers(url + "/_mock/health"), router)
        yield Cluster(url, urls, started)
    finally:
        for process in reversed(started):
            process.stop()
