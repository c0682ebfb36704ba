"""The request journal: a bounded, thread-safe ring of redacted records of every API request.

The HTTP adapter calls ``Journal.record(...)`` once per API request, after the response is decided. Secrets
never enter the journal: ``record`` passes headers, query and body through ``redact_headers``,
``redact_query`` and ``redact_body`` (idempotent, so an adapter may redact first, as its request log does).
What is kept:

- ``Authorization: Bearer <token>`` -> ``Bearer …<last 4>`` (``Bearer …`` for tokens shorter than 12
  characters); any other scheme -> ``<scheme> …``. ``Cookie``, ``Set-Cookie``, ``X-Admin-Token`` and
  ``X-Cxmock-Admin-Token`` -> ``***``.
- Body and query members named ``password``, ``client_secret``, ``access_token``, ``refresh_token`` or
  ``id_token`` (any case, ``_``/``-`` ignored, at any depth), and any member whose name ends in ``password``,
  -> ``"***"``. JSON and form bodies are parsed; a body that is neither is kept only as
  ``{"unparsed": true, "size": N}``.

``assert_called(entries, operation_id, times=None, **where)`` is the assertion behind
``server.assert_called``; its failure message shows the closest calls seen.
"""

from __future__ import annotations

import json
import re
import threading
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

from mockserver.core.lint import Violation, did_you_mean
from mockserver.errors import AssertionHelperError, ConfigError

__all__ = [
    "DEFAULT_LIMIT",
    "REDACTED",
    "Journal",
    "JournalEntry",
    "assert_called",
    "redact_body",
    "redact_headers",
    "redact_query",
]

DEFAULT_LIMIT = 1000
REDACTED = "***"

#: member names (case-folded, ``_`` and ``-`` removed) whose values are replaced by ``REDACTED``
_SECRET_MEMBERS = frozenset({"password", "clientsecret", "accesstoken", "refreshtoken", "idtoken"})
_SECRET_HEADERS = frozenset({"cookie", "set-cookie", "x-admin-token", "x-cxmock-admin-token"})
_AUTH_HEADERS = frozenset({"authorization", "proxy-authorization"})
_FORM_KEY = re.compile(r"[\w.\-\[\]]+")
#: a bearer token shorter than this is shown without its last 4 characters (they would be a large part of it)
_MIN_TOKEN_FOR_LAST4 = 12


# ----------------------------------------------------------------------------------------------------
# redaction


def _is_secret_member(name: str) -> bool:
    key = name.casefold().replace("_", "").replace("-", "")
    return key in _SECRET_MEMBERS or key.endswith("password")


def _redact_authorization(value: str) -> str:
    scheme, _, credentials = value.strip().partition(" ")
    credentials = credentials.strip()
    if not credentials:
        # a bare credential with no scheme: show nothing of it
        return "…" if scheme else ""
    if scheme.casefold() == "bearer":
        if credentials.startswith("…"):  # already redacted
            return f"{scheme} {credentials}"
        if len(credentials) >= _MIN_TOKEN_FOR_LAST4:
            return f"{scheme} …{credentials[-4:]}"
    return f"{scheme} …"


def _header_items(headers: Mapping[str, Any] | Iterable[tuple[str, Any]] | None) -> Iterable[tuple[str, Any]]:
    if headers is None:
        return ()
    if isinstance(headers, Mapping):
        return headers.items()
    return headers


def redact_headers(headers: Mapping[str, Any] | Iterable[tuple[str, Any]] | None) -> dict[str, str]:
    """A copy of ``headers`` safe to log: credentials cut down as the module docstring says.

    Accepts a mapping or ``(name, value)`` pairs (a repeated header is joined with ``", "``); keeps the first
    spelling of each name.
    """
    out: dict[str, str] = {}
    spelled: dict[str, str] = {}
    for name, raw in _header_items(headers):
        key = str(name).casefold()
        value = str(raw)
        if key in _AUTH_HEADERS:
            value = _redact_authorization(value)
        elif key in _SECRET_HEADERS:
            value = REDACTED
        if key in spelled:
            out[spelled[key]] += f", {value}"
        else:
            spelled[key] = str(name)
            out[str(name)] = value
    return out


