"""The cxmock pytest plugin (registered through the ``pytest11`` entry point: installing cxmock is enough).

Fixtures:

- ``cxmock_server`` (session): one :class:`~mockserver.MockServer` on ephemeral ports for the whole session
  (each pytest-xdist worker gets its own), or a :class:`~mockserver.remote.server.RemoteServer` with ``--cxmock-url``:
  then in a fresh sandbox of that server of its own (each xdist worker too), deleted at the end of the session, so
  many workers and pipelines share one server without seeing each other (``--cxmock-sandbox``).
- ``cxmock`` (function): the same server, reset to its seed (faults, journal and mail cleared) *before* the test;
  applies ``@pytest.mark.cxmock(seed=[...], faults=[...], **options)``: ``options`` are the server options a
  running server can change for one test (``token_lifetime=1``, ``strict=True``...: the fields declared
  ``runtime=True`` on :class:`~mockserver.config.Config`, ``Config.runtime_options()``), converted like every other
  source (``strict="false"`` is ``False``); any other is refused with a message naming it.
- ``smtp_sink``: the server's SMTP sink (``messages``, ``wait_for``, ``clear``), after the same reset.

Options: ``--cxmock-url URL`` (ini ``cxmock_url``) runs the same tests against an already running server or
container; ``--cxmock-strict SEVERITY`` fails a test whose requests produced contract violations at or above
SEVERITY (info, warning, error); ini ``cxmock_seed`` / ``cxmock_users`` configure the in-process server.
A failing test that used cxmock gets a report section: its requests with status, reason, faults and lint notes, and
its captured mail; with ``--cxmock-url`` a dashboard link to its sandbox, kept as the test left it (later tests move
to a fresh one) so the link outlives the session. An unreachable ``--cxmock-url`` is one usage error, before any test.

Importing this module (pytest does, for every session, once cxmock is installed) imports nothing of the server:
flask, aiosmtpd and cryptography are imported by the first fixture that needs them, so a session that uses none
pays nothing (``python -m bench --only plugin`` measures it).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from mockserver.core.lint.lint import SEVERITIES

if TYPE_CHECKING:
    from mockserver.remote.server import RemoteServer
    from mockserver.runtime.server import MockServer

    AnyServer = MockServer | RemoteServer

_JOURNAL_TAIL = 15
#: what the marker takes besides the runtime options of the server
_MARKER_KEYS = ("seed", "faults")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("cxmock", "cxmock mock server")
    group.addoption(
        "--cxmock-url",
        default=None,
        help="base URL of a running cxmock server (e.g. the container) to use instead of an in-process one",
    )
    group.addoption(
        "--cxmock-strict",
        default=None,
        choices=SEVERITIES,
        help="fail a test whose requests produced contract violations at or above this severity",
    )
    group.addoption("--cxmock-admin-token", default=None, help="admin token of the server given by --cxmock-url")
    group.addoption(
        "--cxmock-sandbox",
        default="auto",
        help="with --cxmock-url: 'auto' (default) works in a fresh sandbox per session/xdist worker, deleted at the "
        "end; 'none' at the server's root (shared state: one session at a time); NAME in that sandbox (kept)",
    )
    parser.addini("cxmock_url", "base URL of a running cxmock server", default="")
    parser.addini("cxmock_seed", "seed for the in-process server: default, none or a file path", default="default")
    parser.addini("cxmock_users", "users file for the in-process server", default="")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "cxmock(seed=None, faults=None, **options): seed records, fault rules and server options for this test's "
        "cxmock server (those a running server can change: mockserver.config.Config.runtime_options())",
    )
    url = config.getoption("cxmock_url", None) or config.getini("cxmock_url")
    if url and not hasattr(config, "workerinput") and not config.option.collectonly and not config.option.help:
        problem = _unreachable(url)
        if problem:  # one sentence, once, before any test: not a traceback per test (#25)
            raise pytest.UsageError(problem)


def _unreachable(url: str) -> str | None:
    """Why the server at ``url`` cannot be used (one sentence), or None when it answers HTTP at all."""
    import urllib.error
    import urllib.parse
    import urllib.request

    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        return f"--cxmock-url must be an http:// or https:// URL, got {url!r}"
    try:
        # bandit B310: the scheme is http(s), checked above
        with urllib.request.urlopen(url.rstrip("/") + "/_mock/health", timeout=10):  # noqa: S310  # nosec B310
            return None
    except urllib.error.HTTPError:
        return None  # it answers (a 401 behind --admin-token is the fixture's to explain)
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return (
            f"cxmock: no server answers at --cxmock-url {url} ({reason}): start it there (cxmock serve, or the "
            "container) and wait until `cxmock check --url URL` passes, or fix the URL"
        )


@pytest.fixture(scope="session")
def cxmock_server(pytestconfig: pytest.Config) -> Iterator[AnyServer]:
    """One cxmock server for the session: in-process on ephemeral ports, or the one at ``--cxmock-url``."""
    url = pytestconfig.getoption("cxmock_url") or pytestconfig.getini("cxmock_url")
    if url:
        yield from _remote_server(url, pytestconfig)
        return
    from mockserver.runtime.server import MockServer

    options: dict[str, Any] = {"seed": pytestconfig.getini("cxmock_seed") or "default"}
    users = pytestconfig.getini("cxmock_users")
    if users:
        options["users"] = users
    server = MockServer(**options)
    try:
        yield server
    finally:
        server.stop()


def _remote_server(url: str, pytestconfig: pytest.Config) -> Iterator[RemoteServer]:
    """The server at ``url``, in this session's own sandbox (``--cxmock-sandbox``; see the module docstring)."""
    from mockserver.remote.http import _HttpError  # here, not at the top: an unused plugin imports nothing (#16)
    from mockserver.remote.server import RemoteServer

    root = RemoteServer(url, admin_token=pytestconfig.getoption("cxmock_admin_token"))
    choice = pytestconfig.getoption("cxmock_sandbox") or "auto"
    if choice == "none":
        yield root
        return
    if choice != "auto":
        yield root.sandbox(choice, create=True)  # created through the admin API when missing, then kept
        return
    try:
        server = _fresh_sandbox(root)
    except _HttpError as exc:
        if exc.status not in (404, 405):
            raise
        # a cxmock without sandboxes: its root, as before (tests of parallel workers then share its state)
        yield root
        return
    _AUTO_SANDBOX.add(id(server))
    try:
        yield server
    finally:
        _AUTO_SANDBOX.discard(id(server))
        try:
            server.delete_sandbox()  # the current one; those of failed tests are kept for their reports' links
        except _HttpError:
            pass  # expired or deleted meanwhile: nothing left to clean


