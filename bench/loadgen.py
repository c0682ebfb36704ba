"""HTTP load for the throughput rows: ``wrk`` when installed, else a Python keep-alive client in a subprocess.

Both run in their own process (so the load generator never shares the GIL with an in-process server), keep
``connections`` persistent connections busy for ``duration`` seconds, and report requests/s, p50/p99 latency and
the number of failed (non-2xx or broken) responses. Every run is bounded in time (``duration``, plus a hard
subprocess timeout) and the Python client also in count (``max_requests``). Traffic goes to 127.0.0.1 only.

``python -m bench.loadgen --port P --path /x [--method POST --body-file F] [--header 'K: V'] --duration 2``
prints one JSON line (the fallback client; also usable by hand).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from ._common import HOST, ROOT, percentile, python_env

__all__ = ["LoadResult", "available_tool", "load"]

#: the Python client never sends more than this many requests in one run, whatever the duration
MAX_REQUESTS = 200_000


@dataclass
class LoadResult:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int
    tool: str


def available_tool(preference: str = "auto") -> str:
    """``"wrk"`` or ``"python"``: what ``load`` will use for ``preference`` (auto, wrk, python)."""
    if preference == "python":
        return "python"
    if shutil.which("wrk"):
        return "wrk"
    if preference == "wrk":
        raise RuntimeError("--loadgen wrk: wrk is not installed (Debian: apt-get install wrk)")
    return "python"


def load(
    port: int,
    path: str,
    *,
    duration: float,
    connections: int = 4,
    method: str = "GET",
    headers: Mapping[str, str] | None = None,
    body: bytes = b"",
    tool: str = "auto",
) -> LoadResult:
    """Load ``http://127.0.0.1:port/path`` for ``duration`` seconds over ``connections`` keep-alive connections."""
    which = available_tool(tool)
    if which == "wrk":
        return _wrk(port, path, duration, connections, method, dict(headers or {}), body)
    return _python(port, path, duration, connections, method, dict(headers or {}), body)


# -- wrk ---------------------------------------------------------------------------------------------------------
_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not m:
        raise ValueError(f"unexpected wrk latency {text!r}")
    return float(m.group(1)) * _UNITS[m.group(2)]


def _lua_string(value: str | bytes) -> str:
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    return '"' + "".join(c if c.isalnum() or c in " ./:=&-_,;{}[]@" else f"\\{ord(c)}" for c in text) + '"'


def _wrk(
    port: int, path: str, duration: float, connections: int, method: str, headers: dict[str, str], body: bytes
) -> LoadResult:
    seconds = max(1, round(duration))
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(f"wrk.method = {_lua_string(method)}\n")
        if body:
            script.write(f"wrk.body = {_lua_string(body)}\n")
        for key, value in headers.items():
            script.write(f"wrk.headers[{_lua_string(key)}] = {_lua_string(value)}\n")
        lua = script.name
    argv = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "5s",
        "--latency",
        "-s",
        lua,
        f"http://{HOST}:{port}{path}",
    ]
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 30, check=True).stdout
    finally:
        Path(lua).unlink(missing_ok=True)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    dist = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", out, re.M))
    errors = 0
    if m := re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        errors += int(m.group(1))
    if m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out):
        errors += sum(int(g) for g in m.groups())
    # no distribution when nothing was answered (the run then counts 0 requests and is reported as stalled)
    p50, p99 = (_ms(dist[q]) if q in dist else float("nan") for q in ("50", "99"))
    return LoadResult(rps=rps, p50_ms=p50, p99_ms=p99, requests=total, errors=errors, tool="wrk")


