"""Paths under ``/cxrestapi/auth`` ignore case, as the service's ASP.NET routing does.

Real clients spell the same resource differently: ``/CxRestAPI/auth/SMTPSettings`` (sast-to-ast-export, CxUtils),
``/cxrestapi/auth/SMTPSettings`` (CheckmarxPythonSDK), ``/cxrestapi/auth/smtpsettings``. :func:`init_app` wraps the
app's WSGI callable so that, before Flask routes a request, the ``/cxrestapi/auth`` prefix and every *static*
segment after it are rewritten to the spelling of the registered route (``smtpsettings`` -> ``SMTPSettings``,
``TESTCONNECTION`` -> ``testconnection``). Variable segments (ids) and unknown segments are left as sent, so an
unknown path is still a 404. The path as sent is kept in the environ (``PATH_AS_SENT``) for the journal, which
records it and adds a ``path-case`` (info) contract-lint violation when it differs from the canonical spelling.

**For routes added by other blueprints** (token, OIDC discovery, ``MyProfile``...): nothing to do. The table of
canonical segments is built from ``app.url_map`` on the first request, from every rule whose path starts with
``/cxrestapi/auth`` (compared without case), so any route registered in ``create_app`` gets case-insensitive
routing automatically. Register the route in its canonical spelling, e.g. ``/cxrestapi/auth/MyProfile``.
An optional ``/sandbox/<name>`` prefix in front of ``/cxrestapi/auth`` is kept as sent.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask

__all__ = ["API_PREFIX", "PATH_AS_SENT", "canonical_path", "init_app", "segment_table"]

API_PREFIX = "/cxrestapi/auth"
#: WSGI environ key of the path as the client sent it (set only when the canonical spelling differs)
PATH_AS_SENT = "cxmock.path_as_sent"

_PREFIX = re.compile(r"^(/sandbox/[^/]+)?(/cxrestapi/auth)(?=/|$)", re.IGNORECASE)


def segment_table(rules: Iterable[str]) -> dict[str, str]:
    """``{lower-case segment: canonical segment}`` of the static segments of the routes under the API prefix."""
    table: dict[str, str] = {}
    for rule in rules:
        if not rule.lower().startswith(API_PREFIX):
            continue
        for segment in rule[len(API_PREFIX) :].split("/"):
            if segment and "<" not in segment:
                table.setdefault(segment.lower(), segment)
    return table


def canonical_path(path: str, table: dict[str, str]) -> str:
    """``path`` with the API prefix and its known static segments in canonical case; other paths unchanged."""
    match = _PREFIX.match(path)
    if match is None:
        return path
    rest = path[match.end() :]
    segments = [table.get(s.lower(), s) if s else s for s in rest.split("/")]
    return (match.group(1) or "") + API_PREFIX + "/".join(segments)


def init_app(app: Flask) -> None:
    """Route every path under ``/cxrestapi/auth`` without regard to case (see the module docstring)."""
    inner: Callable[..., Any] = app.wsgi_app
    cache: dict[str, dict[str, str]] = {}
    lock = threading.Lock()

    def table() -> dict[str, str]:
        found = cache.get("table")
        if found is None:
            with lock:
                found = cache.setdefault("table", segment_table(r.rule for r in app.url_map.iter_rules()))
        return found

    def wsgi_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path = environ.get("PATH_INFO", "")
        if _PREFIX.match(path):
            canonical = canonical_path(path, table())
            if canonical != path:
                environ[PATH_AS_SENT] = path
                environ["PATH_INFO"] = canonical
        return inner(environ, start_response)

    app.wsgi_app = wsgi_app  # type: ignore[method-assign]
