"""Captured mail: the record of one accepted message and the bounded, thread-safe store that keeps them.

The SMTP sink (``mockserver.smtp.sink``) calls :meth:`MailStore.add` for every message it accepts; the admin API,
the pytest fixtures and the testconnection endpoint read from the same store. No IO happens here: parsing (stdlib
:mod:`email`) lives in ``core/mail/parse.py``, waiting uses a :class:`threading.Condition` notified on every capture.

Filters (``list``, ``wait_for``) are case-insensitive substrings:

- ``to`` matches any envelope recipient or the ``To`` header;
- ``from_`` matches the envelope sender or the ``From`` header;
- ``subject`` matches the decoded ``Subject`` header;
- ``since`` is either a message id (an ``int`` or a string of digits: messages with a *greater* id) or an ISO-8601
  time (a ``datetime`` or a string: messages received at or after it; a time without an offset is taken as UTC).

Message ids start at 1 and are never reused, not even after :meth:`MailStore.clear`.

``to`` and ``subject`` are looked up in an index (``core/mail/index.py``) rather than by reading every
message, so a check costs the same with ten messages held or ten thousand. A message is indexed by the first check
after its capture (parsing stays off the sink's ``add``), and leaves the index with the message (evicted or cleared).
"""

from __future__ import annotations

import builtins
import itertools
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Unpack

from ...errors import AssertionHelperError, NotFound
from ..logcontext import TALLY
from .filters import MailFilters, matcher, ordered
from .index import MailIndex, trigrams
from .message import CapturedMessage as CapturedMessage
from .parse import CORRELATION_HEADER as CORRELATION_HEADER
from .parse import correlation_of, parse_message

__all__ = ["CORRELATION_HEADER", "CapturedMessage", "MailStore"]

DEFAULT_LIMIT = 1000
DEFAULT_RAW_LIMIT = 1024 * 1024
#: a truncated message is parsed from at least this much of its source (so headers survive a tiny raw_limit)
PARSE_FLOOR = 64 * 1024


def _utc_now() -> datetime:
    return datetime.now(UTC)