# -- the Python fallback -------------------------------------------------------------------------------------------
def _python(
    port: int, path: str, duration: float, connections: int, method: str, headers: dict[str, str], body: bytes
) -> LoadResult:
    with tempfile.NamedTemporaryFile("wb", suffix=".body", delete=False) as fh:
        fh.write(body)
        body_file = fh.name
    argv = [
        sys.executable,
        "-m",
        "bench.loadgen",
        "--port",
        str(port),
        "--path",
        path,
        "--method",
        method,
        "--duration",
        str(duration),
        "--connections",
        str(connections),
        "--body-file",
        body_file,
    ]
    for key, value in headers.items():
        argv += ["--header", f"{key}: {value}"]
    try:
        out = subprocess.run(
            argv, capture_output=True, text=True, timeout=duration + 60, check=True, cwd=ROOT, env=python_env()
        ).stdout
    finally:
        Path(body_file).unlink(missing_ok=True)
    return LoadResult(**json.loads(out.strip().splitlines()[-1]))


def _read_response(sock: socket.socket, buf: bytearray) -> tuple[int, bool]:
    """Read one response off ``sock`` (leftovers stay in ``buf``); returns (status, server closes)."""
    while (end := buf.find(b"\r\n\r\n")) < 0:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed before the response headers")
        buf += chunk
    head = bytes(buf[:end]).decode("latin-1").split("\r\n")
    del buf[: end + 4]
    status = int(head[0].split(" ", 2)[1])
    fields = {}
    for line in head[1:]:
        key, _, value = line.partition(":")
        fields[key.strip().lower()] = value.strip()
    if "chunked" in fields.get("transfer-encoding", "").lower():
        while (end := buf.find(b"0\r\n\r\n")) < 0:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed inside a chunked body")
            buf += chunk
        del buf[: end + 5]
    else:
        length = int(fields.get("content-length", "0"))
        while len(buf) < length:
            chunk = sock.recv(max(65536, length - len(buf)))
            if not chunk:
                raise ConnectionError("closed inside the body")
            buf += chunk
        del buf[:length]
    return status, fields.get("connection", "").lower() == "close"


def _client(port: int, request: bytes, deadline: float, budget: int, latencies: list[float], errors: list[int]) -> None:
    sock: socket.socket | None = None
    buf = bytearray()
    sent = 0
    while sent < budget and time.perf_counter() < deadline:
        try:
            if sock is None:
                sock = socket.create_connection((HOST, port), timeout=5.0)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                buf.clear()
            start = time.perf_counter()
            sock.sendall(request)
            sent += 1
            status, closes = _read_response(sock, buf)
            latencies.append((time.perf_counter() - start) * 1000)
            if not 200 <= status < 300:
                errors.append(status)
            if closes:
                sock.close()
                sock = None
        except OSError:
            errors.append(0)
            if sock is not None:
                sock.close()
            sock = None
    if sock is not None:
        sock.close()


def _main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="bounded keep-alive HTTP load on 127.0.0.1 (JSON result)")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", default="/")
    parser.add_argument("--method", default="GET")
    parser.add_argument("--header", action="append", default=[])
    parser.add_argument("--body-file")
    parser.add_argument("--duration", type=float, default=2.0)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--max-requests", type=int, default=MAX_REQUESTS)
    args = parser.parse_args(argv)
    body = Path(args.body_file).read_bytes() if args.body_file else b""
    lines = [f"{args.method} {args.path} HTTP/1.1", f"Host: {HOST}:{args.port}", *args.header]
    if body or args.method in ("POST", "PUT"):
        lines.append(f"Content-Length: {len(body)}")
    request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
    per_connection = max(1, min(args.max_requests, MAX_REQUESTS) // args.connections)
    latencies: list[float] = []
    errors: list[int] = []
    start = time.perf_counter()
    deadline = start + args.duration
    threads = [
        threading.Thread(target=_client, args=(args.port, request, deadline, per_connection, latencies, errors))
        for _ in range(args.connections)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=args.duration + 30)
    elapsed = time.perf_counter() - start
    latencies.sort()
    result = LoadResult(
        rps=len(latencies) / elapsed,
        p50_ms=percentile(latencies, 0.5),
        p99_ms=percentile(latencies, 0.99),
        requests=len(latencies),
        errors=len(errors),
        tool="python",
    )
    print(json.dumps(asdict(result)))


if __name__ == "__main__":
    _main()
