"""Start-up, per-test reset and memory.

- Cold start: a fresh ``python`` process per run, from spawn to "``MockServer()`` returned" (HTTP answering, SMTP
  and SMTPS listeners answering, TLS material generated): interpreter start, imports and construction all count.
  Baseline: a fresh process serving a bare Flask app on cheroot, measured the same way. Also ``cxmock serve``
  from spawn to its ``--ready-json`` line, and ``MockServer()`` constructed in an already warm process.
- Reset: ``server.reset()`` after a test's worth of traffic, and with every store full (worst case).
- Memory (RSS, Linux ``/proc``): a fresh server process idle, then after N settings created with ``POST`` (so N
  journal entries) and N mails sent over SMTP, then after another N of each. The journal and the mail store are
  capped (``journal_limit``, ``capture_limit``, 1000 by default); settings are the user's data, capped by
  ``settings_limit`` (10 000 by default), which the memory child raises to hold both fills.
  Traffic comes from the harness process, so the server's RSS holds no client objects.

``python -m bench.bench_lifecycle rss|rss-bare`` is the memory child process.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import smtplib
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import IO, Any

from ._common import HOST, JSON_V1, ROOT, Mode, Row, median, python_env, row

START = "Start-up and reset"
MEMORY = "Memory (RSS, MB)"

MAIL = (
    b"From: CxSAST <cxsast@example.com>\r\nTo: Security Team <security-team@example.org>\r\n"
    b"Subject: Scan finished: 3 high, 12 medium\r\nMessage-ID: <bench@example.com>\r\n\r\n"
    + b"The scan of project cxmock finished. Results are attached to the dashboard.\r\n"
    * 10
)
SETTINGS = {
    "host": "smtp.example.com",
    "port": 587,
    "encryptionType": "Tls",
    "fromAddress": "cxsast@example.com",
    "useDefaultCredentials": False,
    "username": "cxsast",
    "password": "bench-secret",
}


# -- children ----------------------------------------------------------------------------------------------------
def _bare_server() -> Any:
    """A bare Flask app on a plain cheroot server (port 0, 16 threads), answering; returns the server."""
    from cheroot import wsgi

    from bench.bare_app import app

    server = wsgi.Server((HOST, 0), app, numthreads=16)
    server.prepare()
    threading.Thread(target=server.serve, daemon=True).start()
    with socket_to(int(server.bind_addr[1])) as sock:
        sock.sendall(b"GET /bare HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert sock.recv(16).startswith(b"HTTP/1.1 200")
    return server


def socket_to(port: int) -> Any:
    import socket

    return socket.create_connection((HOST, port), timeout=10)


#: the cold-start children are minimal scripts, so nothing of the harness is imported into what is measured
COLD = """\
import json, time
t0 = time.perf_counter()
from mockserver import MockServer
t1 = time.perf_counter()
server = MockServer()
t2 = time.perf_counter()
print(json.dumps({"imports_s": t1 - t0, "construct_s": t2 - t1, "cpu_s": time.process_time()}), flush=True)
server.stop()
"""
COLD_BARE = """\
import json, socket, threading, time
t0 = time.perf_counter()
from cheroot import wsgi
from bench.bare_app import app
server = wsgi.Server(("127.0.0.1", 0), app, numthreads=16)
server.prepare()
threading.Thread(target=server.serve, daemon=True).start()
with socket.create_connection(("127.0.0.1", server.bind_addr[1]), timeout=10) as sock:
    sock.sendall(b"GET /bare HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n")
    assert sock.recv(16).startswith(b"HTTP/1.1 200")
print(json.dumps({"imports_s": time.perf_counter() - t0, "construct_s": 0, "cpu_s": time.process_time()}),
      flush=True)
