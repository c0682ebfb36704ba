"""What cxmock costs a pytest session (#16 item 18).

- pytest start with cxmock installed and unused, against the same session with the plugin blocked
  (``-p no:cxmock``: pytest then never imports it, as if it were not installed). Same interpreter, same other
  plugins, same one trivial test; runs alternate. The judged figure is CPU time (user + system of the child), which
  hardly depends on other load on the machine; wall time is shown beside it. Target: ratio <= 1.05.
- ``import mockserver`` in a fresh process (the public names load on first use), against importing what
  ``import mockserver`` pulled in before #16 (``mockserver.runtime.server``: flask, aiosmtpd, cryptography...).
- The ``cxmock`` fixture per session: a session whose one test uses ``cxmock`` (the server starts, resets, stops)
  against the same session whose test uses no fixture.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ._common import Mode, Row, median, python_env, row

SECTION = "pytest plugin and imports (bench/bench_plugin.py)"

PLAIN_TEST = "def test_plain():\n    assert True\n"
FIXTURE_TEST = "def test_with_server(cxmock):\n    assert cxmock.base_url\n"
#: plugins of the development environment that have nothing to do with cxmock (they make every start slower)
QUIET = ["-p", "no:cacheprovider", "-p", "no:schemathesis", "-p", "no:hypothesispytest"]

IMPORT_CHILD = """\
import time
t0 = time.perf_counter()
import {module}
print(time.perf_counter() - t0)
"""


def _child_times(argv: list[str], cwd: str) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one child process run to completion."""
    before = os.times()
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=python_env(), capture_output=True, text=True, timeout=300, check=False)
    wall = time.perf_counter() - start
    after = os.times()
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    return wall, cpu


def pytest_start(mode: Mode) -> list[Row]:
    runs = 1 if mode.quick else 9
    pytest_argv = [sys.executable, "-m", "pytest", "-q", *QUIET]
    with tempfile.TemporaryDirectory(prefix="cxmock-bench-plugin-") as tmp:
        Path(tmp, "test_plain.py").write_text(PLAIN_TEST, encoding="utf-8")
        Path(tmp, "test_fixture.py").write_text(FIXTURE_TEST, encoding="utf-8")
        plain = [*pytest_argv, "test_plain.py"]
        fixture = [*pytest_argv, "test_fixture.py"]
        _child_times(plain, tmp)  # warm the page cache and the bytecode of both
        _child_times([*plain, "-p", "no:cxmock"], tmp)
        installed, blocked, with_fixture = [], [], []
        for _ in range(runs):
            installed.append(_child_times(plain, tmp))
            blocked.append(_child_times([*plain, "-p", "no:cxmock"], tmp))
            with_fixture.append(_child_times(fixture, tmp))
    cpu_installed, cpu_blocked = [c for _, c in installed], [c for _, c in blocked]
    wall_installed, wall_blocked = [w for w, _ in installed], [w for w, _ in blocked]
    wall_fixture = [w for w, _ in with_fixture]
    return [
        row(
            "pytest start, cxmock installed and unused: CPU time of a one-test session",
            "s",
            cpu_installed,
            section=SECTION,
            baseline=cpu_blocked,
            baseline_name="the same session with the plugin blocked (-p no:cxmock: not imported, as if not installed)",
            target=1.05,
            target_kind="ratio_max",
            detail=f"wall time {median(wall_installed) * 1000:.0f} ms vs {median(wall_blocked) * 1000:.0f} ms "
            f"(ratio {median(wall_installed) / median(wall_blocked):.2f}; wall time moves with the machine's load)",
        ),
        row(
            "the `cxmock` fixture per session: one-test session using it, wall time",
            "s",
            wall_fixture,
            section=SECTION,
            baseline=wall_installed,
            baseline_name="the same session, its test using no fixture",
            detail=f"cost of the fixture per session (server start, reset, stop, imports): "
            f"{(median(wall_fixture) - median(wall_installed)) * 1000:.0f} ms",
        ),
    ]


def import_time(mode: Mode) -> list[Row]:
    runs = 1 if mode.quick else 9
    lazy: list[float] = []
    eager: list[float] = []
    for _ in range(runs + 1):  # the first pair warms the bytecode cache and is dropped
        for module, out in (("mockserver", lazy), ("mockserver.runtime.server", eager)):
            done = subprocess.run(
                [sys.executable, "-c", IMPORT_CHILD.format(module=module)],
                env=python_env(),
                capture_output=True,
                text=True,
                timeout=120,
                check=True,
            )
            out.append(float(done.stdout.strip()))
    lazy, eager = lazy[1:], eager[1:]
    return [
        row(
            "`import mockserver` in a fresh process (public names load on first use)",
            "ms",
            [v * 1000 for v in lazy],
            section=SECTION,
            baseline=[v * 1000 for v in eager],
            baseline_name="`import mockserver.runtime.server` (what `import mockserver` imported before #16)",
        )
    ]
