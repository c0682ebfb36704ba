"""``/sandbox/<name>/...``: the WSGI dispatcher in front of the apps of one server.

The server root is the default sandbox (its app as ``create_app`` builds it, unchanged). A path starting with
``/sandbox/<name>`` goes to the app of sandbox ``<name>`` (found by ``lookup``, which creates one only for an
authorized request: see ``mockserver.runtime.sandboxes``; else a 404 saying how to create it), with the prefix
moved from ``PATH_INFO`` to ``SCRIPT_NAME``: under it the API (any casing) and the admin API ``/_mock/...`` answer
exactly as at the root, the journal records the path without the prefix, and URLs an app builds (``url_for``,
``request.script_root``) carry it. ``environ[SANDBOX_KEY]`` names the sandbox serving the request.

A name that is not ``[a-z0-9][a-z0-9._-]{0,63}`` (``..``, ``%2e%2e``, empty, too long, non-ASCII) is a 400; one
sandbox too many a 429 (see ``core/sandboxes``): both in the API's error shape, answered here, before any app runs.
The prefix itself matches in any casing (``/Sandbox/ci-1``); the name does not (names are lowercase).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from flask import Response
from werkzeug.datastructures import EnvironHeaders

from ..core.state import State
from ..errors import ApiError, BadRequest
from .errors import api_error_response
from .journaling import Answer, finish
from .record import RequestRecord

__all__ = ["PREFIX", "SANDBOX_KEY", "SandboxDispatcher", "WsgiApp"]

#: the URL prefix of a sandbox: ``/sandbox/<name>``
PREFIX = "/sandbox/"
#: WSGI environ key: the name of the sandbox serving this request (absent at the root)
SANDBOX_KEY = "cxmock.sandbox"

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

_LENGTH = len(PREFIX)


class SandboxDispatcher:
    """The WSGI app of a server with sandboxes: the root app, or the app ``lookup(name)`` returns.

    :param root: the default sandbox's app.
    :param lookup: ``lookup(name, environ)``, the app of sandbox ``name`` for the request ``environ``; raises
        ``ApiError`` (400 invalid name, 404 no such sandbox, 429 too many sandboxes), answered in the API's error
        shape.
    :param state: the root's state: its finishing step logs the errors answered here (``journaling.finish``).
    """

    def __init__(
        self, root: WsgiApp, lookup: Callable[[str, dict[str, Any]], WsgiApp], state: State | None = None
    ) -> None:
        self.root = root
        self.lookup = lookup
        self.state = state

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path: str = environ.get("PATH_INFO") or ""
        if not (path.startswith(PREFIX) or path[:_LENGTH].lower() == PREFIX):
            if path.lower() == PREFIX[:-1]:  # "/sandbox" alone: no name at all
                return self._error(BadRequest(_NO_NAME), environ, start_response)
            return self.root(environ, start_response)
        name, slash, rest = path[_LENGTH:].partition("/")
        try:
            app = self.lookup(name, environ)
        except ApiError as exc:
            return self._error(exc, environ, start_response)
        environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + path[: _LENGTH + len(name)]
        environ["PATH_INFO"] = slash + rest
        environ[SANDBOX_KEY] = name
        return app(environ, start_response)

    def _error(self, exc: ApiError, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        """Answer ``exc`` before any app ran, finished (logged) like the apps' answers."""
        record = RequestRecord(error=exc.facts())
        response: Response = api_error_response(exc)
        if self.state is not None:
            answer = Answer(
                method=environ.get("REQUEST_METHOD", ""),
                path=environ.get("PATH_INFO", ""),
                path_as_sent=None,
                query=environ.get("QUERY_STRING", ""),
                headers=EnvironHeaders(environ),
                remote=environ.get("REMOTE_ADDR", ""),
                status=response.status_code,
                response_headers=response.headers,
                body=response.get_data,
                response_mimetype=response.mimetype,
            )
            finish(self.state, record, answer)
        wsgi: WsgiApp = response
        return wsgi(environ, start_response)


_NO_NAME = "a sandbox URL is /sandbox/<name>/...: the name is missing (e.g. /sandbox/ci-1/cxrestapi/auth/SMTPSettings)"
