"""What the connections of one server share: the app, the limits, the worker queue, the set of open connections
and the stop protocol (:meth:`Hub.close_all` on the loop thread, then :meth:`Hub.abort_all` after the grace)."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from typing import Any

__all__ = ["Hub", "Limits"]


@dataclass(frozen=True)
class Limits:
    head_timeout: float = 10.0
    body_timeout: float = 30.0
    idle_timeout: float = 60.0
    max_head: int = 64 * 1024
    max_body: int = 1024 * 1024
    max_connections: int = 4096


class Hub:
    """What the connections of one server share (used on the loop thread only, but for ``submit``)."""

    def __init__(self, app: Any, limits: Limits, submit: Any, stopping: threading.Event) -> None:
        self.app = app
        self.limits = limits
        self.submit = submit
        self.stopping = stopping
        self.base: dict[str, Any] = {}
        #: ``(request, base environ) -> Outcome | None``: answers a request on the loop (``wsgi.fast_outcome``)
        self.fast: Any = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.connections: set[Any] = set()  # protocol.Connection (which imports this module)
        self.listener: Any = None  # listener.Listener: close() stops accepting
        self.closing = False
        self.all_closed = threading.Event()

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
