"""The record of one message the sink accepted: envelope, connection facts, and headers parsed on first access."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .parse import parse_message

__all__ = ["CapturedMessage"]


@dataclass(repr=False)
class CapturedMessage:
    """One message accepted by the sink: envelope, parsed headers, body, connection facts.

    ``raw`` holds at most the store's ``raw_limit`` bytes (``raw_truncated`` says whether it was cut); ``size``
    is the size of the whole message as received. ``testconnection`` and ``transcript`` are set only for mail
    sent by the testconnection endpoint (see :meth:`MailStore.attach_testconnection`).

    The parsed fields (``subject``, ``from_``, ``to``, ``date``, ``message_id``, ``text``, ``html``,
    ``correlation``) are computed on first access and cached, which keeps header parsing off the sink's hot path;
    a truncated message is parsed at capture, from a bounded start of its source (see :class:`MailStore`). Either
    way ``text`` and ``html`` hold at most ``raw_limit`` characters each (``text_truncated``/``html_truncated`` say
    whether they were cut or may be incomplete).
    """

    id: int
    received_at: str
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    raw_truncated: bool
    size: int
    peer: str
    listener: str
    tls: dict[str, str] | None = None
    auth_user: str | None = None
    testconnection: dict[str, Any] | None = None
    transcript: list[str] | None = None
    _parsed: dict[str, Any] | None = field(default=None, compare=False)

    def _parse(self) -> dict[str, Any]:
        parsed = self._parsed
        if parsed is None:  # two threads may both parse: same result, no harm
            parsed = self._parsed = parse_message(self.raw)
        return parsed

    def _field(self, key: str) -> str | None:
        value = self._parse()[key]
        return value if isinstance(value, str) else None

    @property
    def subject(self) -> str | None:
        """The decoded ``Subject`` header."""
        return self._field("subject")

    @property
    def from_(self) -> str | None:
        """The decoded ``From`` header."""
        return self._field("from_")

    @property
    def to(self) -> str | None:
        """The decoded ``To`` header."""
        return self._field("to")

    @property
    def date(self) -> str | None:
        return self._field("date")

    @property
    def message_id(self) -> str | None:
        return self._field("message_id")

    @property
    def text(self) -> str | None:
        """The first ``text/plain`` part that is not an attachment, decoded."""
        return self._field("text")

    @property
    def html(self) -> str | None:
        """The first ``text/html`` part that is not an attachment, decoded (attacker-controlled: render sandboxed)."""
        return self._field("html")

    @property
    def text_truncated(self) -> bool:
        """Whether :attr:`text` was cut: to the store's raw limit, or because the raw source was cut inside it."""
        return bool(self._parse()["text_truncated"])

    @property
    def html_truncated(self) -> bool:
        """Whether :attr:`html` was cut (as :attr:`text_truncated`)."""
        return bool(self._parse()["html_truncated"])

    @property
    def correlation(self) -> str | None:
        """The ``X-Cxmock-Correlation`` header (testconnection mail only)."""
        return self._field("correlation")

    def __repr__(self) -> str:
        return (
            f"CapturedMessage(id={self.id}, mail_from={self.mail_from!r}, rcpt_tos={self.rcpt_tos!r}, "
            f"subject={self.subject!r}, listener={self.listener!r}, size={self.size})"
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly camelCase dict of everything but the raw source (``rawSize`` gives its size)."""
        return {
            "id": self.id,
            "receivedAt": self.received_at,
            "mailFrom": self.mail_from,
            "rcptTos": list(self.rcpt_tos),
            "subject": self.subject,
            "from": self.from_,
            "to": self.to,
            "date": self.date,
            "messageId": self.message_id,
            "text": self.text,
            "textTruncated": self.text_truncated,
            "html": self.html,
            "htmlTruncated": self.html_truncated,
            "size": self.size,
            "rawSize": len(self.raw),
            "rawTruncated": self.raw_truncated,
            "peer": self.peer,
            "listener": self.listener,
            "tls": dict(self.tls) if self.tls is not None else None,
            "authUser": self.auth_user,
            "testconnection": dict(self.testconnection) if self.testconnection is not None else None,
            "transcript": list(self.transcript) if self.transcript is not None else None,
        }

    def summary(self) -> str:
        """One line for error messages: ``#3 from=<a@x> to=<b@y> subject='Hello'``."""
        return f"#{self.id} from=<{self.mail_from}> to=<{', '.join(self.rcpt_tos)}> subject={self.subject!r}"