#: ids of the session servers working in a sandbox of their own (``auto``): a failing test's sandbox is kept
_AUTO_SANDBOX: set[int] = set()


def _fresh_sandbox(root: RemoteServer) -> RemoteServer:
    """A new sandbox of a random name for this session (or xdist worker), created through the admin API (a plain
    request never creates one), under its own prefix (so a router that hashes ``/sandbox/<name>`` reaches one
    replica)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    return root.create_sandbox(f"pytest-{worker}-{secrets.token_hex(4)}")


def _keep_and_move_on(server: RemoteServer) -> str:
    """Leave ``server``'s sandbox as the failed test left it (its journal and mail, for the report's link) and
    point the session's handle at a fresh sandbox for the tests that follow. Returns what the report says."""
    kept = server.base_url
    fresh = _fresh_sandbox(server)  # sandbox() builds on the server's root URL, whatever the handle's sandbox
    # the same handle (fixtures and the test module hold it) now works in the fresh sandbox: its URLs and its
    # cached tokens (a sandbox's tokens work only there) become the fresh handle's; its faults and sink follow it
    for key, value in vars(fresh).items():
        if key not in ("faults", "sink"):
            setattr(server, key, value)
    return (
        f"dashboard: {kept}/_mock/ui/#requests  (this sandbox is kept as the test left it, with its journal and "
        "mail, until unused for the server's --sandbox-idle-timeout; the next tests run in a fresh one)"
    )


@pytest.fixture
def cxmock(cxmock_server: AnyServer, request: pytest.FixtureRequest) -> Iterator[AnyServer]:
    """The session server reset to its seed before this test (faults, journal, mail cleared); marker applied."""
    cxmock_server.reset()
    marker = request.node.get_closest_marker("cxmock")
    options = _marker_options(marker, cxmock_server) if marker is not None else {}
    if marker is not None:
        seed = marker.kwargs.get("seed")
        if seed is not None:
            cxmock_server.seed(seed, persist=False)
        for fault in marker.kwargs.get("faults") or []:
            if isinstance(fault, str):
                cxmock_server.faults.preset(fault)
            else:
                cxmock_server.faults.add(fault)
    if options:
        with cxmock_server.override(**options):  # type: ignore[union-attr]  # MockServer: _marker_options checked
            yield cxmock_server
    else:
        yield cxmock_server
    cxmock_server.check()


