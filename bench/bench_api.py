"""HTTP API benchmarks: throughput of ``GET /SMTPSettings`` and of the token endpoint against bare Flask on the same
server, the WSGI servers we could have used, Prism 5 on the same document, and how list latency grows.

Throughput runs are interleaved (cxmock, baseline, context servers, cxmock, ...) so drift hits all alike; the load
generator is a separate process (``bench.loadgen``). Latency rows use one keep-alive ``http.client`` connection
from the harness, sequentially, as a test suite does.
"""

from __future__ import annotations

import contextlib
import http.client
import logging
import os
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, ExitStack
from typing import Any
from urllib.parse import urlencode

from mockserver import MockServer
from mockserver.runtime.runner import configure_logging

from . import servers
from ._common import HOST, JSON_V1, Mode, Row, median, row, skipped, token_form
from .bare_app import make_app
from .loadgen import LoadResult, load

API = "API throughput (req/s, 4 connections)"
LIST = "List latency growth"
LIST_PATH = "/cxrestapi/auth/SMTPSettings"
TOKEN_PATH = "/cxrestapi/auth/identity/connect/token"
TOKEN_FORM = urlencode(token_form()).encode()
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


class _Target:
    """One thing under load: where it listens and what request it gets."""

    def __init__(
        self,
        label: str,
        port: int,
        path: str,
        method: str = "GET",
        headers: dict[str, str] | None = None,
        body: bytes = b"",
    ) -> None:
        self.label, self.port, self.path, self.method = label, port, path, method
        self.headers, self.body = headers or {}, body
        self.results: list[LoadResult] = []
        #: CPU time of this (the harness's) process per request: meaningful for the in-process servers only,
        #: where it is the server's CPU; it hardly depends on other load on the machine, unlike the rate
        self.cpu_us: list[float] = []

    def hit(self, mode: Mode, duration: float | None = None) -> LoadResult:
        cpu = time.process_time()
        result = load(
            self.port,
            self.path,
            duration=duration or mode.duration,
            connections=mode.connections,
            method=self.method,
            headers=self.headers,
            body=self.body,
            tool=mode.loadgen,
        )
        if result.requests:
            self.cpu_us.append((time.process_time() - cpu) / result.requests * 1e6)
        return result

    def cpu(self) -> str:
        return f"CPU {median(self.cpu_us[-len(self.results) :]):.0f} µs/request" if self.results else ""

    def rps(self) -> list[float]:
        return [r.rps for r in self.results]

    def latency(self) -> str:
        if not self.results:
            return ""
        p50 = median([r.p50_ms for r in self.results])
        p99 = median([r.p99_ms for r in self.results])
        errors = sum(r.errors for r in self.results)
        return f"p50 {p50:.2f} ms, p99 {p99:.2f} ms" + (f", {errors} failed responses" if errors else "")


def _cpu_ratio(baseline: _Target, ours: _Target) -> str:
    """bare CPU / cxmock CPU per request over the measured runs: the load-independent twin of the rate ratio."""
    n = len(ours.results)
    if not n or not ours.cpu_us or not baseline.cpu_us:
        return "n/a"
    return f"{median(baseline.cpu_us[-n:]) / median(ours.cpu_us[-n:]):.2f}×"


def _interleave(mode: Mode, targets: list[_Target]) -> None:
    if not mode.quick:
        for target in targets:  # warm-up: code paths, connections, caches
            target.hit(mode, duration=1.0)
    for _ in range(mode.runs):
        for target in targets:
            target.results.append(target.hit(mode))


def _problem(target: _Target) -> str | None:
    """Why ``target``'s numbers would be meaningless (failed responses, a run without any), or None."""
    failed = sum(r.errors for r in target.results)
    total = sum(r.requests for r in target.results)
    if any(r.requests == 0 for r in target.results):
        return f"{target.label}: a run got no response at all (the server stalled)"
    if failed > total * 0.01:
        return f"{target.label}: {failed} of {total} responses failed"
    return None


def _check(target: _Target) -> None:
    """Fail loudly when cxmock or its baseline answers errors: a rate of 4xx responses would be meaningless."""
    problem = _problem(target)
    if problem:
        raise RuntimeError(problem + "; the numbers would be meaningless")


