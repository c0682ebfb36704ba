"""``cxmock serve`` as a process under hostile SMTP and big mail (issue #14): the STARTTLS-twice client no longer
ends it, and ten 10 MB messages leave its RSS within the bound the README documents.

The documented bound (README, "The SMTP sink"): RSS stays within the RSS at start plus, per message held, the
kept raw source and its text (2 x ``--capture-raw-limit`` for ASCII text), plus, while messages are being
received, about 3 x ``--max-message-size`` per DATA in progress. The allowance below adds 16 MiB for the
allocator. RSS is read from ``/proc/PID/status``; nothing is timed.
"""

from __future__ import annotations

import json
import os
import signal
import smtplib
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

TIMEOUT = 60.0
MiB = 1024 * 1024

pytestmark = pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads RSS from /proc")


def rss_bytes(pid: int, field: str = "VmRSS") -> int:
    """The process's resident set size (``VmHWM``: its peak so far)."""
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise AssertionError(f"no {field} line")


@pytest.fixture
def serve() -> Iterator[tuple[subprocess.Popen[bytes], dict[str, Any]]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CXMOCK_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "mockserver", "serve", "--port", "0", "--smtp-port", "0", "--smtps-port", "0"]
        + ["--ready-json", "--quiet", "--seed", "none"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        env=env,
    )
    try:
        assert proc.stdout is not None
        ready = json.loads(proc.stdout.readline())
        yield proc, ready
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(TIMEOUT)
        assert proc.stdout is not None
        proc.stdout.close()


def health(base_url: str) -> dict[str, Any]:
    with urllib.request.urlopen(base_url + "/_mock/health", timeout=TIMEOUT) as response:  # nosec B310
        body: dict[str, Any] = json.load(response)
        return body


def messages(base_url: str, query: str = "") -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{base_url}/_mock/messages?{query}", timeout=TIMEOUT) as response:  # nosec B310
        body: list[dict[str, Any]] = json.load(response)
        return body


def test_the_starttls_twice_client_does_not_end_cxmock_serve(
    serve: tuple[subprocess.Popen[bytes], dict[str, Any]],
) -> None:
    proc, ready = serve
    import ssl

    context = ssl.create_default_context()
    with urllib.request.urlopen(ready["base_url"] + "/_mock/smtp/ca.pem", timeout=TIMEOUT) as response:  # nosec B310
        context.load_verify_locations(cadata=response.read().decode())
    with socket.create_connection(("127.0.0.1", ready["smtp"]), timeout=TIMEOUT) as raw:
        reader = raw.makefile("rb")
        assert reader.readline().startswith(b"220")
        raw.sendall(b"EHLO x\r\n")
        while not reader.readline().startswith(b"250 "):
            pass
        raw.sendall(b"STARTTLS\r\n")
        assert reader.readline().startswith(b"220")
        with context.wrap_socket(raw, server_hostname="localhost") as tls:
            tls.sendall(b"EHLO x\r\n")
            data = b""
            while b"\r\n250 " not in b"\r\n" + data:
                data += tls.recv(4096)
            tls.sendall(b"STARTTLS\r\n")
            assert tls.recv(4096).startswith(b"503 5.5.1")
    # the process lives on and serves both protocols
    with smtplib.SMTP("127.0.0.1", ready["smtp"], timeout=TIMEOUT) as smtp:
        smtp.sendmail("a@example.org", ["b@example.org"], "Subject: after the attack\r\n\r\nok\r\n")
    assert health(ready["base_url"])["status"] == "ok"
    assert [m["subject"] for m in messages(ready["base_url"], "wait=10")] == ["after the attack"]
    assert proc.poll() is None
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(TIMEOUT) == 0


@pytest.mark.slow
def test_ten_10_mb_messages_stay_within_the_documented_rss_bound(
    serve: tuple[subprocess.Popen[bytes], dict[str, Any]],
) -> None:
    proc, ready = serve
    health(ready["base_url"])  # warm the HTTP path before the idle reading
    with urllib.request.urlopen(ready["base_url"] + "/_mock/config", timeout=TIMEOUT) as response:  # nosec B310
        config = json.load(response)
    raw_limit, max_message = config["capture_raw_limit"], config["max_message_size"]
    messages(ready["base_url"])
    idle = rss_bytes(proc.pid)
    line = b"x" * 998 + b"\r\n"
    body = b"Subject: big\r\nContent-Type: text/plain\r\n\r\n" + line * 10_000  # 10 MB of text
    count = 10
    for _ in range(count):
        with smtplib.SMTP("127.0.0.1", ready["smtp"], timeout=TIMEOUT) as smtp:
            smtp.sendmail("a@example.org", ["b@example.org"], body)
    listed = messages(ready["base_url"], "limit=1000")  # parsed, text cached: what the store holds at most
    assert all(m["rawTruncated"] and m["textTruncated"] for m in listed)
    assert all(len(m["text"]) <= raw_limit for m in listed)
    bound = idle + count * 2 * raw_limit + 3 * max_message + 16 * MiB
    rss = rss_bytes(proc.pid)
    assert rss <= bound, f"RSS {rss / MiB:.1f} MiB > bound {bound / MiB:.1f} MiB (idle {idle / MiB:.1f} MiB)"


@pytest.mark.slow
def test_a_data_of_empty_lines_costs_its_size_not_an_object_per_line(
    serve: tuple[subprocess.Popen[bytes], dict[str, Any]],
) -> None:
    """aiosmtpd kept a bytearray per DATA line: ~10 MB of empty lines took ~210 MB for one connection."""
    proc, ready = serve
    health(ready["base_url"])
    idle = rss_bytes(proc.pid)
    with socket.create_connection(("127.0.0.1", ready["smtp"]), timeout=TIMEOUT) as raw:
        reader = raw.makefile("rb")
        assert reader.readline().startswith(b"220")
        raw.sendall(b"HELO x\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n")
        assert [reader.readline()[:3] for _ in range(4)] == [b"250", b"250", b"250", b"354"]
        raw.sendall(b"Subject: empty lines\r\n\r\n")
        chunk = b"\r\n" * 32768
        for _ in range(150):  # 9.8 MB, under the 10 MiB limit
            raw.sendall(chunk)
        raw.sendall(b".\r\n")
        assert reader.readline().startswith(b"250 2.0.0")
    peak = rss_bytes(proc.pid, "VmHWM")  # the peak while the DATA was being received
    # the DATA buffer (at most --max-message-size), the parse of the start the store keeps (email's parser holds an
    # object per line: up to ~40 x --capture-raw-limit for empty lines), the allocator
    bound = idle + 10 * MiB + 40 * MiB + 16 * MiB
    assert peak <= bound, f"peak RSS {peak / MiB:.1f} MiB > bound {bound / MiB:.1f} MiB (idle {idle / MiB:.1f} MiB)"
