"""The servers a throughput row can run against, each as a context manager yielding its port.

In-process (a thread of the harness, as cxmock runs in a test suite): cxmock's own front end ``HttpServer`` (the
exact server and configuration ``MockServer`` uses) and werkzeug's development server.
Out-of-process (context for the WSGI choice, and the competitor): waitress, granian (Rust), Prism 5 (Node).
A server that is not installed is reported as unavailable with the reason, never as a failure.
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from mockserver import Config
from mockserver.runtime.http_server import HttpServer

from ._common import HOST, ROOT, free_port, process, python_env, wait_http

PRISM_DIR = ROOT / "bench" / ".prism"
PRISM_VERSION = "5"

ServerFactory = Callable[[], AbstractContextManager[int]]


@contextlib.contextmanager
def front_end(app: Any) -> Iterator[int]:
    """``app`` on cxmock's HTTP front end, configured as ``MockServer`` configures it (threads, limits)."""
    server = HttpServer(app, host=HOST, port=0, threads=Config().http_threads)
    server.start()
    try:
        yield server.port
    finally:
        server.stop()


@contextlib.contextmanager
def werkzeug(app: Any) -> Iterator[int]:
    """``app`` on werkzeug's threaded development server (``flask run``), request logging off."""
    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = make_server(HOST, 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def waitress_missing() -> str | None:
    return None if find_spec("waitress") else "waitress not installed (pip install '.[bench]')"


@contextlib.contextmanager
def waitress() -> Iterator[int]:
    """``bench.bare_app:app`` under waitress (4 threads, its default), in its own process."""
    port = free_port()
    argv = [sys.executable, "-m", "waitress", f"--listen={HOST}:{port}", "--threads=4", "bench.bare_app:app"]
    with process(argv, env=python_env()) as proc:
        wait_http(port, "/bare", proc=proc)
        yield port


def _granian_bin() -> str | None:
    local = Path(sys.executable).with_name("granian")
    return str(local) if local.exists() else shutil.which("granian")


def granian_missing() -> str | None:
    return None if _granian_bin() else "granian not installed (pip install '.[bench]')"


@contextlib.contextmanager
def granian() -> Iterator[int]:
    """``bench.bare_app:app`` under granian's WSGI interface (1 worker, 4 blocking threads), in its own process."""
    port = free_port()
    binary = _granian_bin()
    assert binary is not None
    argv = [
        binary,
        "--interface",
        "wsgi",
        "--host",
        HOST,
        "--port",
        str(port),
        "--workers",
        "1",
        "--blocking-threads",
        "4",
        "--log-level",
        "warning",
        "bench.bare_app:app",
    ]
    with process(argv, env=python_env()) as proc:
        wait_http(port, "/bare", proc=proc)
        yield port


def _prism_bin() -> str | None:
    local = PRISM_DIR / "node_modules" / ".bin" / "prism"
    return str(local) if local.exists() else shutil.which("prism")


def prism_missing() -> str | None:
    if _prism_bin():
        return None
    how = "npm install --prefix bench/.prism @stoplight/prism-cli@5, or python -m bench --install-prism"
    return f"prism not installed ({how})"


def npm_install(directory: Path, spec: str) -> str | None:
    """``npm install SPEC`` into ``directory`` (git-ignored, a package.json of its own). Returns an error or None."""
    import subprocess

    npm = shutil.which("npm")
    if npm is None:
        return "npm not found"
    directory.mkdir(parents=True, exist_ok=True)
    package = directory / "package.json"
    if not package.exists():
        package.write_text(json.dumps({"name": f"cxmock-bench-{directory.name.lstrip('.')}", "private": True}) + "\n")
    try:
        done = subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", spec],
            cwd=directory,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"npm install failed: {exc}"
    return None if done.returncode == 0 else f"npm install failed: {done.stderr.strip()[-300:]}"


def install_prism() -> str | None:
    """``npm install @stoplight/prism-cli@5`` into ``bench/.prism`` (git-ignored). Returns an error or None."""
    return npm_install(PRISM_DIR, f"@stoplight/prism-cli@{PRISM_VERSION}")


def prism_version() -> str | None:
    binary = _prism_bin()
    if binary is None:
        return None
    import subprocess

    try:
        out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None


@contextlib.contextmanager
def prism() -> Iterator[int]:
    """Prism 5 mocking ``openapi/cxmock.yaml`` (static examples), in its own process."""
    port = free_port()
    binary = _prism_bin()
    assert binary is not None
    argv = [binary, "mock", str(ROOT / "openapi" / "cxmock.yaml"), "-p", str(port), "-h", HOST]
    with process(argv) as proc:
        wait_http(port, "/SMTPSettings", timeout=60, proc=proc)
        yield port
