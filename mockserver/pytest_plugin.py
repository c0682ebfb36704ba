"""The cxmock pytest plugin (registered through the ``pytest11`` entry point: installing cxmock is enough).

Fixtures:

- ``cxmock_server`` (session): one :class:`~mockserver.MockServer` on ephemeral ports for the whole session.
- ``cxmock`` (function): the same server, reset to its seed (faults, journal and mail cleared) *before* the test.
- ``smtp_sink``: the server's SMTP sink (captured mail, ``wait_for``).

Options: ``--cxmock-url`` (or ini ``cxmock_url``) runs the same tests against an already running server;
ini ``cxmock_seed`` / ``cxmock_users`` configure the in-process server; marker
``@pytest.mark.cxmock(seed=[...], faults=[...])`` seeds and arms faults for one test.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from mockserver.server import MockServer


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("cxmock", "cxmock mock server")
    group.addoption(
        "--cxmock-url",
        default=None,
        help="base URL of a running cxmock server to use instead of starting one in-process",
    )
    parser.addini("cxmock_url", "base URL of a running cxmock server", default="")
    parser.addini("cxmock_seed", "seed for the in-process server: default, none or a file path", default="default")
    parser.addini("cxmock_users", "users file for the in-process server", default="")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "cxmock(seed=None, faults=None): seed records and fault rules for this test's cxmock server"
    )


@pytest.fixture(scope="session")
def cxmock_server(pytestconfig: pytest.Config) -> Iterator[MockServer]:
    """One in-process cxmock server for the session (HTTP + SMTP on ephemeral ports)."""
    options: dict[str, Any] = {"seed": pytestconfig.getini("cxmock_seed") or "default"}
    users = pytestconfig.getini("cxmock_users")
    if users:
        options["users"] = users
    server = MockServer(**options)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def cxmock(cxmock_server: MockServer, request: pytest.FixtureRequest) -> Iterator[MockServer]:
    """The session server, reset to its seed before this test; applies ``@pytest.mark.cxmock``."""
    cxmock_server.reset()
    marker = request.node.get_closest_marker("cxmock")
    if marker is not None:
        seed = marker.kwargs.get("seed")
        if seed is not None:
            cxmock_server.seed(seed)
    yield cxmock_server
    cxmock_server.check()