def throughput(mode: Mode) -> list[Row]:
    rows: list[Row] = []
    with MockServer() as server, ExitStack() as stack:
        headers = {"Authorization": f"Bearer {server.token()}", "Accept": JSON_V1}
        bare_port = stack.enter_context(servers.front_end(make_app()))
        ours = _Target("cxmock", server.http_port, LIST_PATH, headers=headers)
        # every server gets the same request bytes (token and Accept included) so the ratio measures what the app
        # does, not the cost of parsing two more headers
        bare = _Target("bare", bare_port, "/bare", headers=headers)
        context: list[tuple[str, str, _Target | None, str | None]] = []  # (name, how, target, skipped because)
        candidates: list[tuple[str, str, Callable[[], AbstractContextManager[int]], str | None]] = [
            ("werkzeug development server", "in-process, threaded", lambda: servers.werkzeug(make_app()), None),
            ("waitress", "own process, 4 threads", servers.waitress, servers.waitress_missing()),
            (
                "granian (Rust, WSGI)",
                "own process, 1 worker, 4 blocking threads",
                servers.granian,
                servers.granian_missing(),
            ),
        ]
        if mode.quick:
            candidates = candidates[:1]
        for name, how, factory, missing in candidates:
            if missing:
                context.append((name, how, None, missing))
                continue
            try:
                port = stack.enter_context(factory())
            except (OSError, RuntimeError, TimeoutError) as exc:
                context.append((name, how, None, f"did not start: {exc}"))
                continue
            context.append((name, how, _Target(name, port, "/bare", headers=headers), None))
        prism: _Target | None = None
        prism_skip = "not in --quick" if mode.quick else (None if mode.prism else "--no-prism")
        if prism_skip is None:
            prism_skip = servers.prism_missing()
        if prism_skip is None:
            try:
                # Prism serves the document's paths without the server URL's base path (/cxrestapi/auth)
                prism = _Target("prism", stack.enter_context(servers.prism()), "/SMTPSettings", headers=headers)
            except (OSError, RuntimeError, TimeoutError) as exc:
                prism_skip = f"prism did not start: {exc}"
        targets = [ours, bare, *(t for _, _, t, _ in context if t is not None)]
        if prism is not None:
            targets.append(prism)
        _interleave(mode, targets)
        _check(ours)
        _check(bare)

        rows.append(
            row(
                "GET /SMTPSettings with token: cxmock on its front end (in-process)",
                "req/s",
                ours.rps(),
                section=API,
                baseline=bare.rps(),
                baseline_name="bare Flask JSON route, same front end and config, same request headers",
                target=0.7,
                target_kind="ratio_min",
                detail=f"{ours.latency()}, {ours.cpu()}; bare: {bare.latency()}, {bare.cpu()} (CPU per request "
                f"hardly depends on other load: ratio {_cpu_ratio(bare, ours)})",
            )
        )
        rows.append(
            row(
                "bare Flask JSON route on cxmock's front end (in-process)",
                "req/s",
                bare.rps(),
                section=API,
                baseline=bare.rps(),
                baseline_name="itself",
                detail=bare.latency(),
            )
        )
        for name, how, server_target, missing in context:
            label = f"bare Flask JSON route on {name} ({how})"
            problem = None if server_target is None else _problem(server_target)
            if server_target is None or problem:
                rows.append(skipped(label, "req/s", missing or problem or "unavailable", section=API))
            else:
                rows.append(
                    row(
                        label,
                        "req/s",
                        server_target.rps(),
                        section=API,
                        baseline=bare.rps(),
                        baseline_name="bare Flask on cxmock's front end",
                        detail=server_target.latency(),
                    )
                )
        name = "GET /SMTPSettings with token: cxmock vs Prism 5 (prism mock openapi/cxmock.yaml, own process)"
        if prism is not None and (problem := _problem(prism)):
            prism, prism_skip = None, problem
        if prism is None:
            rows.append(
                skipped(name, "req/s", prism_skip or "unavailable", section=API, target=1.0, target_kind="ratio_min")
            )
        else:
            rows.append(
                row(
                    name,
                    "req/s",
                    ours.rps(),
                    section=API,
                    baseline=prism.rps(),
                    baseline_name=f"Prism {servers.prism_version() or '5'}",
                    target=1.0,
                    target_kind="ratio_min",
                    detail=f"cxmock {ours.latency()}; prism {prism.latency()}",
                )
            )

        # the token endpoint: the form, client and password checks, a new token per request
        bare_token = _Target("bare token", bare_port, "/bare/token", "POST", FORM, TOKEN_FORM)
        our_token = _Target("cxmock token", server.http_port, TOKEN_PATH, "POST", FORM, TOKEN_FORM)
        _interleave(mode, [our_token, bare_token])
        _check(our_token)
        _check(bare_token)
        rows.append(
            row(
                "POST /identity/connect/token (password grant): cxmock on its front end",
                "req/s",
                our_token.rps(),
                section=API,
                baseline=bare_token.rps(),
                baseline_name="bare Flask form -> RS256 JWT route (PyJWT, same key size), same server",
                target=0.7,
                target_kind="ratio_min",
                detail=f"{our_token.latency()}, {our_token.cpu()}; bare: {bare_token.latency()}, {bare_token.cpu()} "
                f"(CPU ratio {_cpu_ratio(bare_token, our_token)})",
            )
        )
    return rows


