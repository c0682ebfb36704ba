"""A journaled request as the request thread leaves it (``PendingEntry``): the raw facts, turned into a redacted
``JournalEntry`` on first read.

Redacting headers, query and bodies and formatting the time cost more than the rest of the journal's work per
request (#14), and most entries are never read. So ``Journal.record_later`` keeps the request's raw facts here and
the first reader builds the entry; the raw facts are dropped as soon as it exists. Nothing raw is ever handed
out: the only way to the facts is ``entry()``, which redacts, and ``repr`` shows the id, method and path alone
(``__slots__``: no ``__dict__`` to dump). Raw bodies are kept only up to ``RAW_BODY_LIMIT`` bytes; a larger one is
redacted (and a response body bounded) on the request thread, as before, so an entry's memory stays bounded.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .entry import JournalEntry

__all__ = ["RAW_BODY_LIMIT", "PendingEntry"]

#: a raw request or response body up to this many bytes is kept raw until read; a larger one is redacted at once
RAW_BODY_LIMIT = 4096


class PendingEntry:
    """One journaled request: ``id``, ``method``, ``path``, ``status`` and ``operation_id`` (what the journal's
    filters look at) as plain attributes; everything else via ``entry()``."""

    __slots__ = ("id", "method", "path", "status", "operation_id", "_build", "_entry")

    def __init__(
        self,
        id: int,
        method: str,
        path: str,
        status: int | None,
        operation_id: str | None,
        build: Callable[[], JournalEntry] | None = None,
        entry: JournalEntry | None = None,
    ) -> None:
        self.id, self.method, self.path, self.status, self.operation_id = id, method, path, status, operation_id
        self._build = build
        self._entry = entry

    def entry(self) -> JournalEntry:
        """The redacted entry, built on the first call (any thread; two racing readers build equal entries)."""
        entry = self._entry
        if entry is not None:
            return entry
        build = self._build
        if build is None:  # another reader built it between our two reads (it sets _entry first)
            return self._entry  # type: ignore[return-value]
        entry = build()
        self._entry = entry
        self._build = None  # drops the raw facts
        return entry

    def __repr__(self) -> str:
        return f"<journal entry #{self.id} {self.method} {self.path[:200]}>"


def keep_raw(body: Any) -> bool:
    """Whether a body is small raw bytes/text, kept raw until read (else it is redacted at once)."""
    return isinstance(body, bytes | str) and len(body) <= RAW_BODY_LIMIT
