"""Upstreams for the proxy, verify and record tests (no real Checkmarx is reachable here).

- ``serve_upstream(*args)``: a second ``cxmock serve`` subprocess on an ephemeral port (``--port 0 --port-file``),
  readiness polled on ``/_mock/health``; stopped at teardown.
- ``Recorder``: a stdlib HTTP server (optionally TLS, with trustme) that records every request as received and
  answers what the test says: the bytes both ways can be compared exactly.
- ``raw_upstream(reply)``: a socket server that answers every connection with ``reply`` bytes (garbage) or never
  (``reply=None``, held until teardown).
"""

from __future__ import annotations

import contextlib
import http.server
import json
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from mockserver.config import DEFAULT_CLIENT_SECRET
from tests.support.serve import clean_env

STARTUP_DEADLINE = 30.0
ADMIN = {"username": "admin", "password": "admin"}


@dataclass
class Served:
    proc: subprocess.Popen[bytes]
    base_url: str
    log: Path

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


def _wait_ready(proc: subprocess.Popen[bytes], port_file: Path, log: Path) -> str:
    deadline = time.monotonic() + STARTUP_DEADLINE
    while True:
        if port_file.exists() and port_file.read_text().endswith("\n"):
            base = json.loads(port_file.read_text())["base_url"]
            with contextlib.suppress(requests.ConnectionError):
                with requests.get(base + "/_mock/health", timeout=2) as response:
                    if response.status_code == 200:
                        return str(base)
        if time.monotonic() > deadline:
            pytest.fail(f"the subprocess did not get ready within {STARTUP_DEADLINE} s:\n{log.read_text()}")
        try:
            code = proc.wait(timeout=0.05)  # the pause between polls; also notices an early exit
        except subprocess.TimeoutExpired:
            continue
        pytest.fail(f"the subprocess exited with {code} before answering:\n{log.read_text()}")


@contextlib.contextmanager
def start_cxmock(tmp_path: Path, command: str, *args: str) -> Iterator[Served]:
    """``python -m mockserver COMMAND ... --port 0 --port-file F``, ready (``/_mock/health`` answers)."""
    tag = f"{command}-{time.monotonic_ns()}"
    port_file, log = tmp_path / f"{tag}.json", tmp_path / f"{tag}.log"
    extra = ["--smtp-port", "0", "--smtps-port", "0"] if command == "serve" else []
    env = clean_env()
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "mockserver", command, *args, "--port", "0", *extra, "--port-file", str(port_file)],
            stdout=sink,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
        )
    try:
        yield Served(proc, _wait_ready(proc, port_file, log), log)
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One plain ``cxmock serve`` (default seed) for the module's tests; tests that change it use their own."""
    with start_cxmock(tmp_path_factory.mktemp("upstream"), "serve", "--quiet") as served:
        yield served


@pytest.fixture
def serve_upstream(tmp_path: Path) -> Iterator[Callable[..., Served]]:
    with contextlib.ExitStack() as stack:

        def start(*args: str) -> Served:
            return stack.enter_context(start_cxmock(tmp_path, "serve", "--quiet", *args))

        yield start


def token_form(username: str = "admin", password: str = "admin") -> dict[str, str]:
    return {
        "grant_type": "password",
        "username": username,
        "password": password,
        "scope": "sast_rest_api access_control_api",
        "client_id": "resource_owner_client",
        "client_secret": DEFAULT_CLIENT_SECRET,
    }


def login(api_url: str, username: str = "admin", password: str = "admin") -> str:
    with requests.post(api_url + "/identity/connect/token", data=token_form(username, password), timeout=10) as r:
        assert r.status_code == 200, r.text
        value: str = r.json()["access_token"]
        return value


# -- a recording upstream --------------------------------------------------------------------------------------


@dataclass
class Received:
    method: str
    target: str
    headers: list[tuple[str, str]]
    body: bytes


@dataclass
class Reply:
    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=lambda: [("Content-Type", "application/json;v=1.0")])
    body: bytes = b"[]"
    #: the handler waits for this event (bounded) before answering: a slow upstream
    hold: threading.Event | None = None


class Recorder:
    """An HTTP/1.1 upstream that records each request and answers ``reply`` (or ``replies[path]``)."""

    def __init__(self, tls: Any = None) -> None:
        self.received: list[Received] = []
        #: set each time a request has been recorded (a test clears it to wait for the next)
        self.arrived = threading.Event()
        self.reply = Reply()
        recorder = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
                pass

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                recorder.received.append(Received(self.command, self.path, list(self.headers.items()), body))
                recorder.arrived.set()
                reply = recorder.reply
                if reply.hold is not None:
                    reply.hold.wait(10)
                self.send_response(reply.status)
                for name, value in reply.headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(reply.body)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = _any  # noqa: N815

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.scheme = "https" if tls is not None else "http"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        host = "localhost" if self.scheme == "https" else "127.0.0.1"
        return f"{self.scheme}://{host}:{self.server.server_address[1]}"

    def __enter__(self) -> Recorder:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.reply.hold is not None:
            self.reply.hold.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(10)


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    with Recorder() as rec:
        yield rec


@contextlib.contextmanager
def raw_upstream(reply: bytes | None) -> Iterator[str]:
    """A TCP server answering each connection with ``reply`` then closing (``None``: reads and never answers until
    the block ends). Yields its ``http://`` URL."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.05)
    stop = threading.Event()
    held: list[socket.socket] = []

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(5)
            with contextlib.suppress(OSError):
                conn.recv(65536)
            if reply is None:
                held.append(conn)
                continue
            with contextlib.suppress(OSError):
                conn.sendall(reply)
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(10)
        listener.close()
        for conn in held:
            conn.close()


def tls_context(ca: Any) -> ssl.SSLContext:
    """A server context for ``localhost`` signed by the trustme ``ca``."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(context)
    return context