def _get_ms(conn: http.client.HTTPConnection, path: str, headers: dict[str, str]) -> tuple[float, int]:
    start = time.perf_counter()
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    body = response.read()
    elapsed = (time.perf_counter() - start) * 1000
    if response.status != 200:
        raise RuntimeError(f"GET {path} answered {response.status}: {body[:200]!r}")
    return elapsed, len(body)


def _record(i: int) -> dict[str, Any]:
    return {
        "host": f"smtp{i % 97}.example.com",
        "port": 587,
        "encryptionType": ("None", "Tls", "Ssl")[i % 3],
        "fromAddress": f"scanner{i}@example.com",
        "useDefaultCredentials": False,
        "username": f"user{i}",
        "password": "bench-secret",
    }


def list_growth(mode: Mode) -> list[Row]:
    rows: list[Row] = []
    sizes = (10, 100) if mode.quick else (10, 100, 1_000, 10_000)
    runs = max(2, mode.runs) if mode.quick else mode.runs
    with MockServer(seed="none") as server:
        headers = {"Authorization": f"Bearer {server.token()}", "Accept": JSON_V1}
        for size in sizes:
            records = [_record(i) for i in range(size)]
            server.seed(records)
            expected = [{k: v for k, v in {**r, "id": i + 1}.items() if k != "password"} for i, r in enumerate(records)]
            # the same JSON cxmock answers (ids, key order), serialised per request by a bare route
            listed = [{"id": e["id"], **{k: v for k, v in e.items() if k != "id"}} for e in expected]
            per_run = 3 if mode.quick else max(10, min(200, 200_000 // (size * 10)))
            ours, theirs = [], []
            with (
                servers.front_end(make_app(listed)) as bare_port,
                contextlib.closing(http.client.HTTPConnection(HOST, server.http_port, timeout=30)) as conn,
                contextlib.closing(http.client.HTTPConnection(HOST, bare_port, timeout=30)) as bare_conn,
            ):
                our_size = _get_ms(conn, LIST_PATH, headers)[1]
                bare_size = _get_ms(bare_conn, "/bare", {})[1]
                for _ in range(runs):
                    ours.append(median([_get_ms(conn, LIST_PATH, headers)[0] for _ in range(per_run)]))
                    theirs.append(median([_get_ms(bare_conn, "/bare", {})[0] for _ in range(per_run)]))
            big = size == 10_000
            rows.append(
                row(
                    f"GET /SMTPSettings with {size:,} records",
                    "ms",
                    ours,
                    section=LIST,
                    baseline=theirs,
                    baseline_name="bare Flask route on the same front end serialising the same list",
                    target=50.0 if big else None,
                    target_kind="max" if big else None,
                    detail=f"body {our_size / 1024:,.1f} KiB (bare {bare_size / 1024:,.1f} KiB); median of {per_run} "
                    f"sequential requests per run",
                )
            )
            server.seed([])
    return rows


BREAKDOWN = "Where a GET /SMTPSettings spends its time (app only: WSGI calls, no server, no socket)"


def breakdown(mode: Mode) -> list[Row]:
    """The app's time per ``GET /SMTPSettings`` with parts of its per-request work switched off, against the bare
    route: explains the throughput ratio. Each variant is a hook list of this app instance (the view's ``guard``
    is swapped for the duration only); calls are interleaved variant by variant."""
    from werkzeug.test import EnvironBuilder

    from mockserver.http import api as api_module

    server = MockServer(start=False)
    app = server.app
    env = EnvironBuilder(path=LIST_PATH, headers=list(server.auth_headers().items())).get_environ()
    bare_env = EnvironBuilder(path="/bare").get_environ()
    bare_app = make_app()
    before = {k: list(v) for k, v in app.before_request_funcs.items()}
    after = {k: list(v) for k, v in app.after_request_funcs.items()}
    real_guard = api_module.guard
    journal = server.state.journal
    lazy_record = journal.record_later
    quiet_config = server.state.config
    # the request log as `cxmock serve` writes it (text), into /dev/null
    log_config = quiet_config.replace(log_requests=True)
    cx_logger = logging.getLogger("cxmock")
    saved_level = cx_logger.level
    log_handler = configure_logging("text", open(os.devnull, "w"))  # noqa: SIM115 - closed in the finally below

    def eager_record(**facts: Any) -> int:  # the journal as it was before #14: redacted on the request thread
        return journal.record(**facts).id

    def start_response(status: str, headers: Any, exc_info: Any = None) -> Callable[[bytes], None]:
        return lambda data: None

    def configure(variant: str) -> None:
        app.before_request_funcs.update({k: list(v) for k, v in before.items()})
        app.after_request_funcs.update({k: list(v) for k, v in after.items()})
        api_module.guard = real_guard
        journal.record_later = eager_record if variant == "journal built eagerly" else lazy_record  # type: ignore[method-assign]
        cx_logger.removeHandler(log_handler)
        cx_logger.setLevel(saved_level)
        server.state.config = quiet_config
        if variant == "with the request log":
            server.state.config = log_config
            cx_logger.addHandler(log_handler)
            cx_logger.setLevel(logging.INFO)
        server.faults.clear()
        if variant == "a fault rule, not matching":
            server.faults.add(match={"method": "POST"}, action={"type": "status", "status": 503})
        if variant in ("no journal", "none of them"):
            app.after_request_funcs[None] = [f for f in app.after_request_funcs[None] if f.__name__ != "_finish"]
            app.before_request_funcs[None] = [f for f in app.before_request_funcs[None] if f.__name__ != "_start"]
        if variant in ("no fault hooks", "none of them"):
            app.before_request_funcs[None] = [f for f in app.before_request_funcs[None] if f.__name__ != "_apply_fault"]
            app.after_request_funcs[None] = [
                f for f in app.after_request_funcs[None] if f.__name__ != "_corrupt_response"
            ]
        if variant in ("no auth/negotiation", "none of them"):
            api_module.guard = lambda *args, **kwargs: None

    def per_call_us(wsgi: Any, environ: dict[str, Any], calls: int) -> float:
        start = time.perf_counter()
        for _ in range(calls):
            body = wsgi(dict(environ), start_response)
            b"".join(body)
            getattr(body, "close", lambda: None)()
        return (time.perf_counter() - start) / calls * 1e6

    variants = [
        "full",
        "with the request log",
        "journal built eagerly",
        "a fault rule, not matching",
        "no journal",
        "no fault hooks",
        "no auth/negotiation",
        "none of them",
    ]
    chunk, chunks = (50, 2) if mode.quick else (200, 15)
    runs = max(2, mode.runs) if mode.quick else mode.runs
    samples: dict[str, list[float]] = {v: [] for v in [*variants, "bare"]}
    read_us: list[float] = []  # the first read of an entry builds it: the cost moved off the request thread
    try:
        for variant in variants:  # warm-up
            configure(variant)
            per_call_us(app, env, chunk)
        for _ in range(runs):
            # a run is many short chunks, interleaved variant by variant, so a burst of other load on the machine
            # hits every variant alike; its value is the median chunk
            per_chunk: dict[str, list[float]] = {v: [] for v in samples}
            for _ in range(chunks):
                for variant in variants:
                    configure(variant)
                    per_chunk[variant].append(per_call_us(app, env, chunk))
                per_chunk["bare"].append(per_call_us(bare_app, bare_env, chunk))
            for variant, values in per_chunk.items():
                samples[variant].append(median(values))
            configure("full")
            journal.clear()
            per_call_us(app, env, chunk)
            start = time.perf_counter()
            journal.entries()
            read_us.append((time.perf_counter() - start) / chunk * 1e6)
    finally:
        configure("full")
        api_module.guard = real_guard
        log_handler.close()
    what = {
        "full": "everything cxmock does per request",
        "journal built eagerly": "the journal entry redacted and built on the request thread, as before #14 (now "
        "built when first read)",
        "with the request log": "plus the one-line request log of `cxmock serve` (text, to /dev/null)",
        "a fault rule, not matching": "one fault rule in place (POST only): the token peek and the match run",
        "no journal": "without the finishing step (journal entry, X-Cxmock-Request-Id, log line, self-check)",
        "no fault hooks": "without the fault engine's before/after hooks",
        "no auth/negotiation": "without bearer check, permission, Accept negotiation, contract-lint notes",
        "none of them": "Flask + flask-smorest + the view's list and JSON only",
    }
    full = median(samples["full"])
    rows = []
    for variant in variants:
        saved = full - median(samples[variant])
        rows.append(
            row(
                f"app time per GET, {variant}",
                "µs",
                samples[variant],
                section=BREAKDOWN,
                baseline=samples["bare"],
                baseline_name="bare Flask route, same call",
                detail=what[variant] + _saving(variant, saved),
            )
        )
    rows.append(
        row(
            "journal: first read of an entry (builds it)",
            "µs",
            read_us,
            section=BREAKDOWN,
            detail="GET /_mock/requests, the UI or server.requests() building one entry the request thread left raw "
            "(redaction, time format); later reads reuse it",
        )
    )
    return rows


def _saving(variant: str, saved: float) -> str:
    if variant == "full":
        return ""
    return f"; saves {saved:.0f} µs" if saved >= 0 else f"; costs {-saved:.0f} µs more"


def run(mode: Mode) -> list[Row]:
    return throughput(mode) + breakdown(mode) + list_growth(mode)
