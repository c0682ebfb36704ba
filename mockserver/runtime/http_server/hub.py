"""What the connections of one server share: the app, the limits, the worker queue, the set of open connections
and the stop protocol (:meth:`Hub.close_all` on the loop thread, then :meth:`Hub.abort_all` after the grace).

Connection budget (:meth:`Hub.admit`): at most ``max_connections`` open (``cxmock serve`` derives it from the
descriptor limit, :func:`descriptor_budget`), at most :func:`address_share` of them from one client address. A
newcomer over the cap takes the place of the longest-idle keep-alive connection of an address holding more than it
does (an idle keep-alive connection may be closed at any time, RFC 9112 §9.8); otherwise it gets 503 with
``Retry-After``.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import resource
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .hooks import AppHooks, Refusal
from .wsgi import Request, answer_bytes, path_info

__all__ = ["Hub", "Limits", "address_share", "descriptor_budget"]

#: descriptors kept for everything but HTTP connections (the process itself, log and journal files, testconnection
#: sockets, the listeners), beyond the SMTP sink's own budget
RESERVED_DESCRIPTORS = 64
#: idle connections examined for one eviction, at most (the oldest first)
EVICTION_SCAN = 32

log = logging.getLogger("cxmock.server")


@dataclass(frozen=True)
class Limits:
    head_timeout: float = 10.0
    body_timeout: float = 30.0
    idle_timeout: float = 60.0
    max_head: int = 64 * 1024
    max_body: int = 1024 * 1024
    max_connections: int = 4096
    #: request header fields at most (the head's size bounds them too; this bounds what they cost as objects); 431
    max_headers: int = 1000


def descriptor_budget(configured: int, reserved: int) -> int:
    """The HTTP connection cap: ``configured``, but never more than the descriptor limit (``RLIMIT_NOFILE``)
    leaves once ``reserved`` descriptors (the SMTP sink, files, the rest of the process) are set aside; at least
    half the limit when ``reserved`` would take more."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft <= 0:
        return configured
    return max(1, min(configured, max(soft // 2, soft - reserved - RESERVED_DESCRIPTORS)))


def address_share(cap: int) -> int:
    """Connections one client address may hold: half the cap (so one address never takes them all)."""
    return max(1, cap // 2)


class Hub:
    """What the connections of one server share (used on the loop thread only, but for ``submit``)."""

    def __init__(
        self, app: Any, limits: Limits, submit: Any, stopping: threading.Event, hooks: AppHooks | None = None
    ) -> None:
        self.app = app
        self.limits = limits
        self.submit = submit
        self.stopping = stopping
        self.hooks = hooks or AppHooks()
        #: the largest body read now (``--max-body``, which a running server may change); ``limits.max_body`` if unset
        self.body_limit: Callable[[], int] = lambda: limits.max_body
        self.base: dict[str, Any] = {}
        self.loop: asyncio.AbstractEventLoop | None = None
        self.connections: set[Any] = set()  # protocol.Connection (which imports this module)
        self.by_address: dict[str, set[Any]] = {}
        #: idle keep-alive connections, the longest idle first (the candidates for eviction)
        self.idle: dict[Any, None] = {}
        self.listener: Any = None  # listener.Listener: close() stops accepting
        self.closing = False
        self.all_closed = threading.Event()

    def error_bytes(
        self,
        status: int,
        details: str,
        headers: tuple[str, ...] = (),
        request: Request | None = None,
        remote: str = "",
    ) -> bytes:
        """A whole ``Connection: close`` answer of the server itself, its body the app's ``error_body``; the answer
        to ``request`` (the head as read so far) is handed to the app's finishing step (``AppHooks.refused``)."""
        hooks = self.hooks
        content_type, body = hooks.error_body(status, details)
        if request is not None and hooks.refused is not None:
            headers_read = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in request.headers]
            path = path_info(request.path) if request.path.startswith(b"/") else None
            refusal = Refusal(
                request.method or None,
                path,
                request.query.decode("latin-1"),
                headers_read,
                remote,
                status,
                content_type,
                body,
            )
            try:
                hooks.refused(refusal)
            except Exception:  # a bug: the answer is sent all the same
                log.exception("the finishing hook failed on a refused request (HTTP %s)", status)
        return answer_bytes(status, content_type, body, headers)

    # -- the connection budget (loop thread) --------------------------------------------------------------------
    def admit(self, conn: Any, address: str) -> str | None:
        """Count ``conn`` in, or say why it is refused (a sentence for its 503)."""
        if self.closing:
            return "the server is stopping"
        cap = self.limits.max_connections
        mine = self.by_address.get(address)
        held = len(mine) if mine is not None else 0
        share = address_share(cap)
        if held >= share:
            return (
                f"{held} connections from {address} are open, the most one client address may hold "
                f"(half of http_max_connections: {share})"
            )
        if len(self.connections) >= cap and not self._evict_for(held):
            return f"{cap} connections are open (http_max_connections, and the descriptor limit)"
        self.connections.add(conn)
        self.by_address.setdefault(address, set()).add(conn)
        return None

    def _evict_for(self, held: int) -> bool:
        """Close the longest-idle connection of an address holding more connections than ``held``."""
        for victim in list(itertools.islice(self.idle, EVICTION_SCAN)):
            if not victim.evictable():
                self.idle.pop(victim, None)
                continue
            if len(self.by_address.get(victim.address, ())) > held + 1:
                self.release(victim)
                victim.evict()
                return True
        return False

    def release(self, conn: Any) -> None:
        """Count ``conn`` out (idempotent)."""
        self.connections.discard(conn)
        self.idle.pop(conn, None)
        mine = self.by_address.get(conn.address)
        if mine is not None:
            mine.discard(conn)
            if not mine:
                del self.by_address[conn.address]

    # -- stop ---------------------------------------------------------------------------------------------------
    def close_all(self) -> None:
        """Stop taking requests: idle and half-received connections close now, busy ones after their answer."""
        self.closing = True
        if self.listener is not None:
            self.listener.close()
        for conn in list(self.connections):
            conn.shutdown()
        if not self.connections:
            self.all_closed.set()

    def abort_all(self) -> None:
        for conn in list(self.connections):
            conn.abort()