server.stop()
"""


def _child_rss(bare: bool) -> None:
    """Serve, report ports and RSS, then answer ``rss`` lines on stdin with the RSS and the store counts."""
    import gc

    from bench._common import rss_mb

    if bare:
        server = _bare_server()
        ready: dict[str, Any] = {"http": int(server.bind_addr[1])}
        mock = None
    else:
        from mockserver import MockServer

        # two fills of N settings: above the default --settings-limit (10 000), which is not what is measured here
        mock = MockServer(seed="none", settings_limit=100_000)
        ready = {"http": mock.http_port, "smtp": mock.sink.smtp_port, "token": mock.token()}

    def report() -> dict[str, Any]:
        gc.collect()
        time.sleep(0.2)
        out: dict[str, Any] = {"rss_mb": rss_mb()}
        if mock is not None:
            st = mock.state
            out.update(
                settings=len(st.settings),
                journal=st.journal.count,
                journal_total=st.journal.total_recorded,
                mails=len(st.mail),
                journal_limit=st.journal.limit,
                capture_limit=mock.config.capture_limit,
            )
        return out

    print(json.dumps({**ready, **report()}), flush=True)
    for line in sys.stdin:
        if line.strip() == "rss":
            print(json.dumps(report()), flush=True)
        else:
            break
    if mock is not None:
        mock.stop()


# -- measurements ----------------------------------------------------------------------------------------------------
def _cpu_of(pid: int) -> float | None:
    """CPU seconds (user + system) a running process has used so far (Linux ``/proc``), or None."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _spawn(argv: list[str], timeout: float = 60.0) -> tuple[float, dict[str, Any]]:
    """Seconds from spawn to the first stdout line (parsed as JSON) of a child, which is then ended; the info has
    ``cpu_s``, the CPU time the child had used by then."""
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as errors:
        proc = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=python_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
        )
        try:
            assert proc.stdout is not None
            timer = threading.Timer(timeout, proc.kill)
            timer.start()
            try:
                line = proc.stdout.readline()
            finally:
                timer.cancel()
            elapsed = time.perf_counter() - start
            cpu = _cpu_of(proc.pid)
            if not line:
                proc.wait(timeout=10)
                errors.seek(0)
                raise RuntimeError(f"{argv[:4]} printed nothing: {errors.read()[-500:]}")
            info = dict(json.loads(line))
            if cpu is not None:
                info.setdefault("cpu_s", cpu)  # the child's own figure, when it gives one, is the precise one
            return elapsed, info
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()


def _cxmock_argv() -> list[str]:
    return [sys.executable, "-m", "mockserver", "serve", "--port", "0", "--ready-json", "--quiet"]


def cold_start(mode: Mode) -> list[Row]:
    runs = 1 if mode.quick else max(mode.runs, 7)
    ours, bare, cli, imports, construct, cpu, bare_cpu, cli_cpu = [], [], [], [], [], [], [], []
    if not mode.quick:
        _spawn([sys.executable, "-c", COLD])  # warm the page cache and bytecode, as any second start is
    for _ in range(runs):
        elapsed, info = _spawn([sys.executable, "-c", COLD])
        ours.append(elapsed)
        imports.append(info["imports_s"])
        construct.append(info["construct_s"])
        cpu.append(info["cpu_s"])
        elapsed, info = _spawn([sys.executable, "-c", COLD_BARE])
        bare.append(elapsed)
        bare_cpu.append(info["cpu_s"])
        elapsed, info = _spawn(_cxmock_argv())
        cli.append(elapsed)
        cli_cpu.append(info.get("cpu_s", float("nan")))
    rows = [
        row(
            "cold start: new process -> MockServer() ready (HTTP + SMTP + SMTPS + TLS generated)",
            "s",
            ours,
            section=START,
            baseline=bare,
            baseline_name="new process -> bare Flask on cheroot answering",
            target=0.5,
            target_kind="max",
            detail=f"of which imports {median(imports) * 1000:.0f} ms, MockServer() {median(construct) * 1000:.0f} ms; "
            f"CPU time to ready {median(cpu) * 1000:.0f} ms (bare {median(bare_cpu) * 1000:.0f} ms), the "
            "figure that does not depend on other load on the machine",
        ),
        row(
            "cold start: `cxmock serve --port 0` spawn -> --ready-json line",
            "s",
            cli,
            section=START,
            baseline=bare,
            baseline_name="new process -> bare Flask on cheroot answering",
            target=0.5,
            target_kind="max",
            detail=f"CPU time to ready {median(cli_cpu) * 1000:.0f} ms (what does not depend on other load)",
        ),
    ]
    # construction in a warm process (imports done): what each MockServer() in a test session costs
    from mockserver import MockServer
    from mockserver.runtime.http_server import HttpServer
    from mockserver.smtp.tls import TlsMaterial

    from .bare_app import make_app

    warm, warm_bare, tls = [], [], []
    MockServer().stop()
    for _ in range(max(runs, 5)):
        start = time.perf_counter()
        server = MockServer()
        warm.append(time.perf_counter() - start)
        server.stop()
        http = HttpServer(make_app())
        start = time.perf_counter()
        http.start()
        warm_bare.append(time.perf_counter() - start)
        http.stop()
        start = time.perf_counter()
        TlsMaterial.generate()
        tls.append(time.perf_counter() - start)
    rows.append(
        row(
            "MockServer() in a warm process (imports done)",
            "s",
            warm,
            section=START,
            baseline=warm_bare,
            baseline_name="cxmock's HttpServer with a bare Flask app, start()",
            target=0.5,
            target_kind="max",
            detail=f"of which TLS material {median(tls) * 1000:.0f} ms",
        )
    )
    return rows


