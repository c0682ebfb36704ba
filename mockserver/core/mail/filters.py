"""``MailStore`` filter arguments (``to``/``from_``/``subject``/``since``, documented in ``core/mail/store.py``) into a
predicate over :class:`~mockserver.core.mail.message.CapturedMessage`. Pure functions, no state, no IO.

:class:`MailFilters` types the four keywords once, for every mailbox that takes them (``MailStore.list``/``wait_for``,
the remote mailbox, the sinks of ``mockserver.core.surface.MailSink``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypedDict, Unpack

from ...errors import BadRequest
from .message import CapturedMessage

__all__ = ["FILTER_NAMES", "MailFilters", "matcher", "ordered"]


class MailFilters(TypedDict, total=False):
    """The filters of a mail query, each optional: ``to``, ``from_`` and ``subject`` are case-insensitive substrings
    (of the envelope or the header), ``since`` a message id or a time (the messages after it)."""

    to: str | None
    from_: str | None
    subject: str | None
    since: int | str | datetime | None


#: the filter names, in the order messages name them
FILTER_NAMES = ("to", "from_", "subject", "since")


def ordered(filters: MailFilters) -> MailFilters:
    """All four filters in :data:`FILTER_NAMES` order (``None`` where not given); a ``TypeError`` for another name,
    as a keyword argument it does not take would raise."""
    unknown = sorted(set(filters) - set(FILTER_NAMES))
    if unknown:
        raise TypeError(f"unexpected mail filter(s) {', '.join(unknown)}: the filters are {', '.join(FILTER_NAMES)}")
    return MailFilters(
        to=filters.get("to"), from_=filters.get("from_"), subject=filters.get("subject"), since=filters.get("since")
    )


def _parse_since(since: int | str | datetime) -> Callable[[CapturedMessage], bool]:
    if isinstance(since, bool):
        raise BadRequest(f"since must be a message id or an ISO-8601 time, got {since!r}")
    if isinstance(since, int):
        after_id = since
        return lambda m: m.id > after_id
    if isinstance(since, str):
        text = since.strip()
        if text.isdigit():
            after = int(text)
            return lambda m: m.id > after
        try:
            when = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise BadRequest(
                f"since must be a message id (e.g. 12) or an ISO-8601 time (e.g. 2024-05-01T10:00:00Z), got {since!r}"
            ) from None
    else:
        when = since
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return lambda m: datetime.fromisoformat(m.received_at) >= when


def matcher(**filters: Unpack[MailFilters]) -> Callable[[CapturedMessage], bool]:
    """A predicate: does a message match every given filter."""
    given = ordered(filters)
    to, from_, subject, since = given.get("to"), given.get("from_"), given.get("subject"), given.get("since")
    checks: list[Callable[[CapturedMessage], bool]] = []
    if to:
        needle_to = to.casefold()
        checks.append(lambda m: any(needle_to in v.casefold() for v in (*m.rcpt_tos, m.to or "")))
    if from_:
        needle_from = from_.casefold()
        checks.append(lambda m: any(needle_from in v.casefold() for v in (m.mail_from, m.from_ or "")))
    if subject:
        needle_subject = subject.casefold()
        checks.append(lambda m: needle_subject in (m.subject or "").casefold())
    if since is not None and since != "":
        checks.append(_parse_since(since))
    return lambda m: all(check(m) for check in checks)
