"""Fixtures of the HTTP tests: one server per module, reset before each test that asks for ``mock``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mockserver.runtime.server import MockServer


@pytest.fixture(scope="module")
def shared() -> Iterator[MockServer]:
    """The module's server (started once: most tests here need a real socket, not a fresh server)."""
    with MockServer() as server:
        yield server


@pytest.fixture
def mock(shared: MockServer) -> MockServer:
    """The module's server, reset (seed, no rules, empty journal and mailbox) before the test."""
    shared.reset()
    return shared
