"""``cxmock proxy``: the latency it adds per request, against a direct call to the same upstream.

The upstream is a ``cxmock serve`` process, the proxy a ``cxmock proxy`` process in front of it (no request log
in either, as in a quiet CI job); this process sends ``GET /cxrestapi/auth/SMTPSettings`` (the read clients make
most, the default seed's one record) and ``PUT /SMTPSettings/1`` (a body both ways, the lint of a body), one
request directly, the next through the proxy, interleaved, each over its own keep-alive connection. The rows are
the p50 and p99 of the proxied requests, with the direct ones' as the baseline; the target is on the difference
(what the proxy adds: one more loopback hop, the journal, the lint, the drift check of the answer).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import sys
import time
from collections.abc import Callable

from mockserver.config import DEFAULT_CLIENT_SECRET
from mockserver.core.contract import JSON_V1

from ._common import HOST, Mode, Row, free_port, median, percentile, process, python_env, row, wait_http

SECTION = "cxmock proxy: added latency per request (ms)"
#: what the proxy may add to one request, at most (p50 / p99 of the differences' medians)
TARGETS = {"p50": 2.0, "p99": 6.0}
RECORD = json.dumps(
    {
        "host": "smtp.example.org",
        "port": 587,
        "encryptionType": "Tls",
        "fromAddress": "cx@example.org",
        "useDefaultCredentials": False,
        "username": "cx",
        "password": "bench-secret",
    }
).encode()


def _token(port: int) -> str:
    form = (
        "grant_type=password&username=admin&password=admin&scope=sast_rest_api+access_control_api"
        f"&client_id=resource_owner_client&client_secret={DEFAULT_CLIENT_SECRET}"
    )
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        conn.request(
            "POST",
            "/cxrestapi/auth/identity/connect/token",
            body=form,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        response = conn.getresponse()
        body = response.read()
        if response.status != 200:
            raise RuntimeError(f"login at {port} answered {response.status}: {body[:200]!r}")
        token: str = json.loads(body)["access_token"]
        return token
    finally:
        conn.close()


def _timer(
    conn: http.client.HTTPConnection, method: str, path: str, headers: dict[str, str], body: bytes | None, expected: int
) -> Callable[[], float]:
    def once() -> float:
        start = time.perf_counter()
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        answer = response.read()
        elapsed = (time.perf_counter() - start) * 1000
        if response.status != expected:
            raise RuntimeError(f"{method} {path} answered {response.status}: {answer[:200]!r}")
        return elapsed

    return once


def run(mode: Mode) -> list[Row]:
    upstream_port, proxy_port = free_port(), free_port()
    python = [sys.executable, "-m", "mockserver"]
    quiet = ["--no-log-requests", "--quiet", "--host", HOST]
    env = python_env()
    per_run = 60 if mode.quick else 400
    runs = max(2, mode.runs) if mode.quick else mode.runs
    upstream_argv = [*python, "serve", "--port", str(upstream_port), "--smtp-port", "0", "--smtps-port", "0", *quiet]
    proxy_argv = [*python, "proxy", f"http://{HOST}:{upstream_port}", "--port", str(proxy_port), *quiet]
    rows: list[Row] = []
    with process(upstream_argv, env=env) as upstream_proc:
        wait_http(upstream_port, "/_mock/health", proc=upstream_proc)
        with process(proxy_argv, env=env) as proxy_proc:
            wait_http(proxy_port, "/_mock/health", proc=proxy_proc)
            token = _token(upstream_port)
            headers = {"Authorization": f"Bearer {token}", "Accept": JSON_V1, "Content-Type": JSON_V1}
            cases = [
                ("GET /SMTPSettings", "GET", "/cxrestapi/auth/SMTPSettings", None, 200),
                ("PUT /SMTPSettings/1", "PUT", "/cxrestapi/auth/SMTPSettings/1", RECORD, 204),
            ]
            with contextlib.ExitStack() as stack:
                direct_conn = stack.enter_context(
                    contextlib.closing(http.client.HTTPConnection(HOST, upstream_port, timeout=30))
                )
                proxy_conn = stack.enter_context(
                    contextlib.closing(http.client.HTTPConnection(HOST, proxy_port, timeout=30))
                )
                for label, method, path, body, expected in cases:
                    direct = _timer(direct_conn, method, path, headers, body, expected)
                    proxied = _timer(proxy_conn, method, path, headers, body, expected)
                    for _ in range(20):  # warm-up: connections, the proxy's pool, caches
                        direct()
                        proxied()
                    stats: dict[str, tuple[list[float], list[float]]] = {"p50": ([], []), "p99": ([], [])}
                    for _ in range(runs):
                        a, b = [], []
                        for _ in range(per_run):
                            b.append(direct())
                            a.append(proxied())
                        a.sort()
                        b.sort()
                        for q, value in (("p50", 0.50), ("p99", 0.99)):
                            stats[q][0].append(percentile(a, value))
                            stats[q][1].append(percentile(b, value))
                    for q, (via, base) in stats.items():
                        added = [x - y for x, y in zip(via, base, strict=True)]
                        rows.append(
                            row(
                                f"{label}: added by the proxy, {q}",
                                "ms",
                                added,
                                section=SECTION,
                                target=TARGETS[q],
                                target_kind="max",
                                detail=(
                                    f"{q} through the proxy {median(via):.2f} ms, direct {median(base):.2f} ms "
                                    f"({per_run} requests each per run, interleaved)"
                                ),
                            )
                        )
    return rows
