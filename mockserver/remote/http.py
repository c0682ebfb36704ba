"""What the remote handles share: the admin transport they call through, and its error type.

``RemoteFaults`` and ``RemoteSink`` talk to the server through the small :class:`AdminTransport` protocol, which
``RemoteServer`` implements; they never import ``RemoteServer`` itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from ..errors import ServerError

__all__ = ["AdminTransport", "_HttpError"]


class AdminTransport(Protocol):
    """The calls the remote handles make to the server (``RemoteServer`` implements it)."""

    base_url: str
    timeout: float

    def fetch(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        form: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> bytes: ...

    def call(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        form: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> Any: ...

    def ports(self) -> dict[str, int]: ...

    @property
    def ca_pem(self) -> bytes: ...


class _HttpError(ServerError):
    """A 4xx/5xx answer of the remote server; ``status`` is the code."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status
