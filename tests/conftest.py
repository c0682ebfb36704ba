"""Shared fixtures of the cxmock test suite, and an autouse leak check every test runs under.

The leak check (after flask's ``leak_detector``) fails a test that leaves a thread alive or a file descriptor open
that was not there when the test started. Threads and descriptors owned by fixtures of a wider scope (session,
module) are set up before the check takes its snapshot and torn down after it, so they never count. A test that failed
is not also reported as leaking (its traceback keeps its objects alive). Mark a test
``@pytest.mark.no_leak_check`` only when it deliberately hands a resource to a later test.

Fixtures:

- ``server``: a running :class:`~mockserver.runtime.server.MockServer` (function scope, stopped afterwards);
  ``make_server(**options)`` builds more, with config overrides, all stopped at teardown.
- ``client``: a Flask test client over ``create_app(State.from_config(Config()))`` (no sockets, no threads);
  ``app_state`` is its state, ``make_app(clock=..., **options)`` builds another app.
- ``admin_token``, ``token_for(username, password, scope=...)`` and ``headers`` (Bearer + ``v=1.0`` Accept and
  Content-Type), all for ``client``'s state.

Response self-check: the whole suite runs with ``validate_responses`` on (``Config``'s default is switched for the
session, so every ``MockServer``, ``Config()`` and app of a test validates its own responses against the OpenAPI
document), and the autouse ``response_mismatches`` fixture fails any test during which a response broke the
document. A test that provokes a mismatch on purpose asserts on that list and clears it.
"""

from __future__ import annotations

import gc
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from mockserver.config import Config, suite_defaults
from mockserver.core.contract import JSON_V1
from mockserver.core.identity.identity import password_grant
from mockserver.core.state import State
from mockserver.http import create_app
from mockserver.runtime.server import MockServer

#: how long a test's threads get to finish, and its descriptors to close, after its teardown
LEAK_GRACE_SECONDS = 5.0

_FD_DIR = "/proc/self/fd"
_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "no_leak_check: skip the autouse thread/file-descriptor leak check for this test"
    )


# -- the quick tier ------------------------------------------------------------------------------------------
#: folders whose every test belongs to the full suite only (``pytest -m "not slow"`` skips them): the hostile
#: corpora, the schemathesis runs, the real-browser and real-client tests, the multi-process router test
SLOW_FOLDERS = ("stress", "contract", "browser", "sdk", "deploy")
#: modules whose tests each start a ``cxmock serve`` child or a pytester run of a whole suite
SLOW_MODULES = ("test_pytest_plugin.py", "test_pytest_plugin_usage.py", "test_cli_serve.py", "test_logging.py")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark ``slow`` every test under :data:`SLOW_FOLDERS` and in :data:`SLOW_MODULES`; single slow tests elsewhere
    carry the marker themselves."""
    tests_root = Path(__file__).parent
    for item in items:
        try:
            folder = item.path.relative_to(tests_root).parts[0]
        except ValueError:
            continue
        if folder in SLOW_FOLDERS or item.path.name in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)


# -- leak check ----------------------------------------------------------------------------------------------


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Remember each phase's report on the item, so the leak check can tell whether the test itself failed."""
    report = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    return report


def _open_fds() -> dict[int, str]:
    """Open descriptors of this process and what they point to (empty where /proc is unavailable)."""
    out: dict[int, str] = {}
    try:
        names = os.listdir(_FD_DIR)
    except OSError:
        return out
    for name in names:
        try:
            out[int(name)] = os.readlink(f"{_FD_DIR}/{name}")
        except (OSError, ValueError):
            continue  # the descriptor listdir itself used, or one closed meanwhile
    return out


def _join_new_threads(before: set[threading.Thread], deadline: float) -> list[threading.Thread]:
    """Join the threads started since ``before`` until ``deadline``; the ones still alive."""
    while True:
        leftover = [t for t in threading.enumerate() if t not in before and t.is_alive()]
        remaining = deadline - time.monotonic()
        if not leftover or remaining <= 0:
            return leftover
        for thread in leftover:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))


def _extra_fds(before: dict[int, str], deadline: float) -> dict[int, str]:
    """Descriptors opened since ``before`` that stay open until ``deadline`` (garbage is collected first)."""
    idle = threading.Event()  # never set: its wait() is the bounded pause between polls
    while True:
        now = _open_fds()
        extra = {fd: target for fd, target in now.items() if before.get(fd) != target}
        if len(now) <= len(before) or time.monotonic() >= deadline:
            return extra if len(now) > len(before) else {}
        gc.collect()
        idle.wait(0.02)


