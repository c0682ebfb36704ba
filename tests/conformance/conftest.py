"""The conformance suite's fixtures: one ``surface`` per kind of cxmock handle, and a real ``cxmock serve``.

``surface`` is parametrized over the four ways a test meets cxmock, all typed :class:`mockserver.MockSurface`:

- ``in-process``: a :class:`~mockserver.MockServer` (its root);
- ``in-process-sandbox``: a fresh sandbox of it (``server.create_sandbox()``), deleted afterwards;
- ``remote``: a :class:`~mockserver.RemoteServer` at the root of a ``cxmock serve`` subprocess;
- ``remote-sandbox``: a fresh sandbox of that process (``remote.create_sandbox()``), as the pytest plugin uses.

Root handles are reset before each test and get their original seed back afterwards.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mockserver import MockServer, MockSurface, RemoteServer
from mockserver.core import admin_routes as routes
from tests.support.serve import READY_TIMEOUT, clean_env, serve_args, stop

MODES = ("in-process", "in-process-sandbox", "remote", "remote-sandbox")


class Served:
    """A ``cxmock serve`` subprocess on ephemeral ports."""

    def __init__(self, proc: subprocess.Popen[bytes], log: Path, ready: dict[str, Any]) -> None:
        self.proc = proc
        self.log = log
        self.base_url: str = ready["base_url"]
        self.ports = {name: int(ready[name]) for name in ("http", "smtp", "smtps")}

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


def _wait_ready(proc: subprocess.Popen[bytes], port_file: Path, log: Path) -> dict[str, Any]:
    """The ready JSON of ``--port-file`` (polled: it appears once every listener answers)."""
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        try:
            ready: dict[str, Any] = json.loads(port_file.read_text(encoding="utf-8"))
            return ready
        except (FileNotFoundError, json.JSONDecodeError):  # not written yet, or half written
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"cxmock serve wrote no port file within {READY_TIMEOUT} s:\n{log.read_text()}")
        try:
            code = proc.wait(timeout=0.05)  # the pause between polls; also notices an early exit
        except subprocess.TimeoutExpired:
            continue
        pytest.fail(f"cxmock serve exited with {code} before it was ready:\n{log.read_text()}")


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """``cxmock serve --port 0 --smtp-port 0 --smtps-port 0 --port-file F``, stopped (SIGTERM) at the end."""
    where = tmp_path_factory.mktemp("served")
    port_file, log = where / "ports.json", where / "serve.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            serve_args(["--port-file", str(port_file)]),
            stdout=sink,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=clean_env(),
        )
    try:
        yield Served(proc, log, _wait_ready(proc, port_file, log))
    finally:
        stop(proc)


@pytest.fixture(scope="session")
def in_process() -> Iterator[MockServer]:
    with MockServer(host="127.0.0.1") as server:
        yield server


@pytest.fixture(params=MODES)
def surface(request: pytest.FixtureRequest, in_process: MockServer, served: Served) -> Iterator[MockSurface]:
    """The handle under test, fresh: a root reset to its seed, or a new sandbox. (Both servers are requested here,
    not looked up by mode: the leak check's snapshot is taken after the session's fixtures are set up.)"""
    mode: str = request.param
    root: MockSurface = in_process if mode.startswith("in-process") else RemoteServer(served.base_url, timeout=30)
    before = {s["name"] for s in root.list_sandboxes()}
    if mode.endswith("sandbox"):
        handle = root.create_sandbox()
    else:
        handle = root
        seed = _seed_of(root)
        root.reset()
    try:
        yield handle
    finally:
        if handle is root:
            root.seed(seed, persist=True)
            root.reset()
        for name in {s["name"] for s in root.list_sandboxes()} - before:  # the test's own and what it created
            root.delete_sandbox(name)


def _seed_of(root: MockSurface) -> list[dict[str, Any]]:
    """The records the root's reset restores (``GET /_mock/seed``, read the same way in every mode)."""
    seed: list[dict[str, Any]] = RemoteServer(root.base_url).admin(routes.GET_SEED)
    return seed


@pytest.fixture
def mode(surface: MockSurface, request: pytest.FixtureRequest) -> str:
    """The name of the current ``surface`` parameter."""
    name: str = request.node.callspec.params["surface"]
    return name
