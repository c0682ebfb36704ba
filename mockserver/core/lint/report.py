"""Contract-lint reports: journaled violations turned into something a person or a CI system reads.

- ``summarize(entries)``: one row per code (what ``GET /_mock/violations`` answers).
- ``assert_no_violations(entries, min_severity="warning")``: the Python/pytest assertion.
- ``report_text``, ``report_json``, ``report_junit``: what ``cxmock report --format ...`` prints.

These functions accept journal entries (``core.journal_entry.JournalEntry``) or their ``to_dict()`` form, as
answered by ``GET /_mock/requests``, so a report can be built from a running server as well as in-process. The
violations themselves, their codes and severities are in ``core/lint/lint.py``.
"""

from __future__ import annotations

import json
import re

# bandit B405: used to build JUnit XML only; nothing here parses XML
import xml.etree.ElementTree as ET  # nosec B405
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, TypeAlias

from mockserver.errors import AssertionHelperError

from ..journal.entry import call_line
from .lint import CODES, SEVERITIES, Violation, severity_at_least, severity_rank

__all__ = [
    "assert_no_violations",
    "report_json",
    "report_junit",
    "report_text",
    "summarize",
]

# ----------------------------------------------------------------------------------------------------
# entries: journal entries or their JSON form


class _EntryLike(Protocol):
    """What the reports read from a ``core.journal_entry.JournalEntry`` (structural: any object with these will do)."""

    @property
    def id(self) -> int: ...
    @property
    def method(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def status(self) -> int | None: ...
    @property
    def operation_id(self) -> str | None: ...
    @property
    def violations(self) -> Sequence[Violation]: ...


#: a ``JournalEntry`` or its ``to_dict()`` form
Entry: TypeAlias = "_EntryLike | Mapping[str, Any]"


@dataclass(frozen=True)
class _Row:
    id: int
    method: str
    path: str
    status: int | None
    operation_id: str | None
    violations: tuple[Violation, ...]

    def line(self) -> str:
        return call_line(self.id, self.method, self.path, self.status, self.operation_id)

    def hit_line(self, v: Violation) -> str:
        """``#12 POST /path → code: message``: one violation of this request."""
        return f"#{self.id} {self.method} {self.path} → {v.code}: {v.message}"


def _as_violation(value: Any) -> Violation:
    if isinstance(value, Violation):
        return value
    if isinstance(value, Mapping):
        code = str(value.get("code", "unknown"))
        severity = str(value.get("severity") or CODES.get(code, "warning"))
        return Violation(code, severity, str(value.get("message", "")))
    raise TypeError(f"expected a Violation or its dict form, got {type(value).__name__}")


def _rows(entries: Iterable[Entry]) -> list[_Row]:
    rows = []
    for entry in entries:
        if isinstance(entry, Mapping):
            status = entry.get("status")
            rows.append(
                _Row(
                    id=int(entry.get("id", 0)),
                    method=str(entry.get("method", "?")),
                    path=str(entry.get("path", "?")),
                    status=int(status) if status is not None else None,
                    operation_id=entry.get("operationId"),
                    violations=tuple(_as_violation(v) for v in entry.get("violations") or ()),
                )
            )
        else:
            rows.append(
                _Row(
                    id=entry.id,
                    method=entry.method,
                    path=entry.path,
                    status=entry.status,
                    operation_id=entry.operation_id,
                    violations=tuple(_as_violation(v) for v in entry.violations),
                )
            )
    return rows


@dataclass
class _Group:
    code: str
    severity: str
    hits: list[tuple[_Row, Violation]]

    @property
    def request_ids(self) -> list[int]:
        return sorted({row.id for row, _ in self.hits})


def _groups(rows: Iterable[_Row], min_severity: str = "info") -> list[_Group]:
    """Violations at or above ``min_severity`` by code: most severe, then most frequent, then by code."""
    severity_rank(min_severity)
    by_code: dict[str, _Group] = {}
    for row in rows:
        for v in row.violations:
            if not severity_at_least(_known_severity(v.severity), min_severity):
                continue
            group = by_code.setdefault(v.code, _Group(v.code, _known_severity(v.severity), []))
            if severity_rank(_known_severity(v.severity)) > severity_rank(group.severity):
                group.severity = v.severity
            group.hits.append((row, v))
    return sorted(by_code.values(), key=lambda g: (-severity_rank(g.severity), -len(g.hits), g.code))


def _known_severity(severity: str) -> str:
    """Severities outside ``SEVERITIES`` (from a foreign JSON report) count as warnings rather than crash."""
    return severity if severity in SEVERITIES else "warning"


def _totals(rows: Iterable[_Row]) -> dict[str, int]:
    totals = dict.fromkeys(SEVERITIES, 0)
    for row in rows:
        for v in row.violations:
            totals[_known_severity(v.severity)] += 1
    return totals


# ----------------------------------------------------------------------------------------------------
# summary and assertion


def summarize(entries: Iterable[Entry]) -> list[dict[str, Any]]:
    """Violations by code, most severe first: what ``GET /_mock/violations`` answers.

    Each row: ``code``, ``severity``, ``count`` (violations), ``requests`` (distinct requests), ``example``
    (the message of the first occurrence), ``firstRequestId`` and ``lastRequestId``.
    """
    return _summarize_rows(_rows(entries))


def _summarize_rows(rows: Iterable[_Row]) -> list[dict[str, Any]]:
    out = []
    for group in _groups(rows):
        ids = [row.id for row, _ in group.hits]
        out.append(
            {
                "code": group.code,
                "severity": group.severity,
                "count": len(group.hits),
                "requests": len(group.request_ids),
                "example": group.hits[0][1].message,
                "firstRequestId": min(ids),
                "lastRequestId": max(ids),
            }
        )
    return out


def assert_no_violations(entries: Iterable[Entry], min_severity: str = "warning") -> None:
    """Fail when any entry carries a violation at or above ``min_severity``.

    :raises AssertionHelperError: listing each offending request as ``#id METHOD path → code: message``,
        grouped by code, most severe first.
    :raises ValueError: ``min_severity`` is not one of ``SEVERITIES``.
    """
    __tracebackhide__ = True  # pytest shows the caller's line and this message, not our frames
    rows = _rows(entries)
    groups = _groups(rows, min_severity)
    if not groups:
        return
    n_violations = sum(len(g.hits) for g in groups)
    n_requests = len({row.id for g in groups for row, _ in g.hits})
    lines = [
        f"{n_violations} contract violation{'s' if n_violations != 1 else ''} at or above {min_severity!r} "
        f"in {n_requests} of {len(rows)} journaled request{'s' if len(rows) != 1 else ''}:"
    ]
    for group in groups:
        n_req = len(group.request_ids)
        lines.append("")
        lines.append(f"  {group.code} ({group.severity}, {n_req} request{'s' if n_req != 1 else ''}):")
        for row, v in group.hits:
            lines.append(f"    {row.hit_line(v)}")
    lines.append("")
    hint = "Fix the client so it follows the vendor contract"
    if min_severity != "error":
        hint += ', or pass min_severity="error" to fail only on errors'
    lines.append(hint + ". Codes and severities: mockserver.core.lint.lint.CODES.")
    raise AssertionHelperError("\n".join(lines))


# ----------------------------------------------------------------------------------------------------
# reports


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def report_text(entries: Iterable[Entry], min_severity: str = "info") -> str:
    """A plain-text report: totals, a table by code, then each request with violations at or above
    ``min_severity``."""
    rows = _rows(entries)
    groups = _groups(rows, min_severity)
    totals = _totals(rows)
    n_bad = sum(
        1 for r in rows if any(severity_at_least(_known_severity(v.severity), min_severity) for v in r.violations)
    )
    head = (
        f"cxmock contract-lint: {_plural(len(rows), 'request')}, "
        f"{_plural(sum(totals.values()), 'violation')} "
        f"({totals['error']} error, {totals['warning']} warning, {totals['info']} info)"
    )
    if not groups:
        suffix = "" if min_severity == "info" else f" at or above {min_severity!r}"
        return f"{head}\nNo violations{suffix}.\n"
    lines = [head, ""]
    width = max(len("CODE"), *(len(g.code) for g in groups))
    lines.append(f"{'CODE':<{width}}  SEVERITY  COUNT  REQUESTS  EXAMPLE")
    for g in groups:
        example = g.hits[0][1].message
        lines.append(f"{g.code:<{width}}  {g.severity:<8}  {len(g.hits):>5}  {len(g.request_ids):>8}  {example}")
    lines.append("")
    lines.append(f"{_plural(n_bad, 'request')} with violations:")
    for row in rows:
        shown = [v for v in row.violations if severity_at_least(_known_severity(v.severity), min_severity)]
        if not shown:
            continue
        lines.append(f"  {row.line()}")
        for v in sorted(shown, key=lambda v: -severity_rank(_known_severity(v.severity))):
            lines.append(f"      {v.severity:<7} {v.code}: {v.message}")
    return "\n".join(lines) + "\n"


def report_json(entries: Iterable[Entry]) -> str:
    """A JSON report ``{"totals", "summary", "requests"}``; ``requests`` lists requests with violations."""
    rows = _rows(entries)
    doc = {
        "totals": {"requests": len(rows), **_totals(rows)},
        "summary": _summarize_rows(rows),
        "requests": [
            {
                "id": row.id,
                "method": row.method,
                "path": row.path,
                "status": row.status,
                "operationId": row.operation_id,
                "violations": [v.to_dict() for v in row.violations],
            }
            for row in rows
            if row.violations
        ],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


# XML 1.0 forbids most control characters even escaped; a client-sent member name may carry them.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_text(text: str) -> str:
    return _XML_INVALID.sub("\ufffd", text)


def report_junit(
    entries: Iterable[Entry], min_severity: str = "error", suite_name: str = "cxmock.contract-lint"
) -> str:
    """A JUnit XML report with one testcase per violation code, so CI keeps a stable history per code.

    Every code of ``CODES`` appears (passing when no request produced it), plus any other code seen. A code
    whose violations are at or above ``min_severity`` (default ``error``) is a ``<failure>`` listing each
    offending request; below it, the occurrences go to the testcase's ``<system-out>``.
    """
    severity_rank(min_severity)
    rows = _rows(entries)
    groups = {g.code: g for g in _groups(rows)}
    codes = list(CODES) + sorted(c for c in groups if c not in CODES)

    suites = ET.Element("testsuites", name="cxmock")
    suite = ET.SubElement(
        suites,
        "testsuite",
        name=suite_name,
        timestamp=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
        errors="0",
        skipped="0",
        time="0",
    )
    props = ET.SubElement(suite, "properties")
    totals = _totals(rows)
    for key, value in (("requests", len(rows)), *totals.items(), ("min_severity", min_severity)):
        ET.SubElement(props, "property", name=str(key), value=str(value))

    failures = 0
    for code in codes:
        case = ET.SubElement(suite, "testcase", classname=suite_name, name=code, time="0")
        group = groups.get(code)
        if group is None:
            continue
        lines = [row.hit_line(v) for row, v in group.hits]
        summary = (
            f"{_plural(len(group.hits), 'violation')} ({group.severity}) in "
            f"{_plural(len(group.request_ids), 'request')}: {group.hits[0][1].message}"
        )
        if severity_at_least(group.severity, min_severity):
            failures += 1
            kind = f"{group.severity}:{code}"
            failure = ET.SubElement(case, "failure", message=_xml_text(summary), type=kind)
            failure.text = _xml_text("\n".join(lines))
        else:
            out = ET.SubElement(case, "system-out")
            out.text = _xml_text(summary + "\n" + "\n".join(lines))
    suite.set("tests", str(len(codes)))
    suite.set("failures", str(failures))
    suites.set("tests", str(len(codes)))
    suites.set("failures", str(failures))
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"