def reset(mode: Mode) -> list[Row]:
    from mockserver import MockServer

    runs = 2 if mode.quick else mode.runs
    per_run = 5 if mode.quick else 50
    rows: list[Row] = []
    body = json.dumps(SETTINGS).encode()
    with (
        MockServer() as server,
        contextlib.closing(http.client.HTTPConnection(HOST, server.http_port, timeout=30)) as conn,
        smtplib.SMTP(HOST, server.sink.smtp_port, local_hostname="bench", timeout=10) as smtp,
    ):
        headers = {**server.auth_headers(), "Content-Type": JSON_V1}

        def request(method: str, path: str, payload: bytes | None = None) -> str:
            conn.request(method, path, body=payload, headers=headers)
            response = conn.getresponse()
            response.read()
            if response.status >= 300:
                raise RuntimeError(f"{method} {path} answered {response.status}")
            return response.getheader("Location") or ""

        def a_test() -> None:  # what a typical test leaves behind
            created = [request("POST", "/cxrestapi/auth/SMTPSettings", body) for _ in range(2)]
            request("GET", "/cxrestapi/auth/SMTPSettings")
            request("GET", created[0])
            smtp.sendmail("cxsast@example.com", ["security-team@example.org"], MAIL)
            server.faults.add(
                match={"operationId": "getAllSmtpSettings"}, action={"type": "status", "status": 503}, times=1
            )

        samples, full = [], []
        for _ in range(runs):
            timings = []
            for _ in range(per_run):
                a_test()
                start = time.perf_counter()
                server.reset()
                timings.append((time.perf_counter() - start) * 1000)
            samples.append(median(timings))
            # worst case: every capped store full, 1000 extra settings
            fill = 50 if mode.quick else 1000
            for _ in range(fill):
                request("GET", "/cxrestapi/auth/SMTPSettings")
                smtp.sendmail("cxsast@example.com", ["security-team@example.org"], MAIL)
            server.seed([SETTINGS] * fill, persist=False)
            start = time.perf_counter()
            server.reset()
            full.append((time.perf_counter() - start) * 1000)
        rows.append(
            row(
                "per-test reset: server.reset() after a typical test",
                "ms",
                samples,
                section=START,
                target=2.0,
                target_kind="max",
                detail=f"median of {per_run} resets per run; the test: 2 POST, 2 GET, 1 mail, 1 fault rule",
            )
        )
        rows.append(
            row(
                "server.reset() with journal and mail store full and 1,000 extra settings",
                "ms",
                full,
                section=START,
                detail="worst case, context (no target)",
            )
        )
    return rows


class _RssChild:
    def __init__(self, bare: bool) -> None:
        self.errors = tempfile.TemporaryFile("w+")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.bench_lifecycle", "rss-bare" if bare else "rss"],
            cwd=ROOT,
            env=python_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.errors,
            text=True,
        )
        try:
            self.info = self._read()
        except BaseException:
            self.close()
            raise

    def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait(timeout=15)
            self.errors.seek(0)
            tail = self.errors.read()[-800:].strip()
            raise RuntimeError(f"the RSS child exited ({self.proc.returncode}) early: {tail or 'no output'}")
        return dict(json.loads(line))

    def measure(self) -> dict[str, Any]:
        stdin: IO[str] | None = self.proc.stdin
        assert stdin is not None
        stdin.write("rss\n")
        stdin.flush()
        return self._read()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            if self.proc.stdin is not None:
                self.proc.stdin.write("quit\n")
                self.proc.stdin.close()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self.errors.close()


def _fill(info: dict[str, Any], count: int) -> None:
    """``count`` settings created (each a journal entry) and ``count`` mails, sent concurrently; bounded."""
    headers = {"Authorization": f"Bearer {info['token']}", "Accept": JSON_V1, "Content-Type": JSON_V1}
    body = json.dumps(SETTINGS).encode()
    errors: list[BaseException] = []

    def posts() -> None:
        try:
            with contextlib.closing(http.client.HTTPConnection(HOST, info["http"], timeout=30)) as conn:
                for _ in range(count):
                    conn.request("POST", "/cxrestapi/auth/SMTPSettings", body=body, headers=headers)
                    response = conn.getresponse()
                    response.read()
                    if response.status != 201:
                        raise RuntimeError(f"POST answered {response.status}")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    def mails() -> None:
        try:
            with smtplib.SMTP(HOST, info["smtp"], local_hostname="bench", timeout=30) as smtp:
                for _ in range(count):
                    smtp.sendmail("cxsast@example.com", ["security-team@example.org"], MAIL)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=posts), threading.Thread(target=mails)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    if errors:
        raise RuntimeError(f"filling the server failed: {errors[0]!r}")


