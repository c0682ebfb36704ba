"""Sandboxes in the SMTP sink: where one session's fault decisions and captured mail go.

When the sink has a ``router``, each session asks it, from what is known so far: the peer (a testconnection
session registers its source address), the AUTH login (``<sandbox>/<user>``: the user is then ``<user>``) and the
accepted recipients (``user+sandbox-<name>@...``). No route: the sink's own store and fault hook (the default
sandbox). The names and addressing rules are ``mockserver.core.sandboxes.names``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ..core.faults.decisions import SmtpFault
from ..core.mail.store import MailStore
from ..core.sandboxes.names import split_login
from ..errors import CxMockError

__all__ = ["MailRoute", "Router", "log_context", "plain_user", "resolve", "route_of"]


@dataclass(frozen=True)
class MailRoute:
    """Where one SMTP session's fault decisions and captured mail go (a sandbox's store and fault hook)."""

    store: MailStore
    fault_hook: Callable[[str, str | None, str], SmtpFault | None] | None
    #: ``(sandbox, request id)`` its log lines name: the sandbox, and the testconnection request that opened it
    log: tuple[str | None, int | None] = (None, None)


#: ``router(peer, login, recipients) -> MailRoute | None`` (None: the sink's own store and fault hook); raises a
#: ``CxMockError`` when the session addresses a sandbox that cannot be used (its message is the SMTP reply text)
Router = Callable[[Any, "str | None", Sequence[str]], "MailRoute | None"]


class RoutedSink(Protocol):
    """What :func:`route_of` reads from the sink."""

    store: MailStore
    router: Router | None

    @property
    def fault_hook(self) -> Callable[[str, str | None, str], SmtpFault | None] | None: ...


def route_of(sink: RoutedSink, session: Any, envelope: Any, login: str | None) -> MailRoute:
    """The route of a session now: the sink's router's answer, else the sink's own store and fault hook. Raises
    what the router raises (``CxMockError``)."""
    if sink.router is not None:
        peer = session.peer if session is not None else None
        recipients = envelope.rcpt_tos if envelope is not None else []
        found = sink.router(peer, login, recipients)
        if found is not None:
            return found
    return MailRoute(sink.store, sink.fault_hook)


def resolve(route: Callable[[], MailRoute]) -> MailRoute | str:
    """``route()``, or why the sandbox it names cannot be used (one printable line, for an SMTP reply)."""
    try:
        return route()
    except CxMockError as exc:
        return str(exc)[:400].encode("ascii", "backslashreplace").decode("ascii")


def plain_user(login: str | None, router: Router | None) -> str | None:
    """The user of an AUTH ``login``: without its ``<sandbox>/`` when the sink routes to sandboxes."""
    return split_login(login)[1] if router is not None else login


def log_context(protocol: Any) -> dict[str, Any]:
    """The ``extra=`` of a session's log line: its sandbox and the request that opened it, where known."""
    route = getattr(protocol, "route", None)
    found = resolve(route) if route is not None and not getattr(protocol, "_is_probe", False) else None
    sandbox, request_id = found.log if isinstance(found, MailRoute) else (None, None)
    return {"sandbox": sandbox, "request_id": request_id}