class MailStore:
    """Thread-safe bounded store of :class:`CapturedMessage`; the oldest message is evicted past ``limit``.

    :param limit: how many messages to keep (default 1000).
    :param raw_limit: how many bytes of each raw message to keep (default 1 MiB), and how many characters of its
        text. A longer message is parsed at capture from its first ``max(raw_limit, 64 KiB)`` bytes, never whole:
        what one message holds is bounded by ``raw_limit`` whatever its size (``raw_truncated``, ``text_truncated``).
    :param clock: returns the current time (an aware ``datetime``); injectable for tests.
    """

    def __init__(
        self,
        limit: int = DEFAULT_LIMIT,
        raw_limit: int = DEFAULT_RAW_LIMIT,
        *,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        if raw_limit < 0:
            raise ValueError(f"raw_limit must not be negative, got {raw_limit}")
        self.limit = limit
        self.raw_limit = raw_limit
        self._clock = clock
        self._messages: OrderedDict[int, CapturedMessage] = OrderedDict()  # O(1) eviction of the oldest
        self._ids = itertools.count(1)
        self._cond = threading.Condition()
        self._by_correlation: dict[str, int] = {}  # X-Cxmock-Correlation -> message id, kept at capture
        self._correlations: dict[int, str] = {}  # and back, so eviction drops exactly what add indexed
        self._captured = 0  # bumped by every add: a waiter can tell whether it missed one
        self._generation = 0  # bumped by interrupt_waiters: a waiter started before it gives up
        # The index (see the module docstring) is only touched under _index_lock, which readers take and add()
        # never does; add() hands new messages over in _pending and evicted ones in _stale (both under _cond).
        self._index = MailIndex()
        self._index_lock = threading.Lock()
        self._pending: dict[int, CapturedMessage] = {}  # captured, not indexed yet
        self._stale: builtins.list[int] = []  # ids evicted after being handed to the index: to remove from it
        self._index_reset = False  # clear() happened: the index starts over

    # -- writing ---------------------------------------------------------------------------------------------

    def add(
        self,
        raw: bytes | bytearray,
        *,
        mail_from: str,
        rcpt_tos: Sequence[str],
        peer: str = "",
        listener: str = "smtp",
        tls: Mapping[str, str] | None = None,
        auth_user: str | None = None,
    ) -> CapturedMessage:
        """Store one accepted message (parsed on first read); wakes every :meth:`wait_for`. Never raises."""
        size = len(raw)
        truncated = size > self.raw_limit
        # what is kept and parsed is copied from the start of raw: never the whole of a big message
        head = bytes(memoryview(raw)[: max(self.raw_limit, PARSE_FLOOR)])
        kept = head[: self.raw_limit] if truncated else head
        received_at = self._clock().astimezone(UTC).isoformat(timespec="milliseconds")
        with self._cond:
            message = CapturedMessage(
                id=next(self._ids),
                received_at=received_at,
                mail_from=mail_from,
                rcpt_tos=list(rcpt_tos),
                raw=kept,
                raw_truncated=truncated,
                size=size,
                peer=peer,
                listener=listener,
                tls=dict(tls) if tls is not None else None,
                auth_user=auth_user,
                _parsed=parse_message(head, text_limit=self.raw_limit, cut=True) if truncated else None,
            )
            self._messages[message.id] = message
            self._pending[message.id] = message
            correlation = correlation_of(head)
            if correlation is not None:
                self._by_correlation[correlation] = message.id
                self._correlations[message.id] = correlation
            while len(self._messages) > self.limit:
                evicted_id, _ = self._messages.popitem(last=False)
                self._forget(evicted_id)
            self._captured += 1
            self._cond.notify_all()
        TALLY.mail()
        return message

    def _forget(self, message_id: int) -> None:
        """Drop what ``add`` indexed for a message no longer held (called under ``_cond``)."""
        if self._pending.pop(message_id, None) is None:
            self._stale.append(message_id)
        correlation = self._correlations.pop(message_id, None)
        if correlation is not None and self._by_correlation.get(correlation) == message_id:
            del self._by_correlation[correlation]

    def delete(self, message_id: int) -> None:
        """Forget one message; :class:`~mockserver.errors.NotFound` if absent or evicted (ids are never reused)."""
        with self._cond:
            if self._messages.pop(message_id, None) is None:
                raise NotFound(f"no captured message with id {message_id} (never captured, deleted or evicted)")
            self._forget(message_id)

    def clear(self) -> None:
        """Forget every message (ids keep increasing)."""
        with self._cond:
            self._messages.clear()
            self._by_correlation.clear()
            self._correlations.clear()
            self._pending.clear()
            self._stale.clear()
            self._index_reset = True

    def interrupt_waiters(self) -> None:
        """Wake every pending :meth:`wait_for` at once: each raises as if its timeout had passed.

        Called when the server stops, so a long-poll does not hold the shutdown. Only waits already pending are
        interrupted: a later :meth:`wait_for` waits normally.
        """
        with self._cond:
            self._generation += 1
            self._cond.notify_all()

    def attach_testconnection(
        self, correlation: str, info: Mapping[str, Any], transcript: Sequence[str]
    ) -> CapturedMessage | None:
        """Record on the message captured with ``correlation`` the API request that caused it.

        ``info`` is the target the request named (``requestId``, ``host``, ``port``, ``encryptionType``) and
        ``transcript`` the client's redacted SMTP session. Returns the message, or ``None`` when no message
        carries that correlation (delivered elsewhere in direct mode, or already evicted).
        """
        message = self.find_by_correlation(correlation)
        if message is not None:
            with self._cond:
                message.testconnection = dict(info)
                message.transcript = list(transcript)
        return message

    # -- reading ---------------------------------------------------------------------------------------------

    @property
    def count(self) -> int:
        """How many messages the store holds now."""
        with self._cond:
            return len(self._messages)

    def __len__(self) -> int:
        return self.count

    def get(self, message_id: int) -> CapturedMessage:
        """The message with id ``message_id``; :class:`~mockserver.errors.NotFound` if absent or evicted."""
        with self._cond:
            message = self._messages.get(message_id)
            if message is not None:
                return message
            held = f"ids {min(self._messages)}-{max(self._messages)}" if self._messages else "no messages"
        raise NotFound(
            f"no captured message with id {message_id}: the store holds {held} "
            f"(it keeps the last {self.limit}; DELETE /_mock/messages empties it)"
        )

    def find_by_correlation(self, correlation: str) -> CapturedMessage | None:
        """The newest message whose ``X-Cxmock-Correlation`` header is ``correlation``, or ``None``.

        An index kept at capture answers it: no stored message is scanned or parsed.
        """
        with self._cond:
            message_id = self._by_correlation.get(correlation)
            return self._messages.get(message_id) if message_id is not None else None

    def list(self, **filters: Unpack[MailFilters]) -> builtins.list[CapturedMessage]:
        """The messages matching every given filter (``to``, ``from_``, ``subject``, ``since``: see the module
        docstring), oldest first."""
        match = matcher(**filters)
        candidates, _ = self._candidates(ordered(filters))
        return [m for m in candidates if match(m)]

    def wait_for(
        self,
        count: int = 1,
        timeout: float = 5.0,
        *,
        cancel: threading.Event | None = None,
        **filters: Unpack[MailFilters],
    ) -> builtins.list[CapturedMessage]:
        """Block until at least ``count`` messages match the filters (those of :meth:`list`); return all that match,
        oldest first.

        Woken by each capture (no polling). After ``timeout`` seconds raises
        :class:`~mockserver.errors.AssertionHelperError` listing the filters and what *was* captured; so does a
        wait interrupted by :meth:`interrupt_waiters`, or one whose ``cancel`` event is set (checked under the lock
        :meth:`interrupt_waiters` takes: set the event, then interrupt, and no wait can slip between the two).
        """
        __tracebackhide__ = True  # pytest shows the caller's line and this message, not our frames
        if count < 1:
            raise ValueError(f"count must be at least 1, got {count}")
        filters = ordered(filters)
        match = matcher(**filters)
        deadline = time.monotonic() + max(timeout, 0.0)
        with self._cond:
            generation = self._generation
        while True:
            candidates, seen = self._candidates(filters)
            with self._cond:
                interrupted = self._generation != generation or (cancel is not None and cancel.is_set())
            found = [m for m in candidates if match(m)]  # outside the lock: matching may parse
            remaining = deadline - time.monotonic()
            if len(found) >= count or remaining <= 0 or interrupted:
                break
            with self._cond:
                # nothing new since the snapshot and no interrupt: sleep until an add or an interrupt
                if self._captured == seen and self._generation == generation and not (cancel and cancel.is_set()):
                    self._cond.wait(remaining)
        if len(found) >= count:
            return found
        captured = self._snapshot()
        message = _timeout_message(count, timeout, found, captured, **filters)
        if interrupted:
            message = "wait_for: interrupted (the server is stopping); " + message.removeprefix("wait_for: ")
        raise AssertionHelperError(message)

    def _candidates(self, filters: MailFilters) -> tuple[builtins.list[CapturedMessage], int]:
        """The held messages that may match the filters, oldest first (a superset: the caller applies the filter),
        and the capture count they reflect (every capture counted is among them, if it matches)."""
        after = _after_id(filters.get("since"))
        # what the index narrows; from_ only by the filter
        needles = {"to": filters.get("to"), "subject": filters.get("subject")}
        if not any(needle and trigrams(needle.casefold()) for needle in needles.values()):
            with self._cond:  # nothing the index can narrow: no need to bring it up to date (nor to parse)
                return self._newer_than(after) or [], self._captured
        with self._index_lock:
            with self._cond:
                pending, stale = builtins.list(self._pending.values()), self._stale
                self._pending, self._stale = {}, []
                reset, self._index_reset = self._index_reset, False
                # every capture counted here is handed over now (or was before): a waiter that sees the count
                # move on knows there is something it has not looked at
                seen = self._captured
            if reset:
                self._index.clear()
            for message_id in stale:
                self._index.remove(message_id)
            # outside _cond: reading the fields parses a message on first use, and must not stall the sink's add()
            for message in pending:
                self._index.add(message.id, _indexed_values(message))
            ids = self._index.candidates(needles)
        with self._cond:
            if ids is None:
                return self._newer_than(after) or [], seen
            held = self._messages
            if after > 0:  # since=<id>: the newer messages, when there are fewer of them than candidates
                newer = self._newer_than(after, at_most=len(ids))
                if newer is not None:
                    return [m for m in newer if m.id in ids], seen
            return [held[i] for i in sorted(ids) if i > after and i in held], seen

    def _newer_than(self, after: int, at_most: int | None = None) -> builtins.list[CapturedMessage] | None:
        """The held messages with an id above ``after``, oldest first; ``None`` when there are more than
        ``at_most`` of them (read from the newest back: the cost is theirs, not the store's). Call under ``_cond``."""
        if after <= 0 and at_most is None:
            return builtins.list(self._messages.values())
        newer: builtins.list[CapturedMessage] = []
        for message in reversed(self._messages.values()):
            if message.id <= after:
                break
            if at_most is not None and len(newer) >= at_most:
                return None
            newer.append(message)
        newer.reverse()
        return newer

    def _snapshot(self) -> builtins.list[CapturedMessage]:
        # Readers filter a copy outside the lock: parsing on first read must not stall the sink's add().
        with self._cond:
            return builtins.list(self._messages.values())


_SHOWN = 20


def _indexed_values(message: CapturedMessage) -> dict[str, builtins.list[str]]:
    """What the index knows of ``message``: the values each filter looks at (see ``filters.matcher``)."""
    return {"to": [*message.rcpt_tos, message.to or ""], "subject": [message.subject or ""]}


def _after_id(since: int | str | datetime | None) -> int:
    """The message id ``since`` names (messages above it), or 0 when it names none (a time, or nothing)."""
    if isinstance(since, int) and not isinstance(since, bool):
        return since
    if isinstance(since, str) and since.strip().isdigit():
        return int(since.strip())
    return 0


def _timeout_message(
    count: int,
    timeout: float,
    found: Sequence[CapturedMessage],
    captured: Sequence[CapturedMessage],
    **filters: Any,
) -> str:
    given = " ".join(f"{k}={v!r}" for k, v in filters.items() if v is not None and v != "") or "(no filters)"
    lines = [
        f"wait_for: expected at least {count} message(s) matching {given} within {timeout:g} s, "
        f"but {len(found)} matched."
    ]
    if not captured:
        lines.append("Nothing was captured at all: is the client sending to this sink's smtp/smtps port?")
    else:
        shown = captured[-_SHOWN:]
        more = f", showing the last {len(shown)}" if len(captured) > len(shown) else ""
        lines.append(f"Captured ({len(captured)} message(s), oldest first{more}):")
        lines.extend(f"  {m.summary()}" for m in shown)
        lines.append("Filters are case-insensitive substrings of the envelope and the To/From/Subject headers.")
    return "\n".join(lines)