def memory(mode: Mode) -> list[Row]:
    runs = 1 if mode.quick else mode.runs
    count = 200 if mode.quick else 10_000
    idle, idle_bare, first, second, growth1, growth2 = [], [], [], [], [], []
    last: dict[str, Any] = {}
    for _ in range(runs):
        bare = _RssChild(bare=True)
        idle_bare.append(bare.info["rss_mb"])
        bare.close()
        child = _RssChild(bare=False)
        try:
            idle.append(child.info["rss_mb"])
            _fill(child.info, count)
            one = child.measure()
            _fill(child.info, count)
            two = child.measure()
        finally:
            child.close()
        first.append(one["rss_mb"])
        second.append(two["rss_mb"])
        growth1.append(one["rss_mb"] - child.info["rss_mb"])
        growth2.append(two["rss_mb"] - one["rss_mb"])
        last = {"one": one, "two": two}
    one, two = last["one"], last["two"]

    def held(m: dict[str, Any]) -> str:
        return (
            f"held: {m['settings']:,} settings, {m['journal']:,} journal entries (limit {m['journal_limit']:,}, "
            f"{m['journal_total']:,} recorded), {m['mails']:,} mails (limit {m['capture_limit']:,})"
        )

    n = f"{count:,}"
    return [
        row(
            "RSS idle: fresh process, MockServer() ready",
            "MB",
            idle,
            section=MEMORY,
            baseline=idle_bare,
            baseline_name="fresh process, bare Flask on cheroot",
            target=80.0,
            target_kind="max",
        ),
        row(f"RSS after {n} settings + {n} mails + {n} journal entries", "MB", first, section=MEMORY, detail=held(one)),
        row(f"RSS after 2 x {n} of each", "MB", second, section=MEMORY, detail=held(two)),
        row(
            f"RSS growth of the second {n} vs the first {n}",
            "MB",
            growth2,
            section=MEMORY,
            baseline=growth1,
            baseline_name=f"growth of the first {n}",
            target=0.8,
            target_kind="ratio_max",
            detail="journal and mail store are capped, so the second round only adds settings records "
            f"(~{median(growth2) * 1024 / count:.2f} KiB each)",
        ),
    ]


LARGE_MAIL_LINE = b"x" * 998 + b"\r\n"
LARGE_MAIL = b"Subject: large\r\nContent-Type: text/plain\r\n\r\n" + LARGE_MAIL_LINE * 10_000  # 10 MB of text


def large_mail_memory(mode: Mode) -> list[Row]:
    """RSS of a fresh server process after N mails of 10 MB each (sent one after the other, then listed so every
    message is parsed), against the same process idle, and the bound the README documents (#14): idle + N x 2 x
    capture_raw_limit + 3 x max_message_size + 16 MiB."""
    from mockserver import Config

    runs = 1 if mode.quick else mode.runs
    count = 3 if mode.quick else 10
    config = Config()
    idle, after, listed = [], [], []
    for _ in range(runs):
        child = _RssChild(bare=False)
        try:
            idle.append(child.info["rss_mb"])
            for _ in range(count):
                with smtplib.SMTP(HOST, child.info["smtp"], local_hostname="bench", timeout=60) as smtp:
                    smtp.sendmail("cxsast@example.com", ["security-team@example.org"], LARGE_MAIL)
            with contextlib.closing(http.client.HTTPConnection(HOST, child.info["http"], timeout=60)) as conn:
                conn.request("GET", "/_mock/messages?limit=1000")
                listed.append(len(conn.getresponse().read()) / 1e6)
            after.append(child.measure()["rss_mb"])
        finally:
            child.close()
    mib = 1024 * 1024 / 1e6  # MB per MiB
    bound = median(idle) + (count * 2 * config.capture_raw_limit + 3 * config.max_message_size) / 1e6 + 16 * mib
    return [
        row(
            f"RSS after {count} mails of 10 MB, all listed",
            "MB",
            after,
            section=MEMORY,
            baseline=idle,
            baseline_name="the same process idle",
            target=round(bound, 1),
            target_kind="max",
            detail=f"target: the documented bound idle + {count} x 2 x --capture-raw-limit + 3 x --max-message-size "
            "+ 16 MiB; before #14 ten such mails took 58 -> 204 MB",
        ),
        row(
            f"GET /_mock/messages body after {count} mails of 10 MB",
            "MB",
            listed,
            section=MEMORY,
            target=config.max_page_bytes / 1e6,
            target_kind="max",
            detail="one page: at most --max-page-bytes (8 MiB); before #14 the whole text of every message (100 MB)",
        ),
    ]


def run(mode: Mode) -> list[Row]:
    return cold_start(mode) + reset(mode) + memory(mode) + large_mail_memory(mode)


if __name__ == "__main__":
    which = sys.argv[1] if len(sys.argv) > 1 else ""
    if which in ("rss", "rss-bare"):
        _child_rss(bare=which == "rss-bare")
    else:
        sys.exit(f"usage: python -m bench.{Path(__file__).stem} rss|rss-bare")
