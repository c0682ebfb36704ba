"""One journaled API request (``JournalEntry``), how messages name it (``call_line``), and the conditions that
select entries: a path, exact or a ``*`` prefix, and a status, a code or a class such as ``4xx``.
``Journal.entries`` filters with them and ``assert_called`` matches with them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..jsonnames import camel_fields
from ..lint.lint import Violation

__all__ = ["JournalEntry", "call_line", "path_matches", "status_matches"]


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
    #: the structured details of an error answer (code, per-field errors, SMTP stage...): off the wire, kept here
    error: dict[str, Any] | None = None
    #: the response body, redacted and bounded (``Journal.record``); None when there was none
    response_body: Any = None

    def to_dict(self) -> dict[str, Any]:
        return {
            **camel_fields(self, "id", "time", "method", "path", "query"),
            "headers": dict(self.headers),
            **camel_fields(self, "body", "status", "duration_ms", "operation_id"),
            "faults": [dict(f) for f in self.faults],
            "violations": [v.to_dict() for v in self.violations],
            **camel_fields(self, "user", "remote", "error", "response_body"),
        }

    def line(self) -> str:
        """``#12 POST /cxrestapi/auth/SMTPSettings → 400 (createSmtpSettings)``: how messages name a call."""
        return call_line(self.id, self.method, self.path, self.status, self.operation_id)


def call_line(request_id: int, method: str, path: str, status: int | None, operation_id: str | None) -> str:
    """``#12 POST /cxrestapi/auth/SMTPSettings → 400 (createSmtpSettings)``: how messages name a call."""
    shown_status = "" if status is None else f" → {status}"
    op = f" ({operation_id})" if operation_id else ""
    return f"#{request_id} {method} {path}{shown_status}{op}"


def path_matches(pattern: str, path: str) -> bool:
    """Whether ``path`` is ``pattern``, or starts with it when ``pattern`` ends with ``*``; case is ignored.

    The API's routing ignores case, and the journal keeps each path as sent (``/CxRestAPI/auth/smtpsettings``),
    so ``/cxrestapi/auth/SMTPSettings`` selects every spelling of it.
    """
    pattern, path = pattern.casefold(), path.casefold()
    if pattern.endswith("*"):
        return path.startswith(pattern[:-1])
    return path == pattern


def status_matches(wanted: int | str, status: int | None) -> bool:
    """Whether ``status`` is ``wanted``: a code (``404``, ``"404"``) or a class (``"4xx"``).

    :raises ValueError: ``wanted`` is neither (noticed once ``status`` is not None).
    """
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
