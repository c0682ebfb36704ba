"""An integrator's suite that counts journal entries passes with and without ``--cxmock-url``, under
``pytest -n 4`` (#21's acceptance): ``integrator_suite.py`` run in real pytest sessions (pytester, subprocesses)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mockserver import RemoteServer

pytest_plugins = ["pytester"]

SUITE = Path(__file__).with_name("integrator_suite.py")
PASSED = 15  # the tests of integrator_suite.py


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    pytester.makepyfile(test_integrator=SUITE.read_text(encoding="utf-8"))
    # schemathesis and hypothesis are unrelated to these runs and make every subprocess start slower
    quiet = ("-p", "no:cacheprovider", "-p", "no:schemathesis", "-p", "no:hypothesispytest", "-p", "xdist")
    return pytester.runpytest_subprocess(*quiet, "-n", "4", *args, timeout=600)


@pytest.mark.slow
def test_the_counting_suite_passes_in_process_under_xdist(pytester: pytest.Pytester) -> None:
    result = _run(pytester)
    result.assert_outcomes(passed=PASSED)


@pytest.mark.slow
def test_the_counting_suite_passes_against_cxmock_serve_under_xdist(pytester: pytest.Pytester, served: Any) -> None:
    """``served``: the ``cxmock serve`` subprocess of ``conftest.py``."""
    root = RemoteServer(served.base_url)
    journal_before = len(root.requests())
    result = _run(pytester, f"--cxmock-url={served.base_url}")
    result.assert_outcomes(passed=PASSED)
    # each worker worked in a sandbox of its own and deleted it; the root saw none of it
    assert [s["name"] for s in root.list_sandboxes() if s["name"].startswith("pytest-")] == []
    assert len(root.requests()) == journal_before