def _marker_options(marker: pytest.Mark, server: AnyServer) -> dict[str, Any]:
    """The server options of ``@pytest.mark.cxmock(...)``; a usage error names anything it cannot apply."""
    from mockserver.config import Config, suggest
    from mockserver.errors import ConfigError
    from mockserver.runtime.server import MockServer

    where = "@pytest.mark.cxmock"
    if marker.args:
        pytest.fail(
            f"{where} takes keyword arguments only (seed=, faults=, or server options), got {marker.args!r}",
            pytrace=False,
        )
    options = {k: v for k, v in marker.kwargs.items() if k not in _MARKER_KEYS}
    runtime = Config.runtime_options()
    accepted = [*_MARKER_KEYS, *runtime]
    unknown = [k for k in options if k not in Config.option_names()]
    fixed = [k for k in options if k in Config.option_names() and k not in runtime]
    problems = [f"unknown option {k!r}{suggest(k, accepted)}" for k in unknown]
    if fixed:
        problems.append(
            f"{', '.join(fixed)} cannot change for one test (fixed when the server starts: set it for the session "
            "with the ini options cxmock_seed/cxmock_users, or override the cxmock_server fixture)"
        )
    if problems:
        pytest.fail(f"{where}: {'; '.join(problems)}. It accepts: {', '.join(accepted)}", pytrace=False)
    if options and not isinstance(server, MockServer):
        pytest.fail(
            f"{where}({', '.join(f'{k}=...' for k in options)}): server options apply to the in-process server only; "
            "with --cxmock-url set them on the server you started (flags or CXMOCK_* variables)",
            pytrace=False,
        )
    if options and isinstance(server, MockServer):
        try:  # the one conversion every source goes through: a value that cannot be fails here, naming the option
            server.config.replace(**options)
        except ConfigError as exc:
            pytest.fail(f"{where}: {exc}", pytrace=False)
    return options


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, Any, Any]:
    """``--cxmock-strict``: a test whose requests broke the contract fails, in its call phase (so the report
    section can still read the journal, even when it is the session's last test and the server stops next)."""
    result = yield
    strict = item.config.getoption("cxmock_strict")
    server = getattr(item, "funcargs", {}).get("cxmock")
    if strict and server is not None:
        server.assert_no_violations(min_severity=strict)
    return result


@pytest.fixture
def smtp_sink(cxmock: AnyServer) -> Any:
    """The SMTP sink of the (reset) server: ``messages``, ``wait_for(count=1, timeout=5.0, **filters)``."""
    return cxmock.sink


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if not report.failed:
        return
    funcargs = getattr(item, "funcargs", {})
    server = funcargs.get("cxmock") or funcargs.get("cxmock_server")
    if server is None:
        return
    try:
        section = _failure_section(server)
    except Exception as exc:  # noqa: BLE001 - a report section must never hide the real failure
        section = f"(could not read the cxmock journal: {exc})"
    if id(server) in _AUTO_SANDBOX and report.when == "call":
        try:
            section = _keep_and_move_on(server) + "\n" + section
        except Exception as exc:  # noqa: BLE001 - as above
            section = f"(the sandbox could not be kept for inspection: {exc})\n" + section
    elif _is_remote(server):
        section = f"dashboard: {server.base_url}/_mock/ui/#requests  (shared: later tests reset it)\n" + section
    else:
        section = (
            f"server: {server.base_url} (in-process: it stops with this session; what it saw is below)\n" + section
        )
    report.sections.append(("cxmock", section))


def _is_remote(server: AnyServer) -> bool:
    return type(server).__name__ == "RemoteServer"


def _failure_section(server: AnyServer) -> str:
    """This test's requests (the fixture reset the server before it) with status, reason, faults and lint notes,
    and the mail it captured."""
    entries = server.requests()
    shown = f", the last {_JOURNAL_TAIL} shown" if len(entries) > _JOURNAL_TAIL else ""
    lines = [f"requests of this test ({len(entries)}{shown}):"]
    for entry in entries[-_JOURNAL_TAIL:]:
        data = entry if isinstance(entry, dict) else entry.to_dict()
        lines.append(
            f"  #{data['id']} {data['method']} {data['path']} -> {data['status'] or 'no response'} "
            f"({data.get('operationId')})"
        )
        reason = _reason(data)
        if reason:
            lines.append(f"      reason: {reason}")
        for fault in data.get("faults") or []:
            stage = f" at SMTP {fault['stage']}" if fault.get("stage") else ""
            lines.append(f"      fault: {fault.get('name') or fault.get('ruleId')} ({fault.get('action')}{stage})")
        for v in data.get("violations") or []:
            lines.append(f"      lint {v['severity']}: {v['code']}: {v['message']}"[:300])
    if not entries:
        lines.append("  (none)")
    messages = server.sink.messages
    lines.append(f"captured mail ({len(messages)}):")
    for message in messages[-_JOURNAL_TAIL:]:
        data = message if isinstance(message, dict) else message.to_dict()
        cause = (data.get("testconnection") or {}).get("requestId")
        lines.append(
            f"  #{data['id']} from {data.get('mailFrom')} to {', '.join(data.get('rcptTos') or [])}: "
            f"{data.get('subject')!r}" + (f" (sent by testconnection #{cause})" if cause else "")
        )
    return "\n".join(lines)


def _reason(entry: dict[str, Any]) -> str | None:
    """What an error answer said (``message``, ``error_description``...), or the SMTP stage that failed."""
    status = entry.get("status")
    if status is not None and status < 400:
        return None
    body = entry.get("responseBody")
    if isinstance(body, dict):
        for key in ("message", "messageDetails", "error_description", "error"):
            if isinstance(body.get(key), str) and body[key]:
                return str(body[key])[:300]
    if status is None:
        return "no response (the connection was dropped, reset or left hanging)"
    return None
