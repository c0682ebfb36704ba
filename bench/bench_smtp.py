"""SMTP benchmarks (not tests): sink ingestion against a bare aiosmtpd server, testconnection round trips.

(a) Ingestion, messages per second, sent with smtplib over the plain listener: one reused connection, and a new
    connection per message. The baseline is a bare aiosmtpd handler (``handle_DATA`` returns ``250 OK``) served
    the same way (same loop thread, same accept path), measured in the same run, interleaved run by run.
    Target: the sink reaches at least 0.8x the bare server's rate.
(b) testconnection round trip (:func:`run_test_connection`: connect, EHLO, STARTTLS/TLS, AUTH, MAIL, RCPT, DATA,
    QUIT) against the sink, per encryption; baseline: the same session against the bare server.
    Targets: median <= 10 ms plain, <= 30 ms with TLS.

Client and servers share one process (and its GIL), as they do in a test suite using the pytest plugin.

Usage: ``python bench/bench_smtp.py [--quick]``; from Python, ``run(quick=False) -> list[dict]``.
"""

from __future__ import annotations

import argparse
import smtplib
import statistics
import time
from collections.abc import Callable
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, Session

from mockserver.core.mail.store import MailStore
from mockserver.smtp.client import run_test_connection
from mockserver.smtp.sink import SmtpSink, TrackedSMTP
from mockserver.smtp.tls import TlsMaterial

MESSAGE = (
    b"From: CxSAST <cxsast@example.com>\r\n"
    b"To: Security Team <security-team@example.org>\r\n"
    b"Subject: Scan finished: 3 high, 12 medium\r\n"
    b"Date: Mon, 06 May 2024 10:00:00 +0000\r\n"
    b"Message-ID: <bench@example.com>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"\r\n" + b"The scan of project cxmock finished. Results are attached to the dashboard.\r\n" * 10
)
TIMEOUT = 10.0


class _BareHandler:
    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        return "250 OK"


class BareSink(SmtpSink):
    """aiosmtpd with a minimal handler, started and served exactly like the sink (the baseline)."""

    def factory(self, listener: str) -> TrackedSMTP:
        return TrackedSMTP(
            _BareHandler(),
            sink=self,
            listener=listener,
            tls_context=self.tls.server_context() if listener == "smtp" else None,
            data_size_limit=self.max_message_size,
            enable_SMTPUTF8=True,
            auth_require_tls=False,
            authenticator=lambda *args: AuthResult(success=True),
        )


class _Clock:
    """Wall and process-CPU time of a block (CPU time: client and servers, all in this process)."""

    def __enter__(self) -> _Clock:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu


def _ingest_reused(server: SmtpSink, count: int) -> tuple[float, float]:
    """(messages per second, CPU microseconds per message) over one connection."""
    with smtplib.SMTP("127.0.0.1", server.smtp_port, local_hostname="bench", timeout=TIMEOUT) as smtp:
        smtp.ehlo()
        with _Clock() as clock:
            for _ in range(count):
                smtp.sendmail("cxsast@example.com", ["security-team@example.org"], MESSAGE)
    return count / clock.wall, clock.cpu / count * 1e6


def _ingest_per_connection(server: SmtpSink, count: int) -> tuple[float, float]:
    """(messages per second, CPU microseconds per message) with a new connection per message."""
    with _Clock() as clock:
        for _ in range(count):
            with smtplib.SMTP("127.0.0.1", server.smtp_port, local_hostname="bench", timeout=TIMEOUT) as smtp:
                smtp.sendmail("cxsast@example.com", ["security-team@example.org"], MESSAGE)
    return count / clock.wall, clock.cpu / count * 1e6


def _round_trip(server: SmtpSink, encryption: str, context: Any) -> float:
    start = time.perf_counter()
    run_test_connection(
        host="127.0.0.1",
        port=server.smtps_port if encryption == "Ssl" else server.smtp_port,
        encryption=encryption,
        from_address="cxsast@example.com",
        receiver="security-team@example.org",
        username="alice",
        password="secret",
        use_default_credentials=False,
        timeout=TIMEOUT,
        ssl_context=context,
        correlation="bench",
        requested_target="smtp.example.com:587",
    )
    return (time.perf_counter() - start) * 1000


