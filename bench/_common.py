"""Shared pieces of the harness: rows, statistics, ports, processes, memory, the machine description."""

from __future__ import annotations

import contextlib
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"  # the only address any benchmark sends traffic to

Row = dict[str, Any]

#: what a client of the API sends and reads, as the vendor's clients know it (not imported from cxmock's internals:
#: a benchmark measures through the public entry points)
JSON_V1 = "application/json;v=1.0"
#: the secret of the bundled users file's clients (fixtures/users.yaml, README)
CLIENT_SECRET = "014DF517-39D1-4453-B7B3-9930C563627C"


def token_form(
    username: str = "admin", password: str = "admin", *, client_secret: str = CLIENT_SECRET
) -> dict[str, str]:
    """The form of a token request (resource-owner password grant), as the vendor's clients send it."""
    return {
        "grant_type": "password",
        "username": username,
        "password": password,
        "scope": "access_control_api",
        "client_id": "resource_owner_client",
        "client_secret": client_secret,
    }


@dataclass(frozen=True)
class Mode:
    """How big a run is: ``quick`` is a smoke test (CI), the default is the real measurement."""

    quick: bool
    runs: int
    #: seconds of load per throughput run
    duration: float
    #: connections of the load generator
    connections: int
    #: "auto" (wrk when installed, else the Python client), "wrk" or "python"
    loadgen: str
    prism: bool

    @classmethod
    def make(cls, quick: bool, loadgen: str = "auto", prism: bool = True) -> Mode:
        if quick:
            return cls(quick=True, runs=1, duration=0.4, connections=4, loadgen=loadgen, prism=False)
        return cls(quick=False, runs=5, duration=3.0, connections=4, loadgen=loadgen, prism=prism)


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) of already sorted values, nearest rank."""
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return float(sorted_values[k])


def row(
    name: str,
    unit: str,
    samples: Sequence[float],
    *,
    section: str,
    baseline: Sequence[float] | None = None,
    baseline_name: str | None = None,
    target: float | None = None,
    target_kind: str | None = None,
    detail: str = "",
) -> Row:
    """One report row over ``samples`` (one value per run).

    :param target_kind: how ``target`` is judged: ``"max"`` (median <= target), ``"min"`` (median >= target),
        ``"ratio_min"`` (median / baseline median >= target), ``"ratio_max"``; None: context only (no pass/fail).
    """
    med = median(samples)
    base = median(baseline) if baseline else None
    ratio = med / base if base else None
    passed: bool | None
    if target is None or target_kind is None:
        passed = None
    elif target_kind == "max":
        passed = med <= target
    elif target_kind == "min":
        passed = med >= target
    elif target_kind == "ratio_min":
        passed = ratio is not None and ratio >= target
    elif target_kind == "ratio_max":
        passed = ratio is not None and ratio <= target
    else:
        raise ValueError(f"unknown target kind {target_kind!r}")
    return {
        "section": section,
        "name": name,
        "unit": unit,
        "median": med,
        "min": min(samples),
        "max": max(samples),
        "runs": len(samples),
        "baseline_name": baseline_name,
        "baseline_median": base,
        "ratio": ratio,
        "target": target,
        "target_kind": target_kind,
        "passed": passed,
        "detail": detail,
    }


def skipped(
    name: str, unit: str, reason: str, *, section: str, target: float | None = None, target_kind: str | None = None
) -> Row:
    """A row that could not be measured here (the harness goes on)."""
    return {
        "section": section,
        "name": name,
        "unit": unit,
        "median": None,
        "min": None,
        "max": None,
        "runs": 0,
        "baseline_name": None,
        "baseline_median": None,
        "ratio": None,
        "target": target,
        "target_kind": target_kind,
        "passed": None,
        "skipped": reason,
        "detail": "",
    }


# -- ports and processes ---------------------------------------------------------------------------------------
def free_port() -> int:
    """A port that was free a moment ago (for servers that cannot bind port 0 and report it)."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def wait_http(port: int, path: str = "/", timeout: float = 30.0, proc: subprocess.Popen[Any] | None = None) -> None:
    """Poll until ``GET path`` on 127.0.0.1:port gets any HTTP answer (bounded by ``timeout``)."""
    deadline = time.monotonic() + timeout
    request = f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n".encode()
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the server process exited with {proc.returncode} before answering")
        try:
            with socket.create_connection((HOST, port), timeout=1.0) as sock:
                sock.sendall(request)
                if sock.recv(16).startswith(b"HTTP/"):
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"nothing answered HTTP on {HOST}:{port} within {timeout} s")


@contextlib.contextmanager
def process(
    argv: Sequence[str], *, cwd: Path = ROOT, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Run a server process for the duration of the block; always terminated (then killed) at the end.

    Its output goes to a temporary file, never to an unread pipe: a server that logs under load (waitress's
    "task queue depth" warnings) would otherwise fill the pipe and block mid-benchmark."""
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(list(argv), cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        try:
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def python_env() -> dict[str, str]:
    """The environment for child Python processes: the repository importable (``bench``, ``mockserver``)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


# -- memory ------------------------------------------------------------------------------------------------------
def rss_mb() -> float:
    """This process's resident set size in MB (Linux ``/proc``; elsewhere the peak RSS)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


# -- the machine ---------------------------------------------------------------------------------------------------
PACKAGES = (
    "cxmock",
    "flask",
    "werkzeug",
    "flask-smorest",
    "marshmallow",
    "cheroot",
    "aiosmtpd",
    "trustme",
    "cryptography",
    "jsonschema",
    "waitress",
    "granian",
)


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _ram() -> str:
    with contextlib.suppress(OSError):
        m = re.search(r"MemTotal:\s+(\d+) kB", Path("/proc/meminfo").read_text())
        if m:
            return f"{int(m.group(1)) / 1024 / 1024:.1f} GiB"
    return "unknown"


def _os() -> str:
    with contextlib.suppress(OSError):
        m = re.search(r'^PRETTY_NAME="?([^"\n]+)', Path("/etc/os-release").read_text(), re.M)
        if m:
            return f"{m.group(1)} (kernel {platform.release()})"
    return platform.platform()


def _tool_version(argv: Sequence[str]) -> str | None:
    if shutil.which(argv[0]) is None and not Path(argv[0]).exists():
        return None
    try:
        out = subprocess.run(list(argv), capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (out.stdout or out.stderr).strip().splitlines()
    return text[0].split(" Copyright")[0] if text else None


def machine(extra_tools: dict[str, str | None] | None = None) -> dict[str, Any]:
    """What the numbers were measured on."""
    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "ram": _ram(),
        "os": _os(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "packages": versions,
        "tools": {
            "wrk": _tool_version(["wrk", "--version"]),
            "node": _tool_version(["node", "--version"]),
            **(extra_tools or {}),
        },
        "load_before": load,
    }
