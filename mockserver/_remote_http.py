"""The remote transport's error: a 4xx/5xx answer of a cxmock server reached over HTTP, with its status code."""

from __future__ import annotations

from .errors import ServerError

__all__ = ["_HttpError"]


class _HttpError(ServerError):
    """A 4xx/5xx answer of the remote server; ``status`` is the code."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status
