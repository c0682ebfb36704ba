"""aiosmtpd's protocol as the sink runs it: :class:`TrackedSMTP` registers its connection with the sink (which stops
them all cleanly) and :class:`SinkServices` is what a connection needs from the sink that runs it. The sink's
behaviour on top (faults, policy, capture) is ``smtp/protocol.py``'s :class:`~mockserver.smtp.protocol.SinkSMTP`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, Protocol

from aiosmtpd.smtp import SMTP, Session

from ..core.faults.decisions import SmtpFault
from ..core.mail.store import MailStore
from .limits import SinkBudget, SinkLimits
from .routing import Router

__all__ = ["SinkServices", "TrackedSMTP", "hook_names"]

log = logging.getLogger("cxmock.smtp")


class SinkServices(Protocol):
    """What a connection needs from the sink that runs it (``SmtpSink`` implements it): the loop, the registry of
    open connections, policy, the fault hook, the store, and where to report a sink-level error."""

    server_hostname: str
    require_auth: bool
    store: MailStore
    limits: SinkLimits
    budget: SinkBudget
    router: Router | None

    @property
    def fault_hook(self) -> Callable[[str, str | None, str], SmtpFault | None] | None: ...

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None: ...

    @property
    def connections(self) -> set[TrackedSMTP]: ...

    def is_probe(self, peer: Any) -> bool: ...

    def record_error(self, error: BaseException) -> None: ...


class _Session(Session):
    # aiosmtpd's ``login_data`` property logs a deprecation warning on every successful AUTH; a plain attribute
    # keeps the logs quiet (the sink reads ``auth_data``).
    login_data: Any = None


#: the prefixes aiosmtpd's SMTP.__init__ discovers by dir(): AUTH mechanisms, handler hooks, SMTP commands
_DISCOVERED = ("auth_", "handle_", "smtp_")


_hook_names: dict[type, list[str]] = {}


def hook_names(cls: type) -> list[str]:
    """The attribute names of ``cls`` aiosmtpd looks for with ``dir()`` (:data:`_DISCOVERED`), listed once per class."""
    names = _hook_names.get(cls)
    if names is None:
        names = _hook_names[cls] = sorted(name for name in dir(cls) if name.startswith(_DISCOVERED))
    return names


class TrackedSMTP(SMTP):
    """aiosmtpd's protocol plus what :class:`SmtpSink` needs to stop cleanly: a registry of open connections.

    Protocols returned by :meth:`SmtpSink.factory` must derive from it; ``kwargs`` go to aiosmtpd's ``SMTP``
    (``hostname`` defaults to the sink's, ``loop`` is the sink's).
    """

    def __init__(self, handler: Any, *, sink: SinkServices, listener: str, **kwargs: Any) -> None:
        assert sink.loop is not None, "protocols are created by a running sink"
        kwargs.setdefault("hostname", sink.server_hostname)
        super().__init__(handler, loop=sink.loop, **kwargs)
        self.listener = listener
        self._registry = sink.connections
        self.lost: asyncio.Future[None] = self.loop.create_future()

    def __dir__(self) -> list[str]:
        # aiosmtpd's SMTP.__init__ finds AUTH mechanisms, hooks and commands by dir() on every connection, the AUTH
        # ones with inspect.getmembers(self), which getattr()s every name listed (~7% of the sink's CPU per
        # testconnection): only the names with its prefixes matter to it, so those are what dir() lists here
        return hook_names(type(self))

    def _create_session(self) -> Session:
        return _Session(self.loop)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        first = self.transport is None
        super().connection_made(transport)
        if first:
            self._registry.add(self)
            assert self._handler_coroutine is not None
            self._handler_coroutine.add_done_callback(_retrieve_exception)

    def connection_lost(self, error: Exception | None) -> None:
        self._registry.discard(self)
        if not self.lost.done():
            self.lost.set_result(None)
        if self.transport is not None:
            super().connection_lost(error)

    def abort(self) -> None:
        """Close the connection at once, without a TLS close_notify."""
        transport = self._original_transport or self.transport
        if isinstance(transport, asyncio.Transport):
            transport.abort()


def _retrieve_exception(task: asyncio.Task[None]) -> None:
    # A session ends with an exception when the peer resets mid-reply; that is the peer's business.
    if not task.cancelled() and task.exception() is not None:
        log.debug("SMTP session ended with %r", task.exception())
