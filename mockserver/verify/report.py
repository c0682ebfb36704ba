"""``cxmock verify``'s outputs: the side-by-side table (text), JSON and JUnit XML (one test case per step, a
failure per differing step), for a nightly CI job against staging. Shapes and statuses only: no value, so no
record, token or password, is ever in a report."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET  # nosec B405 - writes XML, parses none
from importlib import metadata
from typing import Any

from ..core.drift.shapes import Answer, shape
from .scenario import VerifyResult

__all__ = ["junit", "table", "to_json"]


def _short(answer: Answer | None) -> str:
    if answer is None:
        return "-"
    node = shape(answer.body)
    if node is None:
        kind = "empty"
    elif isinstance(node, dict):
        kind = f"object({len(node)} members)"
    elif isinstance(node, list):
        inner = node[0] if node else None
        kind = f"array of {len(inner)}-member objects" if isinstance(inner, dict) else "array"
    else:
        kind = str(node)
    return f"{answer.status} {kind}"


def _version() -> str:
    try:
        return metadata.version("cxmock")
    except metadata.PackageNotFoundError:  # pragma: no cover - a source tree without metadata
        return "unknown"


def table(result: VerifyResult) -> str:
    """The side-by-side table, the differences under it, and the verdict line."""
    rows = [("step", "service", "mock (cxmock " + _version() + ")", "verdict")]
    rows += [(o.step, _short(o.service), _short(o.mock), o.verdict) for o in result.outcomes]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = [f"cxmock verify: {result.upstream} against the in-process mock"]
    if not result.outcomes:
        return "\n".join([*lines, verdict_line(result)])
    lines += ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows]
    details = [o for o in result.outcomes if o.differences or o.note]
    if details:
        lines.append("")
        for outcome in details:
            for difference in outcome.differences:
                lines.append(f"  {outcome.step}: {difference}")
            if outcome.note:
                lines.append(f"  {outcome.step}: {outcome.note}")
    lines.append("")
    lines.append(verdict_line(result))
    return "\n".join(lines)


def verdict_line(result: VerifyResult) -> str:
    if result.error is not None:
        return f"cxmock verify: exit 2: {result.error}"
    if result.differing:
        names = ", ".join(o.step for o in result.differing)
        return (
            f"cxmock verify: exit 1: the service and the mock differ at {names}. If the service is right, please "
            "send us this report (docs/fidelity.md, 'How to send us a verify report')."
        )
    writes = "" if result.allow_writes else " (read-only; --allow-writes adds create, update, testconnection, delete)"
    return f"cxmock verify: exit 0: the service and the mock agree on every step{writes}"


def to_dict(result: VerifyResult) -> dict[str, Any]:
    return {
        "upstream": result.upstream,
        "cxmock": _version(),
        "allowWrites": result.allow_writes,
        "exitCode": result.exit_code,
        "error": result.error,
        "steps": [o.to_dict() for o in result.outcomes],
    }


def to_json(result: VerifyResult) -> str:
    return json.dumps(to_dict(result), indent=2)


def junit(result: VerifyResult) -> str:
    """JUnit XML: a test case per step (``failure`` when it differs, ``skipped`` when skipped); an unreachable
    service or refused login is one ``error`` case."""
    suite = ET.Element("testsuite", name=f"cxmock verify {result.upstream}")
    for o in result.outcomes:
        case = ET.SubElement(suite, "testcase", classname="cxmock.verify", name=o.step)
        if o.verdict == "differ":
            failure = ET.SubElement(case, "failure", message=o.differences[0])
            failure.text = "\n".join(o.differences)
        elif o.verdict == "skipped":
            ET.SubElement(case, "skipped", message=o.note)
    if result.error is not None:
        case = ET.SubElement(suite, "testcase", classname="cxmock.verify", name="upstream")
        ET.SubElement(case, "error", message=result.error)
    suite.set("tests", str(len(suite)))
    suite.set("failures", str(len(result.differing)))
    suite.set("errors", "1" if result.error is not None else "0")
    suite.set("skipped", str(sum(1 for o in result.outcomes if o.verdict == "skipped")))
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suite, encoding="unicode") + "\n"