def _redact_value(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {
            str(k): (REDACTED if _is_secret_member(str(k)) else _redact_value(v)) for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_redact_value(v) for v in value]
    return value


def _form_to_dict(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            previous = out[key]
            out[key] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            out[key] = value
    return out


def _parse_text(text: str, content_type: str | None) -> tuple[bool, Any]:
    """``(True, value)`` for a JSON or form body, ``(False, None)`` for anything else."""
    media = (content_type or "").split(";", 1)[0].strip().casefold()
    if media != "application/x-www-form-urlencoded":
        try:
            return True, json.loads(text)
        except (ValueError, RecursionError):
            pass
    if media in ("", "application/x-www-form-urlencoded", "text/plain"):
        try:
            pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=True)
        except ValueError:
            return False, None
        # Text that merely contains "=" (a broken JSON document, prose) is not a form: a secret in it could be
        # split across a key and a value. Only plain field names make a form.
        if all(_FORM_KEY.fullmatch(key) for key, _ in pairs):
            return True, _form_to_dict(pairs)
    return False, None


def redact_body(body: Any, content_type: str | None = None) -> Any:
    """A copy of a request body safe to log.

    ``body`` may be already parsed (dict, list, scalar) or raw (``bytes``/``str``): raw JSON is parsed, and so
    is a form body (``application/x-www-form-urlencoded``, or ``key=value&...`` text when ``content_type`` is
    not given). Secret members are replaced by ``"***"`` at any depth. A raw body that parses as neither is
    stored as ``{"unparsed": True, "size": <bytes>}`` so no secret it may hold survives. An empty raw body is
    ``None``.
    """
    try:
        return _redact_body(body, content_type)
    except RecursionError:  # absurdly deep nesting: keep nothing of it
        size = len(body) if isinstance(body, str | bytes | bytearray) else None
        return {"unparsed": True, "size": size}


def _redact_body(body: Any, content_type: str | None) -> Any:
    if isinstance(body, bytes | bytearray | memoryview):
        raw = bytes(body)
        if not raw:
            return None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return {"unparsed": True, "size": len(raw)}
        ok, value = _parse_text(text, content_type)
        return _redact_value(value) if ok else {"unparsed": True, "size": len(raw)}
    if isinstance(body, str):
        if not body:
            return None
        ok, value = _parse_text(body, content_type)
        return _redact_value(value) if ok else {"unparsed": True, "size": len(body.encode("utf-8"))}
    return _redact_value(body)


def redact_query(query: Mapping[str, Any] | str | None) -> dict[str, Any] | str:
    """A copy of the query safe to log: secret parameters (``access_token=...``) become ``***``.

    A mapping stays a mapping; a raw query string stays a string, re-encoded.
    """
    if query is None:
        return {}
    if isinstance(query, str):
        pairs = parse_qsl(query.lstrip("?"), keep_blank_values=True)
        return urlencode([(k, REDACTED if _is_secret_member(k) else v) for k, v in pairs], safe="*")
    redacted: dict[str, Any] = _redact_value(query)
    return redacted


def _fault_dict(fault: Any) -> dict[str, Any]:
    if isinstance(fault, Mapping):
        return {
            "ruleId": fault.get("ruleId", fault.get("rule_id")),
            "name": fault.get("name"),
            "action": fault.get("action"),
        }
    return {
        "ruleId": getattr(fault, "rule_id", None),
        "name": getattr(fault, "name", None),
        "action": getattr(fault, "action", None),
    }


# ----------------------------------------------------------------------------------------------------
# entries


@dataclass(frozen=True)
class JournalEntry:
    """One journaled API request, already redacted; ``to_dict()`` is its ``GET /_mock/requests`` form."""

    id: int
    time: str
    method: str
    path: str
    query: dict[str, Any] | str = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    status: int | None = None
    duration_ms: float = 0.0
    operation_id: str | None = None
    faults: list[dict[str, Any]] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)
    user: str | None = None
    remote: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "time": self.time,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "headers": dict(self.headers),
            "body": self.body,
            "status": self.status,
            "durationMs": self.duration_ms,
            "operationId": self.operation_id,
            "faults": [dict(f) for f in self.faults],
            "violations": [v.to_dict() for v in self.violations],
            "user": self.user,
            "remote": self.remote,
        }

    def line(self) -> str:
        """``#12 POST /cxrestapi/auth/SMTPSettings → 400 (createSmtpSettings)``: how messages name a call."""
        status = "" if self.status is None else f" → {self.status}"
        op = f" ({self.operation_id})" if self.operation_id else ""
        return f"#{self.id} {self.method} {self.path}{status}{op}"


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _path_matches(pattern: str, path: str) -> bool:
    if pattern.endswith("*"):
        return path.startswith(pattern[:-1])
    return path == pattern


def _status_matches(wanted: int | str, status: int | None) -> bool:
    if status is None:
        return False
    text = str(wanted).strip().casefold()
    if len(text) == 3 and text.endswith("xx") and text[0].isdigit():
        return status // 100 == int(text[0])
    try:
        return status == int(text)
    except ValueError:
        raise ValueError(
            f"status filter {wanted!r}: expected a status code such as 404 or a class such as '4xx'"
        ) from None


