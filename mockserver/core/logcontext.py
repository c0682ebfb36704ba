"""What every log line of a server says about where it comes from: the sandbox and a request id unique in the
process (issue #25: many pipelines share one server, and their lines must be told apart).

- :func:`next_request_id` numbers every HTTP request the server logs or journals, across the root and every
  sandbox (the journal keeps its own per-sandbox number beside it: ``#3`` on the line, ``X-Cxmock-Request-Id``).
- :data:`LOG_CONTEXT` holds ``(sandbox, request id)`` of the request the current thread is serving (the app sets it
  before a request and clears it after); the runtime's log handler reads it for lines that do not name their own
  (``extra={"sandbox": ..., "request_id": ...}``).
- :data:`TALLY` counts what the shutdown summary line reports: requests, sandboxes used, mails captured and
  contract violations by severity (process-wide: ``cxmock serve`` runs one server per process).

No IO here: counters and a context variable.
"""

from __future__ import annotations

import itertools
import threading
from collections import Counter
from collections.abc import Iterable
from contextvars import ContextVar
from typing import Any

__all__ = ["LOG_CONTEXT", "TALLY", "Tally", "log_extra", "next_request_id"]

_ids = itertools.count(1)

#: ``(sandbox name or None for the root, request id or None)`` of the request this thread serves
LOG_CONTEXT: ContextVar[tuple[str | None, int | None]] = ContextVar("cxmock_log_context", default=(None, None))


def next_request_id() -> int:
    """A new request id, unique in this process (thread-safe: ``itertools.count`` under the GIL)."""
    return next(_ids)


def log_extra(sandbox: str | None, request_id: int | None) -> dict[str, Any]:
    """The ``extra=`` of a log call that names its own sandbox and request."""
    return {"sandbox": sandbox, "request_id": request_id}


class Tally:
    """Thread-safe counters for the shutdown summary; :meth:`snapshot` is a plain dict, :meth:`since` a difference."""

    #: at most this many distinct sandbox names are remembered (beyond, the count is a lower bound)
    NAMES_LIMIT = 100_000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests = 0
        self._mails = 0
        self._violations: Counter[str] = Counter()
        self._sandboxes: set[str] = set()

    def request(self, sandbox: str | None, severities: Iterable[str]) -> None:
        with self._lock:
            self._requests += 1
            self._violations.update(severities)
            if sandbox is not None and len(self._sandboxes) < self.NAMES_LIMIT:
                self._sandboxes.add(sandbox)

    def mail(self) -> None:
        with self._lock:
            self._mails += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": self._requests,
                "sandboxes": set(self._sandboxes),
                "mails": self._mails,
                "violations": dict(self._violations),
            }

    @staticmethod
    def since(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
        """What happened between two snapshots: counts, sandboxes as a number, violations by severity."""
        return {
            "requests": after["requests"] - before["requests"],
            "sandboxes": len(after["sandboxes"] - before["sandboxes"]),
            "mails": after["mails"] - before["mails"],
            "violations": {
                severity: after["violations"].get(severity, 0) - before["violations"].get(severity, 0)
                for severity in ("error", "warning", "info")
            },
        }


#: the process's counters
TALLY = Tally()
