"""What the remote handles share: the admin transport they call through, and its error type.

``RemoteFaults`` and ``RemoteSink`` talk to the server through the small :class:`AdminTransport` protocol, which
``RemoteServer`` implements; they never import ``RemoteServer`` itself. Every admin call names its route from the
table the server registers its views from (``mockserver.core.admin_routes``): no admin URL is written here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Protocol, TypedDict, Unpack

from ..core.admin_routes import AdminRoute
from ..errors import ServerError

__all__ = ["AdminTransport", "RequestOptions", "_HttpError", "call_all"]

#: the largest page the admin list endpoints answer (``limit`` at most 1000: mockserver/http/paging.py)
PAGE = 1000


class RequestOptions(TypedDict, total=False):
    """The options of one request to the server (``AdminTransport.fetch``)."""

    body: Any  # sent as JSON
    form: Mapping[str, str] | None  # sent form-encoded instead
    timeout: float | None  # seconds (default: the handle's)
    at_root: bool  # to the server's root, not to the handle's sandbox


class AdminTransport(Protocol):
    """The calls the remote handles make to the server: ``RemoteServer`` implements :meth:`fetch` (and the
    addresses), and inherits :meth:`call` and :meth:`admin` written here over it."""

    timeout: float

    @property
    def base_url(self) -> str: ...

    def fetch(self, method: str, path: str, **options: Unpack[RequestOptions]) -> bytes:
        """One request; the raw body. A 4xx/5xx raises :class:`ServerError` with the details."""
        ...

    def call(self, method: str, path: str, **options: Unpack[RequestOptions]) -> Any:
        """One request; the decoded JSON (or None). A 4xx/5xx raises :class:`ServerError` with the details."""
        payload = self.fetch(method, path, **options)
        return json.loads(payload) if payload.strip() else None

    def admin(
        self,
        route: AdminRoute,
        /,
        *,
        query: Mapping[str, Any] | None = None,
        body: Any = None,
        timeout: float | None = None,
        at_root: bool = False,
        raw: bool = False,
        **params: str | int,
    ) -> Any:
        """One admin call (``route`` from ``mockserver.core.admin_routes``, its path parameters as ``params``):
        the decoded JSON (or None), or the raw body with ``raw=True``."""
        send = self.fetch if raw else self.call
        return send(route.method, route.path(query, **params), body=body, timeout=timeout, at_root=at_root)

    def ports(self) -> dict[str, int]: ...

    @property
    def ca_pem(self) -> bytes: ...


class _HttpError(ServerError):
    """A 4xx/5xx answer of the remote server; ``status`` is the code."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def call_all(
    server: AdminTransport, route: AdminRoute, query: Mapping[str, Any], timeout: float | None = None
) -> list[dict[str, Any]]:
    """Every item of a paged admin list (``routes.MESSAGES``, ``routes.REQUESTS``), oldest first.

    Pages of :data:`PAGE` follow one another by id (``since=<last id>``: an item captured meanwhile is not skipped,
    one evicted meanwhile is simply gone); ``query`` applies to the first page only when it asks to ``wait``.
    """
    items: list[dict[str, Any]] = []
    current = {k: v for k, v in query.items() if v is not None}
    while True:
        page = server.admin(route, query={**current, "limit": PAGE}, timeout=timeout)
        if not isinstance(page, list) or not page:
            return items
        items.extend(page)
        current = {k: v for k, v in current.items() if k not in ("wait", "count")}
        current["since"] = page[-1]["id"]
