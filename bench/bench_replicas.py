"""Replicas behind HAProxy (issue #25): ``GET /SMTPSettings`` throughput through ``deploy/haproxy/haproxy.cfg`` with
one, two and three ``cxmock serve`` replicas behind it.

Load: three sandboxes (three pipelines), each loaded by its own load generator with 2 connections, at the same
time; the sandbox names are picked so that they cover every replica (the consistent hash decides where a name
lives). The same load in every configuration: only the number of replicas changes. On a machine with few cores
the replicas, HAProxy and the load generators share them, so the gain is bounded by the cores, not by cxmock.
Skipped, with the reason, when HAProxy is not installed (``apt-get install haproxy``).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

from mockserver.core.contract import JSON_V1
from mockserver.remote.server import RemoteServer

from ._common import HOST, ROOT, Mode, Row, free_port, process, python_env, row, skipped, wait_http
from .bench_api import LIST_PATH
from .loadgen import LoadResult, load

SECTION = "Replicas behind HAProxy (deploy/haproxy/haproxy.cfg)"
HAPROXY_CFG = ROOT / "deploy" / "haproxy" / "haproxy.cfg"
PIPELINES = 3
CONNECTIONS_EACH = 2


def _haproxy() -> str | None:
    found = os.environ.get("CXMOCK_HAPROXY") or shutil.which("haproxy")
    return found or ("/usr/sbin/haproxy" if os.path.exists("/usr/sbin/haproxy") else None)


@contextlib.contextmanager
def _replica(tmp: Path, index: int) -> Iterator[str]:
    port_file = tmp / f"r{index}.json"
    argv = [sys.executable, "-m", "mockserver", "serve", "--port", "0", "--smtp-port", "0", "--smtps-port", "0",
            "--port-file", str(port_file), "--quiet", "--no-log-requests"]  # fmt: skip
    with process(argv, env=python_env()) as proc:
        for _ in range(600):
            if port_file.exists() and port_file.stat().st_size:
                break
            if proc.poll() is not None:
                raise RuntimeError(f"replica r{index} exited with {proc.returncode} before it was ready")
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=0.05)
        else:
            raise TimeoutError(f"replica r{index} wrote no port file within 30 s")
        yield str(json.loads(port_file.read_text())["base_url"]).removeprefix("http://")


@contextlib.contextmanager
def _cluster(haproxy: str, replicas: int) -> Iterator[tuple[int, list[str]]]:
    """``replicas`` replicas behind HAProxy: (the router's port, the replicas' host:port)."""
    with tempfile.TemporaryDirectory(prefix="cxmock-bench-replicas-") as tmp, contextlib.ExitStack() as stack:
        addresses = [stack.enter_context(_replica(Path(tmp), i + 1)) for i in range(replicas)]
        port = free_port()
        padded = (addresses + [addresses[-1]] * 3)[:3]  # fewer than three: the last one stands in for the rest
        env = {k: v for k, v in os.environ.items() if not k.startswith("CXMOCK_")}
        env.update(CXMOCK_ROUTER_BIND=f"{HOST}:{port}", CXMOCK_R1=padded[0], CXMOCK_R2=padded[1], CXMOCK_R3=padded[2])
        router = stack.enter_context(process([haproxy, "-db", "-f", str(HAPROXY_CFG)], env=env))
        wait_http(port, "/_mock/health", proc=router)
        yield port, addresses


def _names_covering(router: RemoteServer, addresses: list[str]) -> list[str]:
    """``PIPELINES`` sandbox names that together live on every replica (each created through the router)."""
    chosen: list[str] = []
    covered: set[str] = set()
    for i in range(200):
        name = f"bench-{i:03d}"
        router.sandbox(name, create=True)
        owner = next(a for a in addresses if name in {s["name"] for s in RemoteServer("http://" + a).list_sandboxes()})
        if owner not in covered or len(covered) == len(addresses):
            chosen.append(name)
            covered.add(owner)
        if len(chosen) == PIPELINES:
            return chosen
    raise RuntimeError("no sandbox names covering every replica among 200")


def _parallel(mode: Mode, port: int, paths: list[str], headers: list[dict[str, str]]) -> list[LoadResult]:
    results: list[LoadResult | BaseException] = [RuntimeError("no result")] * len(paths)

    def one(i: int) -> None:
        try:
            results[i] = load(port, paths[i], duration=mode.duration, connections=CONNECTIONS_EACH,
                              headers=headers[i], tool=mode.loadgen)  # fmt: skip
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            results[i] = exc

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(paths))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=mode.duration + 120)
    for r in results:
        if isinstance(r, BaseException):
            raise r
    return [r for r in results if isinstance(r, LoadResult)]


def _measure(mode: Mode, haproxy: str, replicas: int) -> tuple[list[float], str]:
    rates: list[float] = []
    with _cluster(haproxy, replicas) as (port, addresses):
        router = RemoteServer(f"http://{HOST}:{port}")
        names = _names_covering(router, addresses)
        paths = [f"/sandbox/{name}{LIST_PATH}" for name in names]
        headers = [{**router.sandbox(n).auth_headers(), "Accept": JSON_V1} for n in names]
        if not mode.quick:
            _parallel(Mode.make(True, mode.loadgen), port, paths, headers)  # warm-up
        for _ in range(mode.runs):
            results = _parallel(mode, port, paths, headers)
            failed, total = sum(r.errors for r in results), sum(r.requests for r in results)
            if not total or failed > total * 0.01:
                raise RuntimeError(f"{replicas} replica(s): {failed} of {total} responses failed")
            rates.append(sum(r.rps for r in results))
        placement = ", ".join(
            f"r{i + 1}: {sum(n in {s['name'] for s in RemoteServer('http://' + a).list_sandboxes()} for n in names)}"
            for i, a in enumerate(addresses)
        )
    return rates, f"{PIPELINES} sandboxes x {CONNECTIONS_EACH} connections; sandboxes per replica: {placement}"


def throughput(mode: Mode) -> list[Row]:
    counts = (1, 2, 3)
    names = [f"GET /SMTPSettings through HAProxy, {n} replica{'s' if n > 1 else ''}" for n in counts]
    haproxy = _haproxy()
    if haproxy is None:
        return [skipped(name, "req/s", "HAProxy is not installed (apt-get install haproxy)", section=SECTION)
                for name in names]  # fmt: skip
    measured = {n: _measure(mode, haproxy, n) for n in counts}
    one = measured[1][0]
    return [
        row(
            name,
            "req/s",
            measured[n][0],
            section=SECTION,
            baseline=None if n == 1 else one,
            baseline_name=None if n == 1 else "1 replica behind the same HAProxy, same load",
            detail=measured[n][1]
            + (f"; {os.cpu_count()} CPU cores shared by replicas, HAProxy and load" if n == 3 else ""),
        )
        for n, name in zip(counts, names, strict=True)
    ]


if __name__ == "__main__":  # pragma: no cover - python -m bench.bench_replicas: this group alone, quick
    for r in throughput(Mode.make(quick="--full" not in sys.argv)):
        print(f"{r['name']}: {r['median'] and round(r['median'])} req/s {r.get('skipped') or ''} {r['detail']}")
