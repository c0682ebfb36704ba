"""Captured mail of a remote server (``/_mock/messages``): ``RemoteSink`` and the ``RemoteMessage`` objects it returns.

``RemoteSink`` has the surface of ``MockServer.sink``; ``mockserver.remote.server`` re-exports both names.
"""

from __future__ import annotations

import builtins
import copy
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Unpack

from ..core import admin_routes as routes
from ..core.mail.filters import MailFilters, ordered
from ..core.surface import MailSink
from ..errors import AssertionHelperError, ServerError
from .http import AdminTransport, _HttpError, call_all

__all__ = ["RemoteMessage", "RemoteSink"]


@dataclass(frozen=True, repr=False)
class RemoteMessage:
    """One captured message as ``GET /_mock/messages`` gives it, with the attributes of ``CapturedMessage``
    (``raw`` is fetched from ``GET /_mock/messages/<id>/raw`` when read)."""

    id: int
    received_at: str
    mail_from: str
    rcpt_tos: list[str]
    subject: str | None
    from_: str | None
    to: str | None
    date: str | None
    message_id: str | None
    text: str | None
    size: int
    raw_size: int
    raw_truncated: bool
    peer: str
    listener: str
    tls: dict[str, str] | None = None
    auth_user: str | None = None
    testconnection: dict[str, Any] | None = None
    transcript: list[str] | None = None
    text_truncated: bool = False
    _server: AdminTransport | None = field(default=None, compare=False)
    _source: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], server: AdminTransport | None = None) -> RemoteMessage:
        """From the camelCase form of ``CapturedMessage.to_dict()``."""
        return cls(
            id=int(data["id"]),
            received_at=data["receivedAt"],
            mail_from=data["mailFrom"],
            rcpt_tos=list(data.get("rcptTos") or []),
            subject=data.get("subject"),
            from_=data.get("from"),
            to=data.get("to"),
            date=data.get("date"),
            message_id=data.get("messageId"),
            text=data.get("text"),
            size=int(data.get("size") or 0),
            raw_size=int(data.get("rawSize") or 0),
            raw_truncated=bool(data.get("rawTruncated")),
            peer=data.get("peer") or "",
            listener=data.get("listener") or "",
            tls=dict(data["tls"]) if data.get("tls") is not None else None,
            auth_user=data.get("authUser"),
            testconnection=dict(data["testconnection"]) if data.get("testconnection") is not None else None,
            transcript=list(data["transcript"]) if data.get("transcript") is not None else None,
            text_truncated=bool(data.get("textTruncated")),
            _server=server,
            _source=dict(data),
        )

    @property
    def raw(self) -> bytes:
        """The message source as kept by the server (see ``raw_truncated``)."""
        if self._server is None:
            raise ServerError("this message is not tied to a server; its raw source cannot be fetched")
        raw: bytes = self._server.admin(routes.MESSAGE_RAW, message_id=self.id, raw=True)
        return raw

    def to_dict(self) -> dict[str, Any]:
        """The same camelCase dict as ``CapturedMessage.to_dict()``: the one the server sent."""
        return copy.deepcopy(self._source)

    def summary(self) -> str:
        """One line for error messages: ``#3 from=<a@x> to=<b@y> subject='Hello'``."""
        return f"#{self.id} from=<{self.mail_from}> to=<{', '.join(self.rcpt_tos)}> subject={self.subject!r}"

    def __repr__(self) -> str:
        return (
            f"RemoteMessage(id={self.id}, mail_from={self.mail_from!r}, rcpt_tos={self.rcpt_tos!r}, "
            f"subject={self.subject!r}, listener={self.listener!r}, size={self.size})"
        )


class RemoteMailbox:
    """The mailbox of a remote server's sandbox over ``/_mock/messages`` (what ``RemoteSink`` reads and waits on)."""

    def __init__(self, server: AdminTransport) -> None:
        self._server = server

    def _list(self, query: Mapping[str, Any], timeout: float | None = None) -> builtins.list[RemoteMessage]:
        items = call_all(self._server, routes.MESSAGES, query, timeout=timeout)
        return [RemoteMessage.from_dict(item, self._server) for item in items]

    def list(self, **filters: Unpack[MailFilters]) -> builtins.list[RemoteMessage]:
        """The messages matching ``filters``, oldest first."""
        return self._list(_query(filters))

    def clear(self) -> None:
        self._server.admin(routes.CLEAR_MESSAGES)

    def wait_for(
        self, count: int = 1, timeout: float = 5.0, **filters: Unpack[MailFilters]
    ) -> builtins.list[RemoteMessage]:
        """Block (server-side, event-driven) until ``count`` messages match; return all that match, oldest first.

        After ``timeout`` seconds raises :class:`AssertionHelperError` listing the filters and what was captured.
        """
        __tracebackhide__ = True  # pytest shows the caller's line and this message, not our frames
        if count < 1:
            raise ValueError(f"count must be at least 1, got {count}")
        query = _query(filters)
        deadline = time.monotonic() + max(timeout, 0.0)
        while True:
            wait = max(deadline - time.monotonic(), 0.0)
            try:
                found = self._list({**query, "wait": round(wait, 3), "count": count}, wait + self._server.timeout)
                break
            except _HttpError as exc:  # 429: the server's long-poll slots are taken; it asks to retry in 1 s
                if exc.status != 429 or wait <= 0:
                    raise
                time.sleep(min(1.0, wait))
        if len(found) < count:
            wanted = ", ".join(f"{k}={v!r}" for k, v in query.items() if v is not None) or "no filter"
            seen = "\n".join(f"  {m.summary()}" for m in self._list({}))
            raise AssertionHelperError(
                f"expected {count} message(s) matching {wanted} within {timeout} s, got {len(found)}; "
                f"captured:\n{seen or '  (nothing)'}"
            )
        return found


def _query(filters: MailFilters) -> dict[str, Any]:
    """The ``GET /_mock/messages`` query of mail filters (``from_`` is ``from``; a time in ISO-8601)."""
    given = ordered(filters)
    since = given.get("since")
    return {
        "to": given.get("to"),
        "from": given.get("from_"),
        "subject": given.get("subject"),
        "since": since.isoformat() if isinstance(since, datetime) else since,
    }


class RemoteSink(MailSink[RemoteMessage]):
    """Captured mail of a remote server (``/_mock/messages``), with the surface of ``MockServer.sink``."""

    def __init__(self, server: AdminTransport) -> None:
        self._server = server
        self._box = RemoteMailbox(server)

    def _mailbox(self) -> RemoteMailbox:
        return self._box

    @property
    def ports(self) -> dict[str, int]:
        """``{"smtp": port, "smtps": port}`` as the server bound them."""
        return {k: v for k, v in self._server.ports().items() if k != "http"}

    @property
    def ca_pem(self) -> bytes:
        """The CA certificate (PEM) that verifies both listeners."""
        return self._server.ca_pem

    def __repr__(self) -> str:
        return f"<RemoteSink {self._server.base_url}>"
