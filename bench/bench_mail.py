"""A mail check against how much mail is held (#26): the same check with 10 and with 10,000 messages held.

Through the public entry points only: a ``MockServer`` (``capture_limit`` raised to hold them), its mail sent over
SMTP with ``smtplib`` to the sink's port, one recipient per message as a suite's tests use, and the check a test
makes after its testconnection: ``GET /_mock/messages?to=<its recipient>`` over HTTP (and, as context, the
in-process ``server.sink.wait_for(to=...)``). The two servers are measured interleaved, run by run, so load on the
machine moves both alike; the ratio (held 10,000 / held 10) is the row's result, its target <= 1.2.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import smtplib
import time
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from urllib.parse import urlencode

from mockserver import MockServer

from ._common import HOST, Mode, Row, median, row

SECTION = "Mail check against mail held (GET /_mock/messages?to=..., ms)"
SMALL = 10


def _fill(server: MockServer, count: int) -> None:
    """``count`` messages through the sink's SMTP port, each to its own recipient (``user<i>@example.org``)."""
    with smtplib.SMTP(HOST, server.sink.smtp_port, timeout=30) as client:
        for i in range(count):
            message = EmailMessage()
            message["From"] = "cxsast@example.com"
            message["To"] = f"user{i}@example.org"
            message["Subject"] = f"cxmock test message {i}"
            message.set_content("hello")
            client.send_message(message)
    server.sink.wait_for(count, 60.0)  # every message captured before the first check


@contextlib.contextmanager
def _held(count: int) -> Iterator[MockServer]:
    with MockServer(capture_limit=max(count, SMALL)) as server:
        _fill(server, count)
        yield server


def _http_check(server: MockServer, conn: http.client.HTTPConnection, recipient: str) -> Callable[[], float]:
    path = "/_mock/messages?" + urlencode({"to": recipient})

    def check() -> float:
        start = time.perf_counter()
        conn.request("GET", path)
        response = conn.getresponse()
        body = response.read()
        elapsed = (time.perf_counter() - start) * 1000
        if response.status != 200 or len(json.loads(body)) != 1:
            raise RuntimeError(f"mail check answered {response.status}: {body[:300]!r}")
        return elapsed

    return check


def _wait_for_check(server: MockServer, recipient: str) -> Callable[[], float]:
    def check() -> float:
        start = time.perf_counter()
        found = server.sink.wait_for(1, 5.0, to=recipient)
        elapsed = (time.perf_counter() - start) * 1000
        if len(found) != 1:
            raise RuntimeError(f"wait_for found {len(found)} messages")
        return elapsed

    return check


def check_growth(mode: Mode) -> list[Row]:
    """The mail check with ``SMALL`` and with 10,000 messages held (1,000 in ``--quick``), interleaved."""
    big = 1_000 if mode.quick else 10_000
    runs = max(2, mode.runs) if mode.quick else mode.runs
    per_run = 20 if mode.quick else 200
    with (
        _held(SMALL) as small,
        _held(big) as large,
        contextlib.closing(http.client.HTTPConnection(HOST, small.http_port, timeout=30)) as small_conn,
        contextlib.closing(http.client.HTTPConnection(HOST, large.http_port, timeout=30)) as large_conn,
    ):
        # each checks for one message in the middle of what it holds, as a test checks for the mail it caused
        checks = {
            "http": (
                _http_check(small, small_conn, f"user{SMALL // 2}@example.org"),
                _http_check(large, large_conn, f"user{big // 2}@example.org"),
            ),
            "wait_for": (
                _wait_for_check(small, f"user{SMALL // 2}@example.org"),
                _wait_for_check(large, f"user{big // 2}@example.org"),
            ),
        }
        samples: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in checks}
        for small_check, large_check in checks.values():
            small_check(), large_check()  # warm: the first check after the captures indexes them
        for _ in range(runs):
            for name, (small_check, large_check) in checks.items():
                small_times, large_times = [], []
                for _ in range(per_run):  # alternating, so both see the same moment of the machine
                    small_times.append(small_check())
                    large_times.append(large_check())
                samples[name][0].append(median(small_times))
                samples[name][1].append(median(large_times))
    detail = (
        f"each message to its own recipient (user<i>@example.org), sent over SMTP; the check asks for one of them; "
        f"median of {per_run} checks per run, alternating with the same check on a server holding {SMALL}"
    )
    http_small, http_large = samples["http"]
    wait_small, wait_large = samples["wait_for"]
    return [
        row(
            f"GET /_mock/messages?to=... with {big:,} messages held (vs {SMALL} held)",
            "ms",
            http_large,
            section=SECTION,
            baseline=http_small,
            baseline_name=f"the same check with {SMALL} messages held",
            target=1.2,
            target_kind="ratio_max",
            detail=detail,
        ),
        row(
            f"sink.wait_for(to=...) in-process with {big:,} messages held (vs {SMALL} held)",
            "ms",
            wait_large,
            section=SECTION,
            baseline=wait_small,
            baseline_name=f"the same call with {SMALL} messages held",
            detail="context: no HTTP, so the index lookup is most of what it measures",
        ),
    ]
