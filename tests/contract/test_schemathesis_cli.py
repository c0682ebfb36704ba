"""The README's schemathesis command, run as users run it, against a live ``MockServer``.

``schemathesis run openapi/cxmock.yaml --url <api_url> --checks all`` with every phase (examples, coverage,
fuzzing, stateful) and the repository's ``schemathesis.toml`` (auth from the token endpoint, Location-header link
inference) must exit 0. The run is bounded (``--max-examples``, a fixed ``--seed``, a subprocess timeout) and still
generates more than ``MIN_CASES`` cases; its JUnit and NDJSON reports prove that the stateful phase ran and chained
``POST /SMTPSettings`` (201, ``Location``) into GET, PUT and DELETE of the created record. The server validates
its own responses meanwhile, so a response that breaks the document fails the test too (tests/conftest.py).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

from mockserver.runtime.server import MockServer

ROOT = Path(__file__).resolve().parents[2]
MAX_EXAMPLES = 80
SEED = 20260601
MIN_CASES = 1000
TIMEOUT_SECONDS = 420

CREATE = "POST /SMTPSettings -> [201]"
CHAINED = ("GET /SMTPSettings/{id}", "PUT /SMTPSettings/{id}", "DELETE /SMTPSettings/{id}")


def run_schemathesis(api_url: str, report_dir: Path) -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(ROOT / "schemathesis.toml"),
        "run",
        "openapi/cxmock.yaml",
        "--url",
        api_url,
        "--checks",
        "all",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        str(SEED),
        "--report",
        "junit,ndjson",
        "--report-dir",
        str(report_dir),
        "--request-timeout",
        "30",
    ]
    env = {**os.environ, "NO_COLOR": "1", "SCHEMATHESIS_TELEMETRY": "false"}
    return subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False
    )


def stateful_transitions(ndjson: Path) -> Counter[tuple[str, int]]:
    """``(transition id, response status)`` of every step the stateful phase took along a link."""
    seen: Counter[tuple[str, int]] = Counter()
    for line in ndjson.read_text(encoding="utf-8").splitlines():
        event = json.loads(line).get("ScenarioFinished")
        if not event or event["phase"] != "stateful":
            continue
        recorder = event["recorder"]
        for case_id, case in recorder.get("cases", {}).items():
            transition = case.get("transition")
            response = (recorder.get("interactions", {}).get(case_id) or {}).get("response")
            if transition and case.get("is_transition_applied") and response:
                seen[(transition["id"], response["status_code"])] += 1
    return seen


def test_the_readme_command_finds_nothing(tmp_path: Path) -> None:
    with MockServer(validate_responses=True) as server:
        result = run_schemathesis(server.api_url, tmp_path)
        server.check()
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"schemathesis exited {result.returncode}:\n{output[-8000:]}"
    assert "No issues found" in output, output[-4000:]
    for phase in ("Examples", "Coverage", "Fuzzing", "Stateful"):
        assert re.search(rf"✅\s+{phase} \(in ", output), f"the {phase} phase did not pass:\n{output[-4000:]}"

    generated = int(re.search(r"(\d+) generated", output).group(1))  # type: ignore[union-attr]
    print(f"\nschemathesis generated {generated} cases")
    assert generated >= MIN_CASES, output[-4000:]

    (junit,) = tmp_path.glob("junit-*.xml")
    cases = {case.get("name"): case for case in ET.parse(junit).getroot().iter("testcase")}
    assert "Stateful tests" in cases, sorted(map(str, cases))
    assert not [child.tag for child in cases["Stateful tests"]], "the stateful phase reported a failure or error"
    assert len(cases) == 10  # the 9 operations (PUT /MyProfile since #22) + the stateful phase

    (ndjson,) = tmp_path.glob("ndjson-*.ndjson")
    steps = stateful_transitions(ndjson)
    for target in CHAINED:
        ok = sum(
            n
            for (transition, status), n in steps.items()
            if transition.startswith(CREATE) and transition.endswith(target) and 200 <= status < 300
        )
        assert ok, f"no successful chain {CREATE} -> {target}: {dict(steps)}"
    print(f"stateful chains from {CREATE}: {sum(n for (t, _), n in steps.items() if t.startswith(CREATE))} steps")
