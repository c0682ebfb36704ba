"""What the connections of one server share: the app, the limits, the worker queue, the set of open connections
and the stop protocol (:meth:`Hub.close_all` on the loop thread, then :meth:`Hub.abort_all` after the grace)."""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass
from typing import Any

from .hooks import AppHooks, Refusal
from .wsgi import Request, answer_bytes, path_info

__all__ = ["Hub", "Limits"]

log = logging.getLogger("cxmock.server")


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

    def __init__(
        self, app: Any, limits: Limits, submit: Any, stopping: threading.Event, hooks: AppHooks | None = None
    ) -> None:
        self.app = app
        self.limits = limits
        self.submit = submit
        self.stopping = stopping
        self.hooks = hooks or AppHooks()
        self.base: dict[str, Any] = {}
        self.loop: asyncio.AbstractEventLoop | None = None
        self.connections: set[Any] = set()  # protocol.Connection (which imports this module)
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
