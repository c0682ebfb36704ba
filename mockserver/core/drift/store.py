"""The drift list of ``cxmock proxy``: a bounded, thread-safe ring of what the service answered that the
document (``openapi/``) does not say, and, with ``--shadow``, where the in-process mock answered differently.

One record per finding; ``GET /_mock/drift`` lists them (``http/admin_drift.py``), ``cxmock report`` and the
dashboard show them. Records hold sentences about shapes and statuses, never a body value: no secret can be in one.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..jsonnames import camel_fields

__all__ = ["DRIFT_KINDS", "DriftLog", "DriftRecord"]

#: ``document``: the service's answer breaks the document; ``shadow``: the mock would have answered differently
DRIFT_KINDS = ("document", "shadow")


@dataclass(frozen=True)
class DriftRecord:
    """One finding: the request it was seen on (journal id, method, path, operationId) and a sentence."""

    id: int
    time: str
    kind: str
    request_id: int | None
    method: str
    path: str
    operation_id: str | None
    status: int | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        names = ("id", "time", "kind", "request_id", "method", "path", "operation_id", "status", "message")
        return camel_fields(self, *names)

    def line(self) -> str:
        """``[document] #3 GET /cxrestapi/auth/SMTPSettings → 200 (getAllSmtpSettings): <message>``"""
        where = f"#{self.request_id} " if self.request_id is not None else ""
        op = f" ({self.operation_id})" if self.operation_id else ""
        return f"[{self.kind}] {where}{self.method} {self.path} → {self.status}{op}: {self.message}"


class DriftLog:
    """The last ``limit`` findings, oldest first; ids count from 1 and are never reused (not even after clear).

    The same sentence for the same operation is kept once per ``limit`` window with a count, so a client polling
    the same drifting endpoint does not push every other finding out: see :meth:`summary`.
    """

    def __init__(self, limit: int = 1000) -> None:
        if limit < 1:
            raise ValueError(f"the drift list limit must be at least 1, got {limit}")
        self.limit = limit
        self._lock = threading.Lock()
        self._records: deque[DriftRecord] = deque(maxlen=limit)
        self._next_id = 1

    def add(
        self,
        kind: str,
        message: str,
        *,
        method: str,
        path: str,
        status: int | None,
        operation_id: str | None = None,
        request_id: int | None = None,
    ) -> DriftRecord:
        if kind not in DRIFT_KINDS:
            raise ValueError(f"drift kind must be one of {', '.join(DRIFT_KINDS)}, got {kind!r}")
        moment = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        with self._lock:
            record = DriftRecord(
                self._next_id, moment, kind, request_id, method.upper(), path, operation_id, status, message
            )
            self._next_id += 1
            self._records.append(record)
        return record

    def records(self, kind: str | None = None, since_id: int | None = None) -> list[DriftRecord]:
        with self._lock:
            snapshot = list(self._records)
        return [r for r in snapshot if (kind is None or r.kind == kind) and (since_id is None or r.id > since_id)]

    def summary(self) -> list[dict[str, Any]]:
        """One row per (kind, operation, message), most frequent first: ``{kind, operationId, message, count,
        lastRequestId}``."""
        rows: dict[tuple[str, str | None, str], dict[str, Any]] = {}
        for record in self.records():
            key = (record.kind, record.operation_id, record.message)
            row = rows.setdefault(
                key, {"kind": record.kind, "operationId": record.operation_id, "message": record.message, "count": 0}
            )
            row["count"] += 1
            row["lastRequestId"] = record.request_id
        return sorted(rows.values(), key=lambda r: (-r["count"], r["kind"], r["operationId"] or ""))

    def clear(self) -> None:
        with self._lock:
            self._records.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._records)
