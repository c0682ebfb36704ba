"""``assert_called``: the assertion over journaled calls behind ``server.assert_called``, and the explanation of
a failure (what was expected, how many calls matched, the closest calls seen and how they differ).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from mockserver.errors import AssertionHelperError

from ..lint.lint import did_you_mean
from ..redaction import REDACTED, is_secret_member
from .entry import JournalEntry, path_matches, status_matches

__all__ = ["assert_called"]

_WHERE_KEYS = ("method", "path", "status", "user", "body", "header")
_MAX_SHOWN = 5
_BODY_CHARS = 160


def _subset_mismatch(expected: Any, actual: Any, where: str) -> str | None:
    """Where ``expected`` is not contained in ``actual`` (dicts by subset, others by equality), or None."""
    if isinstance(expected, Mapping):
        if not isinstance(actual, Mapping):
            return f"{where or 'body'} is {_compact(actual, 40)}, not an object"
        for key, value in expected.items():
            here = f"{where}.{key}" if where else str(key)
            if key not in actual:
                return f"{here} missing"
            if is_secret_member(str(key)) and value != REDACTED and actual[key] == REDACTED:
                return f"{here} cannot be compared (secrets are journaled as {REDACTED!r}; leave it out)"
            problem = _subset_mismatch(value, actual[key], here)
            if problem:
                return problem
        return None
    if expected != actual:
        return f"{where or 'body'}={_compact(actual, 40)} (wanted {_compact(expected, 40)})"
    return None


def _compact(value: Any, limit: int = _BODY_CHARS) -> str:
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _header_value(entry: JournalEntry, name: str) -> str | None:
    wanted = name.casefold()
    for key, value in entry.headers.items():
        if key.casefold() == wanted:
            return value
    return None


def _mismatches(entry: JournalEntry, where: Mapping[str, Any]) -> list[str]:
    """Why ``entry`` does not satisfy ``where`` (empty when it does)."""
    out = []
    if "method" in where and entry.method != str(where["method"]).upper():
        out.append(f"method {entry.method} (wanted {str(where['method']).upper()})")
    if "path" in where and not path_matches(where["path"], entry.path):
        out.append(f"path {entry.path} (wanted {where['path']})")
    if "status" in where and not status_matches(where["status"], entry.status):
        out.append(f"status {entry.status} (wanted {where['status']})")
    if "user" in where and entry.user != where["user"]:
        out.append(f"user {entry.user!r} (wanted {where['user']!r})")
    if "body" in where:
        problem = _subset_mismatch(where["body"], entry.body, "")
        if problem:
            out.append(f"body: {problem}")
    for name, value in (where.get("header") or {}).items():
        actual = _header_value(entry, name)
        if actual != value:
            shown = "absent" if actual is None else repr(actual)
            out.append(f"header {name} {shown} (wanted {value!r})")
    return out


def _describe_expectation(operation_id: str | None, times: int | None, where: Mapping[str, Any]) -> str:
    parts = []
    for key in _WHERE_KEYS:
        if key not in where:
            continue
        value = where[key]
        if key == "body":
            parts.append(f"body ⊇ {_compact(value)}")
        elif key == "header":
            parts.extend(f"header {k}={v!r}" for k, v in value.items())
        else:
            parts.append(f"{key}={value}")
    what = operation_id or "a call"
    if parts:
        what += " with " + ", ".join(parts)
    count = "at least once" if times is None else f"exactly {times} time{'s' if times != 1 else ''}"
    return f"{what} to be called {count}"


def _entry_line(entry: JournalEntry) -> str:
    line = entry.line()
    if entry.body is not None:
        line += f" body={_compact(entry.body)}"
    return line


def assert_called(
    entries: Sequence[JournalEntry],
    operation_id: str | None,
    times: int | None = None,
    **where: Any,
) -> list[JournalEntry]:
    """Check that ``operation_id`` was called (``times`` times exactly, or at least once) with ``where``.

    :param entries: the journal entries to search, e.g. ``journal.entries()``.
    :param operation_id: the OpenAPI ``operationId``; ``None`` matches any.
    :param where: ``method``, ``path`` (a trailing ``*`` makes it a prefix), ``status`` (``201`` or
        ``"2xx"``), ``user``, ``body`` (a dict that must be contained in the journaled body; secrets are
        journaled as ``"***"``), ``header`` (``{name: value}``, values as journaled, i.e. redacted).
    :returns: the matching entries.
    :raises AssertionHelperError: saying what was expected, how many calls matched, and the closest calls.
    :raises TypeError: an unknown ``where`` key.
    """
    __tracebackhide__ = True  # pytest shows the caller's line and this message, not our frames
    unknown = [k for k in where if k not in _WHERE_KEYS]
    if unknown:
        hint = did_you_mean(unknown[0], _WHERE_KEYS)
        suggestion = f" (did you mean {hint!r}?)" if hint else ""
        raise TypeError(
            f"assert_called() got an unknown condition {unknown[0]!r}{suggestion}; accepted: {', '.join(_WHERE_KEYS)}"
        )
    if times is not None and times < 0:
        raise ValueError(f"times must be None (at least once) or >= 0, got {times}")

    same_op = [e for e in entries if operation_id is None or e.operation_id == operation_id]
    matched = [e for e in same_op if not _mismatches(e, where)]
    if (times is None and matched) or (times is not None and len(matched) == times):
        return matched

    lines = [f"Expected {_describe_expectation(operation_id, times, where)}; {_matched_phrase(matched)}."]
    if matched:
        lines.append("Matching calls:")
        lines.extend(f"  {_entry_line(e)}" for e in matched[:10])
        if len(matched) > 10:
            lines.append(f"  … and {len(matched) - 10} more")
    closest = _closest(entries, operation_id, where, exclude={e.id for e in matched})
    if closest:
        lines.append("Closest calls seen:")
        for entry, why in closest:
            lines.append(f"  {_entry_line(entry)}")
            if why:
                lines.append(f"      differs: {'; '.join(why)}")
    elif not entries:
        lines.append("No API request was journaled (since the last reset).")
    elif operation_id is not None:
        lines.append(f"No call with operationId {operation_id!r} or the same path was seen.")
    if operation_id is not None and not same_op:
        seen = Counter(e.operation_id for e in entries if e.operation_id)
        hint = did_you_mean(operation_id, seen)
        if hint:
            lines.append(f"Did you mean operationId {hint!r}?")
        if seen:
            lines.append("Operations seen: " + ", ".join(f"{op} ×{n}" for op, n in seen.most_common()))
    if entries:
        lines.append(
            f"(searched {len(entries)} journaled call{'s' if len(entries) != 1 else ''}, "
            f"#{entries[0].id}–#{entries[-1].id}; the journal keeps only the most recent ones)"
        )
    raise AssertionHelperError("\n".join(lines))


def _matched_phrase(matched: Sequence[JournalEntry]) -> str:
    if not matched:
        return "no call matched"
    return f"{len(matched)} call{'s' if len(matched) != 1 else ''} matched"


def _closest(
    entries: Sequence[JournalEntry],
    operation_id: str | None,
    where: Mapping[str, Any],
    exclude: set[int],
) -> list[tuple[JournalEntry, list[str]]]:
    """Up to ``_MAX_SHOWN`` non-matching calls sharing operationId or path, most similar then newest first."""
    path = where.get("path")
    scored = []
    for entry in entries:
        if entry.id in exclude:
            continue
        same_op = operation_id is not None and entry.operation_id == operation_id
        same_path = path is not None and path_matches(path, entry.path)
        if not (same_op or same_path or operation_id is None):
            continue
        why = _mismatches(entry, where)
        if operation_id is not None and not same_op:
            why.insert(0, f"operationId {entry.operation_id} (wanted {operation_id})")
        score = (4 if same_op else 0) + (2 if same_path else 0) - len(why)
        scored.append((score, entry.id, entry, why))
    scored.sort(key=lambda item: (-item[0], -item[1]))
    return [(entry, why) for _, _, entry, why in scored[:_MAX_SHOWN]]