def _row(
    name: str, unit: str, samples: list[float], baseline: list[float], target: float, ratio_target: bool
) -> dict[str, Any]:
    median = statistics.median(samples)
    base = statistics.median(baseline)
    ratio = median / base
    return {
        "name": name,
        "unit": unit,
        "median": median,
        "min": min(samples),
        "max": max(samples),
        "baseline_median": base,
        "ratio": ratio,
        # ingestion rows: the minimum ratio to the baseline; latency rows: the maximum median
        "target": target,
        "passed": ratio >= target if ratio_target else median <= target,
        "runs": len(samples),
    }


def run(quick: bool = False) -> list[dict[str, Any]]:
    """Run every benchmark; one row per measurement (>= 5 runs each; ``quick`` keeps each run tiny)."""
    runs = 5 if quick else 15  # many short interleaved runs: a burst of load elsewhere hits both servers
    messages = 20 if quick else 150
    trips = 5 if quick else 40
    tls = TlsMaterial.generate()
    sink = SmtpSink(store=MailStore(), tls=tls)
    bare = BareSink(store=MailStore(), tls=tls)
    sink.start()
    bare.start()
    rows = []
    try:
        context = tls.client_context()
        ingest: list[tuple[str, Callable[[SmtpSink, int], tuple[float, float]]]] = [
            ("sink ingestion, one connection", _ingest_reused),
            ("sink ingestion, connection per message", _ingest_per_connection),
        ]
        for name, measure in ingest:
            measure(sink, 5)  # warm-up
            measure(bare, 5)
            ours, theirs = [], []
            for _ in range(runs):  # interleaved: drift hits both alike
                ours.append(measure(sink, messages))
                theirs.append(measure(bare, messages))
            row = _row(name, "msg/s", [r for r, _ in ours], [r for r, _ in theirs], 0.8, ratio_target=True)
            # CPU cost per message hardly depends on other load on the machine, unlike the rate
            row["cpu_us_per_msg"] = statistics.median(c for _, c in ours)
            row["baseline_cpu_us_per_msg"] = statistics.median(c for _, c in theirs)
            row["cpu_ratio"] = row["baseline_cpu_us_per_msg"] / row["cpu_us_per_msg"]
            rows.append(row)
        for encryption, target in (("None", 10.0), ("Tls", 30.0), ("Ssl", 30.0)):
            _round_trip(sink, encryption, context)
            _round_trip(bare, encryption, context)
            ours_ms: list[float] = []
            theirs_ms: list[float] = []
            for _ in range(max(runs, trips)):
                ours_ms.append(_round_trip(sink, encryption, context))
                theirs_ms.append(_round_trip(bare, encryption, context))
            rows.append(_row(f"testconnection round trip, {encryption}", "ms", ours_ms, theirs_ms, target, False))
    finally:
        sink.stop()
        bare.stop()
    return rows


def to_markdown(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| benchmark | runs | median | min | max | bare aiosmtpd (median) | ratio | target | result "
        "| CPU/msg: sink, bare, ratio |",
        "| --- | --: | --: | --: | --: | --: | --: | --- | --- | --- |",
    ]
    for r in rows:
        unit = r["unit"]
        target = f"≥ {r['target']:g}× bare" if unit == "msg/s" else f"≤ {r['target']:g} ms"
        fmt = "{:,.0f}" if unit == "msg/s" else "{:.2f}"
        lines.append(
            f"| {r['name']} | {r['runs']} | {fmt.format(r['median'])} {unit} | {fmt.format(r['min'])} | "
            f"{fmt.format(r['max'])} | {fmt.format(r['baseline_median'])} {unit} | {r['ratio']:.2f} | {target} | "
            f"{'pass' if r['passed'] else 'FAIL'} | {_cpu(r)} |"
        )
    return "\n".join(lines)


def _cpu(row: dict[str, Any]) -> str:
    if "cpu_ratio" not in row:
        return ""
    return f"{row['cpu_us_per_msg']:.0f} µs, {row['baseline_cpu_us_per_msg']:.0f} µs, {row['cpu_ratio']:.2f}"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny runs (a smoke test of the benchmark)")
    print(to_markdown(run(quick=parser.parse_args().quick)))
