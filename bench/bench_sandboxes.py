"""Sandboxes (issue #15): GET throughput in a sandbox against the root of the same server, and the memory a
server holds with its maximum number of sandboxes.

Throughput: one ``MockServer``; ``GET /SMTPSettings`` at the root and ``GET /sandbox/bench/...SMTPSettings``, each
with its own token, interleaved runs (``bench_api``'s harness): the dispatcher's cost is a prefix test, a dict
lookup and a clock read. Memory: a child process starts ``MockServer(max_sandboxes=N)`` and reports its RSS, then
after creating all N sandboxes, each used as one test would (a token, a list, a create, a testconnection-sized mail
is not included: mail is bounded per sandbox by ``--capture-limit`` as at the root).
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from mockserver import MockServer

from ._common import JSON_V1, ROOT, Mode, Row, median, python_env, row, rss_mb
from .bench_api import LIST_PATH, _check, _interleave, _Target

SECTION = "Sandboxes (one server, many isolated instances)"
#: the documented bound: what one sandbox may add to the server's memory, with its stores empty (MB)
PER_SANDBOX_MB = 0.6


def throughput(mode: Mode) -> list[Row]:
    with MockServer() as server:
        sandbox = server.sandbox("bench")
        root = _Target("root", server.http_port, LIST_PATH, headers=server.auth_headers())
        inside = _Target("sandbox", server.http_port, "/sandbox/bench" + LIST_PATH, headers=sandbox.auth_headers())
        _interleave(mode, [root, inside])
        _check(root)
        _check(inside)
    return [
        row(
            "GET /SMTPSettings in a sandbox (/sandbox/bench/...)",
            "req/s",
            inside.rps(),
            section=SECTION,
            baseline=root.rps(),
            baseline_name="the same GET at the root of the same server, interleaved runs",
            target=0.9,
            target_kind="ratio_min",
            detail=f"sandbox: {inside.latency()}, {inside.cpu()}; root: {root.latency()}, {root.cpu()}",
        )
    ]


def memory(mode: Mode) -> list[Row]:
    count = 10 if mode.quick else 100
    runs = 1 if mode.quick else 3
    per, totals, idle = [], [], []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-m", "bench.bench_sandboxes", "rss", str(count)],
            cwd=ROOT,
            env=python_env(),
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        )
        info = json.loads(out.stdout.strip().splitlines()[-1])
        idle.append(info["before"])
        totals.append(info["after"])
        per.append((info["after"] - info["before"]) / count)
    return [
        row(
            f"RSS with {count} sandboxes (--max-sandboxes {count}), each used by one test",
            "MB",
            totals,
            section=SECTION,
            baseline=idle,
            baseline_name="the same server before any sandbox",
            detail=f"{median(per):.2f} MB per sandbox (its Flask app ~0.3 MB, state, token, a record, 4 journal "
            "entries); stores bounded per sandbox by --journal-limit and --capture-limit as at the root",
        ),
        row(
            "RSS added per sandbox",
            "MB",
            per,
            section=SECTION,
            target=PER_SANDBOX_MB,
            target_kind="max",
            detail=f"documented bound: {PER_SANDBOX_MB:g} MB per sandbox (README, 'Sharing one server')",
        ),
    ]


def _child_rss(count: int) -> None:
    import requests

    with MockServer(max_sandboxes=count) as server:
        session = requests.Session()
        warm = server.sandbox("warm-up")  # imports and first-use caches are not the sandboxes' cost
        session.get(warm.api_url + "/SMTPSettings", headers=warm.auth_headers(), timeout=30)
        warm.delete()
        before = rss_mb()
        body = {"host": "smtp.example.org", "port": 25, "encryptionType": "None", "fromAddress": "a@check.org"}
        for i in range(count):
            sandbox = server.sandbox(f"s{i}")
            headers: dict[str, Any] = {**sandbox.auth_headers(), "Content-Type": JSON_V1, "cxOrigin": "bench"}
            session.get(sandbox.api_url + "/SMTPSettings", headers=headers, timeout=30)
            session.post(sandbox.api_url + "/SMTPSettings", json=body | {"useDefaultCredentials": True},
                         headers=headers, timeout=30)  # fmt: skip
            session.get(sandbox.api_url + "/SMTPSettings/2", headers=headers, timeout=30)
            session.get(sandbox.api_url + "/SMTPSettings", headers=headers, timeout=30)
        after = rss_mb()
        session.close()
        print(json.dumps({"before": before, "after": after, "sandboxes": len(server.sandboxes.registry)}), flush=True)


def run(mode: Mode) -> list[Row]:
    return throughput(mode) + memory(mode)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "rss":
        _child_rss(int(sys.argv[2]))
    else:
        sys.exit("usage: python -m bench.bench_sandboxes rss COUNT")
