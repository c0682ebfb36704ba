"""The reference page of the Python objects (issue #25, row 7): ``scripts/build-reference`` builds it from the
docstrings with pdoc, and it says what is a property and what is a method (``smtp_sink.messages``, not
``messages()``), so nobody has to guess. Skipped, saying so, without pdoc (``pip install -e '.[test]'`` has it)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytest.importorskip("pdoc", reason="the reference is built with pdoc: pip install pdoc (in the test extra)")


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("bash") is None:
        pytest.skip("scripts/build-reference is a bash script")
    out = tmp_path_factory.mktemp("reference")
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "build-reference"), str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "PYTHON": sys.executable},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return out


def test_the_reference_documents_the_public_objects(reference: Path) -> None:
    package = (reference / "mockserver.html").read_text(encoding="utf-8")
    for name in ("MockServer", "RemoteServer", "Config", "CapturedMessage", "JournalEntry", "SmtpTestFailed"):
        assert f'id="{name}"' in package, name
    assert (reference / "mockserver" / "pytest_plugin.html").exists()
    assert (reference / "mockserver" / "remote.html").exists()
    assert "index.html" in {p.name for p in reference.iterdir()}


def _member(page: str, anchor: str) -> str:
    start = page.index(f'id="{anchor}"')
    return page[start : start + 800]


def test_the_reference_tells_a_property_from_a_method(reference: Path) -> None:
    surface = (reference / "mockserver" / "core" / "surface.html").read_text(encoding="utf-8")
    messages = _member(surface, "MailSink.messages")
    assert 'class="attr variable"' in messages and '<span class="def">def</span>' not in messages
    wait_for = _member(surface, "MailSink.wait_for")
    assert re.search(r'<span class="def">def</span>\s*<span class="name">wait_for</span>', wait_for)
    assert "not ``sink.messages()``" in messages or "sink.messages()" in surface
