"""The request journal: a bounded, thread-safe ring of redacted records of every API request.

The HTTP adapter calls ``Journal.record_later(...)`` once per API request, after the response is decided. Secrets
never leave the journal: every entry handed out has passed headers, query and body through ``redact_headers``,
``redact_query`` and ``redact_body`` (``core/redaction.py`` says what is kept). ``record_later`` only captures
the raw facts (small raw bodies, the header pairs) in a ``PendingEntry`` that builds the redacted entry on first
read (``core/journal/pending.py``: off the request thread, and never for entries nobody reads).

``assert_called(entries, operation_id, times=None, **where)`` (``core/journal/assertions.py``) is the assertion
behind ``server.assert_called``; ``JournalEntry`` (``core/journal/entry.py``) is one record. This module
re-exports both, and the redaction functions, as its public names.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, TypedDict, Unpack

from mockserver.errors import ConfigError

from ..lint.lint import Violation
from ..redaction import REDACTED as REDACTED
from ..redaction import redact_body as redact_body
from ..redaction import redact_headers as redact_headers
from ..redaction import redact_query as redact_query
from .assertions import assert_called as assert_called
from .entry import JournalEntry as JournalEntry
from .entry import path_matches, status_matches
from .pending import PendingEntry, keep_raw

__all__ = [
    "RequestFilters",
    "DEFAULT_LIMIT",
    "REDACTED",
    "RESPONSE_BODY_LIMIT",
    "bounded_response_body",
    "Journal",
    "JournalEntry",
    "assert_called",
    "redact_body",
    "redact_headers",
    "redact_query",
]

DEFAULT_LIMIT = 1000
#: a journaled response body is kept whole up to this many bytes (of its redacted JSON); beyond, its head only
RESPONSE_BODY_LIMIT = 4096
#: a raw response body over this many bytes is not parsed and redacted at all for its head (a list of 10 000
#: records is 1.6 MB: redacting it whole cost ~200 ms per request); the journal keeps its size only
RESPONSE_BODY_PARSE_LIMIT = 64 * 1024


def bounded_response_body(body: Any, content_type: str | None = None, limit: int = RESPONSE_BODY_LIMIT) -> Any:
    """A response body as the journal keeps it: redacted like a request body (tokens of the token endpoint become
    ``***``); whole when it is at most ``limit`` bytes (raw) or characters (its redacted JSON), else
    ``{"truncated": true, "size": N, "head": ...}`` with the first ``limit`` characters of the redacted JSON; a raw
    body over ``RESPONSE_BODY_PARSE_LIMIT`` bytes is not parsed at all (``"head": null``)."""
    if body is None or body == b"" or body == "":
        return None
    if isinstance(body, bytes | bytearray | str) and len(body) > max(limit, RESPONSE_BODY_PARSE_LIMIT):
        return {"truncated": True, "size": len(body), "head": None}
    redacted = redact_body(body, content_type)
    if isinstance(body, bytes | bytearray | str) and len(body) <= limit:
        return redacted
    text = json.dumps(redacted, separators=(",", ":"), ensure_ascii=False)
    if len(text) <= limit:
        return redacted
    size = len(body) if isinstance(body, bytes | bytearray | str) else len(text)
    return {"truncated": True, "size": size, "head": text[:limit]}


def _fault_dict(fault: Any) -> dict[str, Any]:
    """``{ruleId, name, action}``, plus ``stage`` for an SMTP fault (one that broke a testconnection's session)."""
    if isinstance(fault, Mapping):
        out = {
            "ruleId": fault.get("ruleId", fault.get("rule_id")),
            "name": fault.get("name"),
            "action": fault.get("action"),
        }
        stage = fault.get("stage")
    else:
        out = {
            "ruleId": getattr(fault, "rule_id", None),
            "name": getattr(fault, "name", None),
            "action": getattr(fault, "action", None),
        }
        stage = getattr(fault, "stage", None)
    if stage:
        out["stage"] = stage
    return out


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class RequestFilters(TypedDict, total=False):
    """The filters of a journal query (``Journal.entries``, ``MockSurface.requests``), each optional."""

    method: str | None  # HTTP method, any case
    path: str | None  # exact path, or a prefix when it ends with ``*`` (``/cxrestapi/auth/SMTPSettings*``)
    operation_id: str | None  # the OpenAPI ``operationId``
    status: int | str | None  # a status code (``404``, ``"404"``) or class (``"4xx"``)


_FILTER_NAMES = tuple(RequestFilters.__annotations__)


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
        self._entries: deque[PendingEntry] = deque(maxlen=limit)
        self._next_id = 1

    def record(self, **facts: Any) -> JournalEntry:
        """Journal one request and return its entry: ``record_later(...)``, built at once.

        ``body`` may be raw (``bytes``/``str``, parsed as JSON or form, see ``redact_body``; ``content_type``
        helps) or already parsed. ``faults`` are ``HttpFault`` decisions or ``{ruleId, name, action}`` dicts.
        ``response_body`` (raw or parsed) is kept redacted and bounded (:func:`bounded_response_body`).
        """
        return self._store(**facts).entry()

    def record_later(self, **facts: Any) -> int:
        """Journal one request (arguments as ``record``) and return its id; the redacted entry is built when first
        read (``core/journal/pending.py``): the request thread only captures the raw facts."""
        return self._store(**facts).id

    def _store(
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
        error: Mapping[str, Any] | None = None,
        response_body: Any = None,
        response_content_type: str | None = None,
    ) -> PendingEntry:
        # what may change or is large is copied or redacted now; small raw bodies, headers and query wait
        body_done = body is None or not keep_raw(body)
        if body_done and body is not None:
            body, content_type = redact_body(body, content_type), None
        if response_body is not None and not keep_raw(response_body):
            response_body, response_done = bounded_response_body(response_body, response_content_type), True
        else:
            response_done = False
        if headers is None or isinstance(headers, list | tuple):
            header_pairs = None if headers is None else list(headers)
        else:
            header_pairs = list(headers.items() if isinstance(headers, Mapping) else headers)
        if query is not None and not isinstance(query, str):
            query = redact_query(query)
        faults, violations = tuple(faults), tuple(violations)
        error = dict(error) if error else None
        method = method.upper()
        duration_ms = round(float(duration_ms), 3)

        def build() -> JournalEntry:
            return JournalEntry(
                id=entry_id,
                time=_iso(moment),
                method=method,
                path=path,
                query=redact_query(query),
                headers=redact_headers(header_pairs),
                body=body if body_done else redact_body(body, content_type),
                status=status,
                duration_ms=duration_ms,
                operation_id=operation_id,
                faults=[_fault_dict(f) for f in faults],
                violations=list(violations),
                user=user,
                remote=remote,
                error=error,
                response_body=(
                    response_body
                    if response_done or response_body is None
                    else bounded_response_body(response_body, response_content_type)
                ),
            )

        with self._lock:
            entry_id = self._next_id
            moment = self._clock()
            self._next_id += 1
            pending = PendingEntry(entry_id, method, path, status, operation_id, build)
            self._entries.append(pending)
        return pending

    def entries(
        self, *, since_id: int | None = None, limit: int | None = None, **filters: Unpack[RequestFilters]
    ) -> list[JournalEntry]:
        """The entries held, oldest first, filtered (:class:`RequestFilters`: ``method``, ``path``,
        ``operation_id``, ``status``).

        :param since_id: only entries with a larger id (poll with the last id seen).
        :param limit: keep only the newest ``limit`` of the matches.
        """
        unknown = sorted(set(filters) - set(_FILTER_NAMES))
        if unknown:
            raise TypeError(
                f"unexpected journal filter(s) {', '.join(unknown)}: the filters are {', '.join(_FILTER_NAMES)}"
            )
        method, path = filters.get("method"), filters.get("path")
        operation_id, status = filters.get("operation_id"), filters.get("status")
        with self._lock:
            snapshot = list(self._entries)
        wanted_method = method.upper() if method else None
        out = [
            e
            for e in snapshot
            if (wanted_method is None or e.method == wanted_method)
            and (path is None or path_matches(path, e.path))
            and (operation_id is None or e.operation_id == operation_id)
            and (status is None or status_matches(status, e.status))
            and (since_id is None or e.id > since_id)
        ]
        if limit is not None:
            out = out[-limit:] if limit > 0 else []
        return [e.entry() for e in out]

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

    def assert_called(self, operation_id: str | None, times: int | None = None, **where: Any) -> list[JournalEntry]:
        """``assert_called`` over the entries held; see the module function."""
        __tracebackhide__ = True  # pytest shows the caller's line and this message, not our frames
        return assert_called(self.entries(), operation_id, times, **where)
