"""The HTTP front end (issue #14): what the engine alone costs per request against bare cheroot and bare waitress,
``GET /SMTPSettings`` on ``cxmock serve`` against Prism 5 and WireMock 3 at 4 and 16 connections (p99 beside
each), and how long ``MockServer()`` start + stop and an idle ``stop()`` take.

Every server runs in its own process, loaded by wrk (``bench.loadgen``) in another; CPU per request is that
process's user + system time (``/proc/PID/stat``) over the requests it answered, which hardly depends on the
other load of the machine, unlike the rates. Runs are interleaved server by server, so drift hits all alike.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import requests

from . import servers
from ._common import (
    HOST,
    JSON_V1,
    ROOT,
    Mode,
    Row,
    free_port,
    median,
    process,
    python_env,
    row,
    skipped,
    token_form,
    wait_http,
)
from .loadgen import LoadResult, load

ENGINES = "HTTP front end alone: bare Flask route, each engine in its own process (wrk)"
ANCHORS = "GET /SMTPSettings: cxmock serve vs Prism 5 and WireMock 3 (own processes, wrk)"
LIFECYCLE = "HTTP front end: start and stop (in-process)"
LIST = "/cxrestapi/auth/SMTPSettings"
WIREMOCK_DIR = ROOT / "bench" / ".wiremock"
CONNECTIONS = (4, 16)
_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` (all its threads), from /proc."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
        fields = fh.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


class _Target:
    """One server process under load: where it listens, what it is asked, and what each run measured."""

    def __init__(self, label: str, port: int, pid: int, path: str, headers: dict[str, str] | None = None) -> None:
        self.label, self.port, self.pid, self.path = label, port, pid, path
        self.headers = headers or {}
        self.results: dict[int, list[LoadResult]] = {c: [] for c in CONNECTIONS}
        self.cpu_us: dict[int, list[float]] = {c: [] for c in CONNECTIONS}

    def hit(self, mode: Mode, connections: int, duration: float | None = None) -> LoadResult:
        before = _cpu_seconds(self.pid)
        result = load(
            self.port,
            self.path,
            duration=duration or mode.duration,
            connections=connections,
            headers=self.headers,
            tool=mode.loadgen,
        )
        if result.requests:
            self.cpu_us[connections].append((_cpu_seconds(self.pid) - before) / result.requests * 1e6)
        return result

    def rps(self, c: int) -> list[float]:
        return [r.rps for r in self.results[c]]

    def cpu(self, c: int) -> float:
        return median(self.cpu_us[c]) if self.cpu_us[c] else float("nan")

    def latency(self, c: int) -> str:
        runs = self.results[c]
        if not runs:
            return ""
        failed = sum(r.errors for r in runs)
        text = f"p50 {median([r.p50_ms for r in runs]):.2f} ms, p99 {median([r.p99_ms for r in runs]):.2f} ms"
        return text + f", CPU {self.cpu(c):.0f} µs/request" + (f", {failed} failed responses" if failed else "")

    def problem(self) -> str | None:
        for runs in self.results.values():
            if any(r.requests == 0 for r in runs):
                return f"{self.label}: a run got no response at all"
            failed, total = sum(r.errors for r in runs), sum(r.requests for r in runs)
            if failed > total * 0.01:
                return f"{self.label}: {failed} of {total} responses failed"
        return None


def _interleave(mode: Mode, targets: list[_Target], warmup: float = 1.0) -> None:
    for c in CONNECTIONS:
        if not mode.quick:
            for target in targets:
                target.hit(mode, c, duration=warmup)
        for _ in range(mode.runs):
            for target in targets:
                target.results[c].append(target.hit(mode, c))


@contextlib.contextmanager
def _engine(name: str) -> Iterator[tuple[int, int]]:
    port = free_port()
    argv = [sys.executable, "-m", "bench.engines", name, str(port)]
    with process(argv, env=python_env()) as proc:
        wait_http(port, "/bare", proc=proc)
        yield port, proc.pid


@contextlib.contextmanager
def _waitress() -> Iterator[tuple[int, int]]:
    port = free_port()
    argv = [sys.executable, "-m", "waitress", f"--listen={HOST}:{port}", "--threads=4", "bench.bare_app:app"]
    with process(argv, env=python_env()) as proc:
        wait_http(port, "/bare", proc=proc)
        yield port, proc.pid


def engines(mode: Mode) -> list[Row]:
    """The front end's own cost: the same bare Flask route on cxmock's front end, bare cheroot, bare waitress."""
    rows: list[Row] = []
    with contextlib.ExitStack() as stack:
        ours = _Target("cxmock front end", *stack.enter_context(_engine("front-end")), "/bare")
        cheroot = _Target("cheroot", *stack.enter_context(_engine("cheroot")), "/bare")
        waitress: _Target | None = None
        if servers.waitress_missing() is None:
            waitress = _Target("waitress", *stack.enter_context(_waitress()), "/bare")
        targets = [t for t in (ours, cheroot, waitress) if t is not None]
        _interleave(mode, targets)
    for target in targets:
        if (problem := target.problem()) is not None:
            raise RuntimeError(problem)
    for c in CONNECTIONS:
        detail = f"ours {ours.latency(c)}; cheroot {cheroot.latency(c)}"
        if waitress is not None:
            detail += f"; waitress {waitress.latency(c)}"
        rows.append(
            row(
                f"bare route on cxmock's front end (asyncio + httptools, 16 workers), -c{c}",
                "req/s",
                ours.rps(c),
                section=ENGINES,
                baseline=cheroot.rps(c),
                baseline_name="bare cheroot 11 (16 threads), same route",
                detail=detail,
            )
        )
        rows.append(
            row(
                f"CPU per request of the engine + bare route: cxmock front end vs bare cheroot, -c{c}",
                "µs",
                ours.cpu_us[c],
                section=ENGINES,
                baseline=cheroot.cpu_us[c],
                baseline_name="bare cheroot, same route",
                target=1.0,
                target_kind="ratio_max",
                detail="server process user+system CPU / requests answered",
            )
        )
        if waitress is not None:
            rows.append(
                row(
                    f"CPU per request of the engine + bare route: cxmock front end vs bare waitress, -c{c}",
                    "µs",
                    ours.cpu_us[c],
                    section=ENGINES,
                    baseline=waitress.cpu_us[c],
                    baseline_name="bare waitress 3 (4 threads), same route",
                    target=1.0,
                    target_kind="ratio_max",
                    detail=f"waitress -c{c}: {median(waitress.rps(c)):.0f} req/s",
                )
            )
    rows.append(_parser_row(mode))
    return rows


def _parser_row(mode: Mode) -> Row:
    """The parser choice: one GET head through httptools (llhttp, C) and through h11 (pure Python)."""
    import h11
    import httptools

    head = (
        b"GET /cxrestapi/auth/SMTPSettings HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
        + b"x" * 700
        + b"\r\nAccept: application/json;v=1.0\r\nUser-Agent: bench\r\n\r\n"
    )

    class _Sink:
        def on_header(self, name: bytes, value: bytes) -> None:
            pass

    def with_httptools(n: int) -> float:
        start = time.perf_counter()
        for _ in range(n):
            httptools.HttpRequestParser(_Sink()).feed_data(head)
        return (time.perf_counter() - start) / n * 1e6

    def with_h11(n: int) -> float:
        start = time.perf_counter()
        for _ in range(n):
            conn = h11.Connection(h11.SERVER)
            conn.receive_data(head)
            conn.next_event()
            conn.next_event()
        return (time.perf_counter() - start) / n * 1e6

    n = 200 if mode.quick else 5000
    ours = [with_httptools(n) for _ in range(max(3, mode.runs))]
    theirs = [with_h11(n) for _ in range(max(3, mode.runs))]
    return row(
        "parse one GET head (4 headers, 700-byte token): httptools",
        "µs",
        ours,
        section=ENGINES,
        baseline=theirs,
        baseline_name=f"h11 {getattr(h11, '__version__', '?')}, same bytes",
        detail="why httptools: the parser runs once per request on the event loop thread",
    )


# -- cxmock serve vs Prism 5 and WireMock 3 ------------------------------------------------------------------------


def _token(port: int) -> str:
    form = token_form()
    url = f"http://{HOST}:{port}/cxrestapi/auth/identity/connect/token"
    token: str = requests.post(url, data=form, timeout=30).json()["access_token"]
    return token


@contextlib.contextmanager
def _serve(*options: str) -> Iterator[tuple[int, int]]:
    port = free_port()
    argv = [sys.executable, "-m", "mockserver", "serve", "--port", str(port), "--smtp-port", "0", "--smtps-port", "0"]
    with process([*argv, "--quiet", *options], env=python_env()) as proc:
        wait_http(port, "/_mock/health", proc=proc)
        yield port, proc.pid


def wiremock_jar() -> Path | None:
    jars = sorted(WIREMOCK_DIR.glob("node_modules/wiremock/build/wiremock-standalone-*.jar"))
    return jars[-1] if jars else None


def wiremock_missing() -> str | None:
    if shutil.which("java") is None:
        return "java not found (Debian: apt-get install openjdk-17-jre-headless)"
    if wiremock_jar() is None:
        return "wiremock not installed (python -m bench --install-wiremock: npm install wiremock@3, bench/.wiremock)"
    return None


def install_wiremock() -> str | None:
    """``npm install wiremock@3`` (its package ships the standalone jar) into ``bench/.wiremock`` (git-ignored)."""
    return servers.npm_install(WIREMOCK_DIR, "wiremock@3")


@contextlib.contextmanager
def _wiremock(body: str) -> Iterator[tuple[int, int]]:
    """WireMock 3 standalone stubbing the same GET with the same bytes cxmock answers."""
    jar = wiremock_jar()
    assert jar is not None
    port = free_port()
    with tempfile.TemporaryDirectory() as root:
        (Path(root) / "mappings").mkdir()
        stub = {
            "request": {"method": "GET", "urlPath": LIST},
            "response": {"status": 200, "body": body, "headers": {"Content-Type": JSON_V1}},
        }
        (Path(root) / "mappings" / "smtp-settings.json").write_text(json.dumps(stub), encoding="utf-8")
        argv = ["java", "-jar", str(jar), "--port", str(port), "--bind-address", HOST, "--root-dir", root]
        with process(argv) as proc:
            wait_http(port, LIST, timeout=90, proc=proc)
            yield port, proc.pid


@contextlib.contextmanager
def _prism() -> Iterator[tuple[int, int]]:
    binary = servers._prism_bin()
    assert binary is not None
    port = free_port()
    argv = [binary, "mock", str(ROOT / "openapi" / "cxmock.yaml"), "-p", str(port), "-h", HOST]
    with process(argv) as proc:
        wait_http(port, "/SMTPSettings", timeout=90, proc=proc)
        yield port, proc.pid


def anchors(mode: Mode) -> list[Row]:
    rows: list[Row] = []
    prism_skip = "not in --quick" if mode.quick else (None if mode.prism else "--no-prism")
    prism_skip = prism_skip or servers.prism_missing()
    wiremock_skip = "not in --quick" if mode.quick else wiremock_missing()
    with contextlib.ExitStack() as stack:
        port, pid = stack.enter_context(_serve())
        headers = {"Authorization": f"Bearer {_token(port)}", "Accept": JSON_V1}
        ours = _Target("cxmock serve", port, pid, LIST, headers)
        body = requests.get(f"http://{HOST}:{port}{LIST}", headers=headers, timeout=30).text
        others: dict[str, _Target | None] = {"prism": None, "wiremock": None}
        if prism_skip is None:
            try:  # Prism serves the document's paths without the server URL's base path (/cxrestapi/auth)
                others["prism"] = _Target("Prism", *stack.enter_context(_prism()), "/SMTPSettings", headers)
            except (OSError, RuntimeError, TimeoutError) as exc:
                prism_skip = f"prism did not start: {exc}"
        if wiremock_skip is None:
            try:
                others["wiremock"] = _Target("WireMock", *stack.enter_context(_wiremock(body)), LIST, headers)
            except (OSError, RuntimeError, TimeoutError) as exc:
                wiremock_skip = f"wiremock did not start: {exc}"
        targets = [ours, *(t for t in others.values() if t is not None)]
        _interleave(mode, targets, warmup=1.0 if mode.quick else 4.0)  # the JVM's JIT needs a few seconds
    if (problem := ours.problem()) is not None:
        raise RuntimeError(problem)
    jar = wiremock_jar()
    for name, target, skip, goal, version in (
        ("Prism 5", others["prism"], prism_skip, 1.5, servers.prism_version() or "5"),
        ("WireMock 3", others["wiremock"], wiremock_skip, 0.4, jar.stem if jar else "3"),
    ):
        for c in CONNECTIONS:
            label = f"GET /SMTPSettings with token, -c{c}: cxmock serve vs {name}"
            problem = None if target is None else target.problem()
            if target is None or problem:
                rows.append(
                    skipped(label, "req/s", skip or problem or "unavailable", section=ANCHORS, target=goal)
                    | {"target_kind": "ratio_min"}
                )
                continue
            rows.append(
                row(
                    label,
                    "req/s",
                    ours.rps(c),
                    section=ANCHORS,
                    baseline=target.rps(c),
                    baseline_name=f"{name} ({version}), same GET and bytes",
                    target=goal,
                    target_kind="ratio_min",
                    detail=f"cxmock {ours.latency(c)}; {name} {target.latency(c)}",
                )
            )
    return rows


# -- start and stop ------------------------------------------------------------------------------------------------


def lifecycle(mode: Mode) -> list[Row]:
    from mockserver import MockServer
    from mockserver.runtime.http_server import HttpServer

    from .bare_app import make_app

    n = 5 if mode.quick else 30
    both, idle_stop = [], []
    for _ in range(max(3, mode.runs)):
        samples, stops = [], []
        for _ in range(n):
            start = time.perf_counter()
            MockServer().stop()
            samples.append((time.perf_counter() - start) * 1000)
            http = HttpServer(make_app())
            http.start()
            start = time.perf_counter()
            http.stop()
            stops.append((time.perf_counter() - start) * 1000)
        both.append(median(samples))
        idle_stop.append(median(stops))
    return [
        row(
            "MockServer() start + stop (HTTP + SMTP + TLS, answering, then closed)",
            "ms",
            both,
            section=LIFECYCLE,
            detail=f"median of {n} per run",
        ),
        row(
            "HttpServer.stop() of an idle server (listener, loop thread, 16 workers)",
            "ms",
            idle_stop,
            section=LIFECYCLE,
            target=5.0,
            target_kind="max",
            detail=f"median of {n} per run",
        ),
    ]


def run(mode: Mode) -> list[Row]:
    return engines(mode) + anchors(mode) + lifecycle(mode)
