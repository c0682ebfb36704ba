"""An integrator's "test", end to end: token → create → get → put → testconnection → mail check → delete.

The 7 requests one test of an integrator's suite sends, run against three servers in their own processes, each
measured the same way in the same run, interleaved round by round (drift on a shared machine hits all alike):

- ``cxmock serve`` from this tree, as a user starts it (defaults: request log on, sink mode);
- ``cxmock serve`` from the 2026-12-07 main (``b9a970a``), installed from that commit into a virtualenv of its own
  (``bench/.baseline-b9a970a``, git-ignored; made on first use, full runs only): what issue #26 halves;
- the floor (``bench/floor_app.py``): a bare Flask app with the same routes and the same JWT signing on the same
  HTTP front end, a bare aiosmtpd sink with the same TLS and AUTH, smtplib as the client.

CPU is the server process's own (the sum of its threads' run time from ``/proc/PID/task/*/schedstat``, nanosecond
resolution), per sequence and per step, measured at one connection. Throughput (sequences/s at 1, 4 and 16
connections) and the p99 of a whole sequence come from client threads in this process, one keep-alive connection
each: on 2 cores the client's own CPU shares the machine, so the ratios matter more than the rates.
Prism and WireMock cannot run this sequence (they keep no state between requests and send no mail): their GET
rows are in the front-end section.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ._common import CLIENT_SECRET, HOST, JSON_V1, ROOT, Mode, Row, percentile, process, python_env, row, skipped

SECTION = "An integrator's test: token → create → get → put → testconnection → mail check → delete (issue #26)"
BASELINE_COMMIT = "b9a970a"
BASELINE_VENV = ROOT / "bench" / f".baseline-{BASELINE_COMMIT}"
STEPS = ("token", "create", "get", "put", "testconnection", "mail check", "delete")
API = "/cxrestapi/auth"
TOKEN_FORM = urllib.parse.urlencode(
    {
        "grant_type": "password",
        "username": "admin",
        "password": "admin",
        "scope": "access_control_api sast_rest_api",
        "client_id": "resource_owner_client",
        "client_secret": CLIENT_SECRET,
    }
)
SETTINGS = {
    "host": "smtp.example.org",
    "port": 587,
    "encryptionType": "Tls",
    "fromAddress": "noreply@example.org",
    "useDefaultCredentials": False,
    "username": "mailer",
    "password": "bench-secret",
}


def cpu_seconds(pid: int) -> float:
    """The process's CPU time so far: the sum of its live threads' run time (nanoseconds in schedstat)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            total += int((task / "schedstat").read_text().split()[0])
    return total / 1e9


class _Server:
    def __init__(self, name: str, proc: subprocess.Popen[bytes], port: int) -> None:
        self.name = name
        self.proc = proc
        self.port = port

    def cpu(self) -> float:
        return cpu_seconds(self.proc.pid)


