"""``cxmock serve`` in a child process, as a user runs it: ephemeral ports, the ready line read with a deadline."""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import IO, Any

READY_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0
EPHEMERAL = ("--port", "0", "--smtp-port", "0", "--smtps-port", "0")


def clean_env() -> dict[str, str]:
    """The environment without ``CXMOCK_*`` variables, so a developer's own settings do not leak into a test."""
    return {k: v for k, v in os.environ.items() if not k.startswith("CXMOCK_")}


def read_ready_line(stream: IO[Any], timeout: float = READY_TIMEOUT) -> dict[str, Any]:
    """The JSON ready line ``--ready-json`` prints once HTTP, SMTP and SMTPS answer; fails after ``timeout``."""
    with selectors.DefaultSelector() as sel:
        sel.register(stream, selectors.EVENT_READ)
        if not sel.select(timeout=timeout):
            raise TimeoutError(f"cxmock serve printed no ready line within {timeout:.0f} s")
    line = stream.readline()
    if not line:
        raise RuntimeError("cxmock serve exited before it was ready")
    ready: dict[str, Any] = json.loads(line)
    return ready


def start_serve(
    *args: str, stderr: int | None = subprocess.DEVNULL, text: bool = True, **popen: Any
) -> tuple[subprocess.Popen[Any], dict[str, Any]]:
    """Start ``python -m mockserver serve`` on ephemeral ports with ``args`` and return it with its ready line."""
    proc: subprocess.Popen[Any] = subprocess.Popen(
        [sys.executable, "-m", "mockserver", "serve", *EPHEMERAL, "--ready-json", "--quiet", *args],
        stdout=subprocess.PIPE,
        stderr=stderr,
        stdin=subprocess.DEVNULL,
        env=popen.pop("env", None) or clean_env(),
        text=text,
        **popen,
    )
    assert proc.stdout is not None
    try:
        return proc, read_ready_line(proc.stdout)
    except BaseException:
        stop(proc)
        raise


def stop(proc: subprocess.Popen[Any], sig: int = signal.SIGTERM) -> int:
    """Stop the child (``sig`` first, then kill past the timeout), close its pipes; its exit code."""
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        code = proc.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        code = proc.wait(STOP_TIMEOUT)
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()
    return code


@contextmanager
def serving(*args: str, **popen: Any) -> Iterator[tuple[subprocess.Popen[Any], dict[str, Any]]]:
    """``with serving("--seed", "none") as (proc, ready):`` — stopped (SIGTERM) on the way out."""
    proc, ready = start_serve(*args, **popen)
    try:
        yield proc, ready
    finally:
        stop(proc)


def serve_args(extra: Sequence[str] = ()) -> list[str]:
    """The argv of ``cxmock serve`` on ephemeral ports (for tests that start it their own way)."""
    return [sys.executable, "-m", "mockserver", "serve", *EPHEMERAL, *extra]