@pytest.fixture(autouse=True)
def _leak_check(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail a test that leaves extra threads alive or file descriptors open once its fixtures are torn down."""
    if request.node.get_closest_marker("no_leak_check"):
        yield
        return
    request.node.stash[_REPORTS] = {}
    threads_before = set(threading.enumerate())
    fds_before = _open_fds()
    yield
    call = request.node.stash[_REPORTS].get("call")
    if call is None or call.failed or hasattr(call, "wasxfail"):
        return  # the test failed already: its traceback keeps its objects (and their sockets) alive, no extra noise
    deadline = time.monotonic() + LEAK_GRACE_SECONDS
    problems = []
    leftover = _join_new_threads(threads_before, deadline)
    if leftover:
        problems.append("threads still alive: " + ", ".join(sorted(t.name for t in leftover)))
    extra = _extra_fds(fds_before, deadline)
    if extra:
        shown = ", ".join(f"{fd} -> {target}" for fd, target in sorted(extra.items())[:10])
        problems.append(f"{len(extra)} file descriptor(s) left open: {shown}")
    if problems:
        pytest.fail(
            "leak check: the test left resources behind after its teardown (" + "; ".join(problems) + "). "
            "Stop servers, close responses, sessions and sockets, and join threads in the test or its fixtures.",
            pytrace=False,
        )


# -- response self-check --------------------------------------------------------------------------------------


@pytest.fixture(scope="session", autouse=True)
def _validate_responses_by_default() -> Iterator[None]:
    """Switch ``Config.validate_responses``'s default to True for the session (the product default stays off)."""
    with suite_defaults(validate_responses=True):
        yield


class _MismatchLog(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture(autouse=True)
def response_mismatches() -> Iterator[list[str]]:
    """The self-check's mismatch messages logged during this test; the test fails if any is left at teardown."""
    handler = _MismatchLog()
    logger = logging.getLogger("cxmock.selfcheck")
    logger.addHandler(handler)
    try:
        yield handler.messages
    finally:
        logger.removeHandler(handler)
    if handler.messages:
        shown = "\n  ".join(handler.messages[:10])
        pytest.fail(
            f"cxmock answered {len(handler.messages)} response(s) that break openapi/cxmock.yaml "
            f"(--validate-responses):\n  {shown}\nFix the app or the document (tests/http/test_drift.py, "
            "tests/contract/).",
            pytrace=False,
        )


# -- live servers ----------------------------------------------------------------------------------------------


@pytest.fixture
def make_server() -> Iterator[Callable[..., MockServer]]:
    """Factory of running MockServers (``make_server(strict=True)``); every one is stopped at teardown."""
    started: list[MockServer] = []

    def make(**options: Any) -> MockServer:
        server = MockServer(**options)
        started.append(server)
        return server

    yield make
    for server in reversed(started):
        server.stop()


@pytest.fixture
def server(make_server: Callable[..., MockServer]) -> MockServer:
    """A running MockServer with the default configuration, on ephemeral ports, stopped after the test."""
    return make_server()


# -- Flask test client (no sockets) ----------------------------------------------------------------------------


@pytest.fixture
def make_app() -> Callable[..., tuple[State, Flask]]:
    """``make_app(clock=None, **config_options) -> (state, app)``: an app over a fresh state, for odd configs."""

    def make(clock: Callable[[], float] | None = None, **options: Any) -> tuple[State, Flask]:
        config = Config(**options)
        state = State.from_config(config, clock=clock) if clock is not None else State.from_config(config)
        app = create_app(state)
        app.testing = True
        return state, app

    return make


@pytest.fixture
def _app_pair(make_app: Callable[..., tuple[State, Flask]]) -> tuple[State, Flask]:
    return make_app()


@pytest.fixture
def app_state(_app_pair: tuple[State, Flask]) -> State:
    """The state behind ``client``."""
    return _app_pair[0]


@pytest.fixture
def app(_app_pair: tuple[State, Flask]) -> Flask:
    """The Flask app behind ``client``: ``create_app(State.from_config(Config()))``."""
    return _app_pair[1]


@pytest.fixture
def client(app: Flask) -> Iterator[FlaskClient]:
    """A Flask test client over the default app (default seed, default users)."""
    with app.test_client() as test_client:
        yield test_client


def issue_token(
    state: State, username: str = "admin", password: str = "admin", scope: str = "access_control_api"
) -> str:
    form = password_grant(username, password, scope=scope, client_secret=state.config.client_secret)
    token: str = state.identity.issue(form)["access_token"]
    return token


@pytest.fixture
def token_for(app_state: State) -> Callable[..., str]:
    """``token_for(username="admin", password="admin", scope="access_control_api")``: a token of ``client``'s app."""

    def make(username: str = "admin", password: str = "admin", scope: str = "access_control_api") -> str:
        return issue_token(app_state, username, password, scope)

    return make


@pytest.fixture
def admin_token(token_for: Callable[..., str]) -> str:
    """A token of ``admin`` (who may manage system settings) for ``client``'s app."""
    return token_for()


@pytest.fixture
def headers(admin_token: str) -> dict[str, str]:
    """Admin Bearer token, ``Accept`` and ``Content-Type`` ``application/json;v=1.0``, for ``client``."""
    return {"Authorization": f"Bearer {admin_token}", "Accept": JSON_V1, "Content-Type": JSON_V1}