class _Client:
    """One keep-alive connection running sequences; each step checks its status (a wrong answer fails the run)."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection(HOST, port, timeout=30)

    def call(self, method: str, path: str, body: bytes | None, headers: dict[str, str], want: int) -> bytes:
        self.conn.request(method, path, body=body, headers=headers)
        response = self.conn.getresponse()
        data = response.read()
        if response.status != want:
            raise RuntimeError(f"{method} {path}: {response.status} (expected {want}): {data[:300]!r}")
        if method == "POST" and want == 201:
            return (response.getheader("Location") or "").encode()
        return data

    def sequence(self, tag: str, on_step: Any = None) -> None:
        mark = on_step or (lambda step: None)
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        token = json.loads(self.call("POST", API + "/identity/connect/token", TOKEN_FORM.encode(), form, 200))
        mark("token")
        auth = {"Authorization": f"Bearer {token['access_token']}", "Accept": JSON_V1, "cxOrigin": "bench"}
        send = {**auth, "Content-Type": JSON_V1}
        body = json.dumps(SETTINGS).encode()
        location = self.call("POST", API + "/SMTPSettings", body, send, 201).decode()
        item = urllib.parse.urlsplit(location).path
        mark("create")
        self.call("GET", item, None, auth, 200)
        mark("get")
        self.call("PUT", item, body, send, 204)
        mark("put")
        receiver = f"{tag}@example.org"
        test = json.dumps({**SETTINGS, "recieverEmail": receiver}).encode()
        self.call("POST", API + "/SMTPSettings/testconnection", test, send, 200)
        mark("testconnection")
        found = json.loads(self.call("GET", f"/_mock/messages?to={receiver}", None, {}, 200))
        if len(found) != 1:
            raise RuntimeError(f"the mail check for {receiver} found {len(found)} messages")
        mark("mail check")
        self.call("DELETE", item, None, auth, 204)
        mark("delete")

    def close(self) -> None:
        self.conn.close()


def _wait_port_file(path: Path, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode} before it was ready")
        with contextlib.suppress(OSError, ValueError):
            text = path.read_text(encoding="utf-8")
            if text.endswith("\n"):
                ready: dict[str, Any] = json.loads(text)
                return ready
        time.sleep(0.05)
    raise TimeoutError(f"no port file {path} within {timeout} s")


@contextlib.contextmanager
def _serve(name: str, python: str, env: dict[str, str], extra: tuple[str, ...] = ()) -> Iterator[_Server]:
    with tempfile.TemporaryDirectory() as tmp:
        port_file = Path(tmp, "ready.json")
        argv = [python, "-m", "mockserver", "serve", "--port", "0", "--smtp-port", "0", "--smtps-port", "0"]
        argv += ["--seed", "none", "--quiet", "--port-file", str(port_file), *extra]
        with process(argv, cwd=Path(tmp), env=env) as proc:
            ready = _wait_port_file(port_file, proc)
            yield _Server(name, proc, int(ready["http"]))


@contextlib.contextmanager
def _floor() -> Iterator[_Server]:
    with tempfile.TemporaryDirectory() as tmp:
        port_file = Path(tmp, "ready.json")
        with process([sys.executable, "-m", "bench.floor_app", "--port-file", str(port_file)], env=python_env()) as p:
            ready = _wait_port_file(port_file, p)
            yield _Server("floor", p, int(ready["http"]))


def baseline_python() -> tuple[str | None, str]:
    """The Python of a virtualenv holding cxmock at :data:`BASELINE_COMMIT` (made on first use), or the reason not."""
    python = BASELINE_VENV / "bin" / "python"
    if python.exists():
        return str(python), ""
    try:
        with tempfile.TemporaryDirectory() as tmp:
            archive = subprocess.run(
                ["git", "-C", str(ROOT), "archive", BASELINE_COMMIT], capture_output=True, timeout=120, check=True
            )
            subprocess.run(["tar", "-x", "-C", tmp], input=archive.stdout, timeout=120, check=True)
            subprocess.run([sys.executable, "-m", "venv", str(BASELINE_VENV)], timeout=300, check=True)
            subprocess.run(
                [str(python), "-m", "pip", "install", "-q", tmp], capture_output=True, timeout=900, check=True
            )
    except (OSError, subprocess.SubprocessError) as exc:
        return None, f"could not install cxmock {BASELINE_COMMIT} into {BASELINE_VENV.name}: {exc}"
    return str(python), ""


def _baseline_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CXMOCK_") and k != "PYTHONPATH"}
    return env


def _cpu_round(server: _Server, n: int, tag: str) -> tuple[float, dict[str, float]]:
    """CPU per sequence over ``n`` sequences at one connection, and per step (seconds)."""
    client = _Client(server.port)
    steps = dict.fromkeys(STEPS, 0.0)
    last = [server.cpu()]

    def on_step(step: str) -> None:
        now = server.cpu()
        steps[step] += now - last[0]
        last[0] = now

    try:
        start = last[0]
        for i in range(n):
            client.sequence(f"{tag}-{i}", on_step)
        total = server.cpu() - start
    finally:
        client.close()
    return total / n, {k: v / n for k, v in steps.items()}


def _throughput(server: _Server, connections: int, duration: float, tag: str) -> tuple[float, float]:
    """Sequences per second over ``duration`` with ``connections`` client threads, and the p99 of one (ms)."""
    latencies: list[float] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    deadline = time.monotonic() + duration

    def worker(k: int) -> None:
        client = _Client(server.port)
        mine: list[float] = []
        try:
            i = 0
            while time.monotonic() < deadline:
                t0 = time.perf_counter()
                client.sequence(f"{tag}-{k}-{i}")
                mine.append(time.perf_counter() - t0)
                i += 1
        except BaseException as exc:  # noqa: BLE001 - reported by the caller
            errors.append(exc)
        finally:
            client.close()
            with lock:
                latencies.extend(mine)

    started = time.monotonic()
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(duration + 60)
    elapsed = time.monotonic() - started
    if errors:
        raise RuntimeError(f"{server.name}: {errors[0]}")
    ordered = sorted(latencies)
    return len(latencies) / elapsed, percentile(ordered, 0.99) * 1000


def run(mode: Mode) -> list[Row]:
    rounds = 1 if mode.quick else 5
    per_round = 5 if mode.quick else 60
    duration = 0.5 if mode.quick else 4.0
    connections = (1, 4) if mode.quick else (1, 4, 16)
    base_python, base_skip = (None, "quick run: the baseline virtualenv is made in full runs only")
    if not mode.quick:
        base_python, base_skip = baseline_python()
    rows: list[Row] = []
    with contextlib.ExitStack() as stack:
        ours = stack.enter_context(_serve("cxmock serve", sys.executable, python_env()))
        floor = stack.enter_context(_floor())
        servers = [ours, floor]
        base = None
        if base_python is not None:
            base = stack.enter_context(_serve(f"cxmock serve {BASELINE_COMMIT}", base_python, _baseline_env()))
            servers.append(base)
        for s in servers:  # warm-up: imports, caches, the JIT-less interpreter's first calls
            _cpu_round(s, 3 if mode.quick else 20, f"warm-{s.proc.pid}")
        cpu: dict[str, list[float]] = {s.name: [] for s in servers}
        steps: dict[str, dict[str, list[float]]] = {s.name: {k: [] for k in STEPS} for s in servers}
        for r in range(rounds):
            for s in servers:
                total, per_step = _cpu_round(s, per_round, f"cpu-{r}-{s.proc.pid}")
                cpu[s.name].append(total * 1000)
                for k, v in per_step.items():
                    steps[s.name][k].append(v * 1000)
        rates: dict[str, dict[int, list[float]]] = {s.name: {c: [] for c in connections} for s in servers}
        p99: dict[str, dict[int, list[float]]] = {s.name: {c: [] for c in connections} for s in servers}
        for r in range(1 if mode.quick else 3):
            for c in connections:
                for s in servers:
                    rate, tail = _throughput(s, c, duration, f"rate-{r}-{c}-{s.proc.pid}")
                    rates[s.name][c].append(rate)
                    p99[s.name][c].append(tail)

    def med(values: list[float]) -> float:
        return sorted(values)[len(values) // 2]

    rows.append(
        row(
            "CPU per sequence, cxmock serve / the floor",
            "ms",
            cpu[ours.name],
            section=SECTION,
            baseline=cpu[floor.name],
            baseline_name="the floor (bench/floor_app.py)",
            target=1.5,
            target_kind="ratio_max",
            detail="server process CPU (all threads) per 7-step sequence, one connection",
        )
    )
    if base is not None:
        rows.append(
            row(
                f"CPU per sequence, cxmock serve / cxmock serve {BASELINE_COMMIT}",
                "ms",
                cpu[ours.name],
                section=SECTION,
                baseline=cpu[base.name],
                baseline_name=f"main {BASELINE_COMMIT} (2026-12-07)",
                target=0.5,
                target_kind="ratio_max",
            )
        )
    else:
        rows.append(skipped(f"CPU per sequence vs {BASELINE_COMMIT}", "ms", base_skip, section=SECTION))
    for step in STEPS:
        then = f"; {BASELINE_COMMIT}: {med(steps[base.name][step]):.2f} ms" if base is not None else ""
        rows.append(
            row(
                f"step {step}: CPU per call, cxmock / floor",
                "ms",
                steps[ours.name][step],
                section=SECTION,
                baseline=steps[floor.name][step],
                baseline_name="the floor, same step",
                detail=f"floor {med(steps[floor.name][step]):.2f} ms{then}",
            )
        )
    for c in connections:
        then = f"; {BASELINE_COMMIT}: {med(rates[base.name][c]):.0f}/s" if base is not None else ""
        rows.append(
            row(
                f"sequences/s at -c{c}, cxmock serve"
                + (f" / cxmock serve {BASELINE_COMMIT}" if base is not None else " / the floor"),
                "seq/s",
                rates[ours.name][c],
                section=SECTION,
                baseline=rates[base.name][c] if base is not None else rates[floor.name][c],
                baseline_name=f"main {BASELINE_COMMIT}" if base is not None else "the floor",
                target=2.0 if c == 16 and base is not None else None,
                target_kind="ratio_min" if c == 16 and base is not None else None,
                detail=(
                    f"p99 of a sequence {med(p99[ours.name][c]):.1f} ms; floor {med(rates[floor.name][c]):.0f}/s, "
                    f"p99 {med(p99[floor.name][c]):.1f} ms{then}"
                ),
            )
        )
    return rows