class Journal:
    """A bounded ring of the last ``limit`` API requests, safe to share between threads.

    Ids count from 1 and are never reused within a run, not even after ``clear()``; ``total_recorded`` is the
    number of ids handed out, ``count`` the number of entries still held.

    :param limit: how many entries to keep; older ones are dropped first.
    :param clock: returns the current time (default: UTC now); injected by tests.
    """

    def __init__(self, limit: int = DEFAULT_LIMIT, *, clock: Callable[[], datetime] | None = None) -> None:
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ConfigError(f"journal limit must be a positive integer, got {limit!r}")
        self.limit = limit
        self._clock = clock or _utc_now
        self._lock = threading.Lock()
        self._entries: deque[JournalEntry] = deque(maxlen=limit)
        self._next_id = 1

    def record(
        self,
        *,
        method: str,
        path: str,
        query: Mapping[str, Any] | str | None = None,
        headers: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None,
        body: Any = None,
        content_type: str | None = None,
        status: int | None = None,
        duration_ms: float = 0.0,
        operation_id: str | None = None,
        faults: Iterable[Any] = (),
        violations: Iterable[Violation] = (),
        user: str | None = None,
        remote: str = "",
    ) -> JournalEntry:
        """Journal one request; assigns ``id`` and ``time``, and redacts headers, query and body.

        ``body`` may be raw (``bytes``/``str``, parsed as JSON or form, see ``redact_body``; ``content_type``
        helps) or already parsed. ``faults`` are ``HttpFault`` decisions or ``{ruleId, name, action}`` dicts.
        """
        redacted_headers = redact_headers(headers)
        redacted_query = redact_query(query)
        redacted_body = redact_body(body, content_type)
        fault_dicts = [_fault_dict(f) for f in faults]
        violation_list = list(violations)
        with self._lock:
            entry = JournalEntry(
                id=self._next_id,
                time=_iso(self._clock()),
                method=method.upper(),
                path=path,
                query=redacted_query,
                headers=redacted_headers,
                body=redacted_body,
                status=status,
                duration_ms=round(float(duration_ms), 3),
                operation_id=operation_id,
                faults=fault_dicts,
                violations=violation_list,
                user=user,
                remote=remote,
            )
            self._next_id += 1
            self._entries.append(entry)
        return entry

    def entries(
        self,
        method: str | None = None,
        path: str | None = None,
        operation_id: str | None = None,
        status: int | str | None = None,
        since_id: int | None = None,
        limit: int | None = None,
    ) -> list[JournalEntry]:
        """The entries held, oldest first, filtered.

        :param method: HTTP method, any case.
        :param path: exact path, or a prefix when it ends with ``*`` (``/cxrestapi/auth/SMTPSettings*``).
        :param operation_id: the OpenAPI ``operationId``.
        :param status: a status code (``404``, ``"404"``) or class (``"4xx"``).
        :param since_id: only entries with a larger id (poll with the last id seen).
        :param limit: keep only the newest ``limit`` of the matches.
        """
        with self._lock:
            snapshot = list(self._entries)
        wanted_method = method.upper() if method else None
        out = [
            e
            for e in snapshot
            if (wanted_method is None or e.method == wanted_method)
            and (path is None or _path_matches(path, e.path))
            and (operation_id is None or e.operation_id == operation_id)
            and (status is None or _status_matches(status, e.status))
            and (since_id is None or e.id > since_id)
        ]
        if limit is not None:
            out = out[-limit:] if limit > 0 else []
        return out

    def clear(self) -> None:
        """Drop every entry; ids keep counting."""
        with self._lock:
            self._entries.clear()

    @property
    def count(self) -> int:
        """Entries held now (at most ``limit``)."""
        with self._lock:
            return len(self._entries)

    @property
    def total_recorded(self) -> int:
        """Entries recorded since the journal was created, including dropped and cleared ones."""
        with self._lock:
            return self._next_id - 1

    def __len__(self) -> int:
        return self.count

    def assert_called(
        self, operation_id: str | None, times: int | None = None, **where: Any
    ) -> list[JournalEntry]:
        """``assert_called`` over the entries held; see the module function."""
        return assert_called(self.entries(), operation_id, times, **where)


# ----------------------------------------------------------------------------------------------------
# assert_called

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
            if _is_secret_member(str(key)) and value != REDACTED and actual[key] == REDACTED:
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
    if "path" in where and not _path_matches(where["path"], entry.path):
        out.append(f"path {entry.path} (wanted {where['path']})")
    if "status" in where and not _status_matches(where["status"], entry.status):
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
    unknown = [k for k in where if k not in _WHERE_KEYS]
    if unknown:
        hint = did_you_mean(unknown[0], _WHERE_KEYS)
        suggestion = f" (did you mean {hint!r}?)" if hint else ""
        raise TypeError(
            f"assert_called() got an unknown condition {unknown[0]!r}{suggestion}; "
            f"accepted: {', '.join(_WHERE_KEYS)}"
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
        same_path = path is not None and _path_matches(path, entry.path)
        if not (same_op or same_path or operation_id is None):
            continue
        why = _mismatches(entry, where)
        if operation_id is not None and not same_op:
            why.insert(0, f"operationId {entry.operation_id} (wanted {operation_id})")
        score = (4 if same_op else 0) + (2 if same_path else 0) - len(why)
        scored.append((score, entry.id, entry, why))
    scored.sort(key=lambda item: (-item[0], -item[1]))
    return [(entry, why) for _, _, entry, why in scored[:_MAX_SHOWN]]
