"""The mail side of the declared test surface (``mockserver.core.surface`` re-exports it): a captured message
(:class:`MailMessage`), the mailbox a sink reads (:class:`Mailbox`) and the sink (:class:`MailSink`), whose
``messages``, ``clear()``, ``wait_for()`` and port properties are written here once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol, TypeVar, Unpack, runtime_checkable

from .filters import MailFilters

__all__ = ["MailMessage", "MailSink", "Mailbox"]


@runtime_checkable
class MailMessage(Protocol):
    """One captured message (``CapturedMessage`` in process, ``RemoteMessage`` over the admin API)."""

    @property
    def id(self) -> int: ...
    @property
    def received_at(self) -> str: ...
    @property
    def mail_from(self) -> str: ...
    @property
    def rcpt_tos(self) -> list[str]: ...
    @property
    def subject(self) -> str | None: ...
    @property
    def from_(self) -> str | None: ...
    @property
    def to(self) -> str | None: ...
    @property
    def text(self) -> str | None: ...
    @property
    def raw(self) -> bytes: ...
    @property
    def raw_truncated(self) -> bool: ...
    @property
    def size(self) -> int: ...
    @property
    def listener(self) -> str: ...
    @property
    def tls(self) -> dict[str, str] | None: ...
    @property
    def auth_user(self) -> str | None: ...
    @property
    def testconnection(self) -> dict[str, Any] | None: ...

    def to_dict(self) -> dict[str, Any]:
        """The camelCase form ``GET /_mock/messages`` answers."""
        ...

    def summary(self) -> str:
        """One line for error messages: ``#3 from=<a@x> to=<b@y> subject='Hello'``."""
        ...


#: the kind of message a sink returns (``CapturedMessage`` in process, ``RemoteMessage`` remote)
M_co = TypeVar("M_co", bound=MailMessage, covariant=True)


class Mailbox(Protocol[M_co]):
    """Where a :class:`MailSink` reads and waits: a :class:`~mockserver.core.mail.store.MailStore` in process, the
    admin API for a remote server (``mockserver.remote.mail``)."""

    def list(self, **filters: Unpack[MailFilters]) -> Sequence[M_co]: ...
    def clear(self) -> None: ...
    def wait_for(self, count: int = 1, timeout: float = 5.0, **filters: Unpack[MailFilters]) -> Sequence[M_co]: ...


@runtime_checkable
class MailSink(Protocol[M_co]):
    """The captured mail of one sandbox, and the SMTP sink's addresses.

    ``messages``, ``clear()`` and ``wait_for()`` are written here once, over the :meth:`_mailbox` a sink names."""

    def _mailbox(self) -> Mailbox[M_co]:
        """The mailbox the members below act on (looked up on each call: a sandbox may have been recreated)."""
        ...

    @property
    def messages(self) -> Sequence[M_co]:
        """Every captured message, oldest first (a property: ``sink.messages``, not ``sink.messages()``)."""
        return self._mailbox().list()

    def clear(self) -> None:
        """Forget the captured messages."""
        self._mailbox().clear()

    def wait_for(
        self,
        count: int = 1,
        timeout: float = 5.0,
        *,
        to: str | None = None,
        from_: str | None = None,
        subject: str | None = None,
        since: int | str | datetime | None = None,
    ) -> Sequence[M_co]:
        """Block until ``count`` messages match; every match, oldest first. After ``timeout`` seconds
        :class:`~mockserver.errors.AssertionHelperError` lists the filters and what was captured.

        ``to``, ``from_`` and ``subject`` are case-insensitive substrings (of the envelope or the header); ``since``
        a message id or a time: only the messages after it."""
        __tracebackhide__ = True  # pytest shows the caller's line and this message, not our frames
        return self._mailbox().wait_for(count, timeout, to=to, from_=from_, subject=subject, since=since)

    @property
    def ports(self) -> dict[str, int]:
        """``{"smtp": ..., "smtps": ...}``: the listeners' ports (the bound ones once started)."""
        ...

    @property
    def smtp_port(self) -> int:
        """The plain/STARTTLS listener's port."""
        return self.ports["smtp"]

    @property
    def smtps_port(self) -> int:
        """The implicit-TLS listener's port."""
        return self.ports["smtps"]

    @property
    def ca_pem(self) -> bytes:
        """The PEM CA certificate that verifies both listeners."""
        ...
