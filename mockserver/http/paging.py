"""Pages of the admin API's list endpoints (``GET /_mock/messages``, ``GET /_mock/requests``): one place for the
query parameters, the bounds and the headers that say there is more.

- ``offset`` (default 0) and ``limit`` (default :data:`DEFAULT_LIMIT`, at most :data:`MAX_LIMIT`) select a window
  of the matching items, oldest first; the endpoints' own ``since`` filter works as a cursor (``since=<last id>``).
- A page also stops before its body would pass ``--max-page-bytes`` (it always holds at least one item).
- ``X-Total-Count``: how many items match; when more follow, ``X-Next-Offset`` and
  ``Link: <...offset=N...>; rel="next"`` (the same query with the next offset).

Each route declares the query parameters it reads (``PAGE_PARAMS`` plus its filters) in one tuple next to it.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from flask import Response, request

from ..errors import BadRequest
from .errors import json_bytes

__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "PAGE_PARAMS", "paged"]

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
#: the query parameters of every paged endpoint
PAGE_PARAMS = ("limit", "offset")

T = TypeVar("T")


def _integer(name: str, default: int, high: int | None) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or len(raw) > 12:
        raise BadRequest(f"{name} must be a non-negative integer, got {raw[:20]!r}")
    value = int(raw)
    if high is not None and not 1 <= value <= high:
        raise BadRequest(f"{name} must be between 1 and {high}, got {value}; page with offset (see X-Total-Count)")
    return value


def paged(items: Sequence[T], render: Callable[[T], Any], max_bytes: int) -> Response:
    """The page of ``items`` the request's ``offset``/``limit`` select, as a JSON array, with the paging headers."""
    limit = _integer("limit", DEFAULT_LIMIT, MAX_LIMIT)
    offset = _integer("offset", 0, None)
    parts: list[bytes] = []
    size = 2
    for item in items[offset : offset + limit]:
        part = json_bytes(render(item))
        if parts and size + len(part) + 1 > max_bytes:
            break
        parts.append(part)
        size += len(part) + 1
    response = Response(b"[" + b",".join(parts) + b"]", content_type="application/json")
    total = len(items)
    response.headers["X-Total-Count"] = str(total)
    following = offset + len(parts)
    if following < total:
        query = [(k, v) for k, v in request.args.items(multi=True) if k != "offset"] + [("offset", str(following))]
        response.headers["X-Next-Offset"] = str(following)
        response.headers["Link"] = f'<{request.script_root}{request.path}?{urllib.parse.urlencode(query)}>; rel="next"'
    return response
