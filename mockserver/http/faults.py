"""Applies the fault rules of ``core/faults`` to API requests: the HTTP side of fault injection.

Every request under ``/cxrestapi/`` (never ``/_mock``) is offered to ``state.faults.decide_http`` before its view
runs, with its method, path, operationId (from the matched route and the OpenAPI document), headers and the user
of its bearer token (``Identity.peek``: an invalid token is not an error here). A firing rule's action:

- ``status``, ``rate_limit``, ``expire_token``: answered here; the view does not run.
- ``delay``: wait, then the view answers normally.
- ``malformed``, ``content_type``: the view answers, then its response is corrupted (``after_request``).
- Every answer a rule shaped carries ``X-Content-Type-Options: nosniff`` and the CSP :data:`FAULT_CSP`
  (``sandbox``): a rule may serve ``text/html``, but the page cannot run script on the mock's origin (:func:`inert`).
  ``malformed`` ``invalid`` prefixes the body with ``)]}',`` (an anti-XSSI guard, a classic cause of "invalid
  JSON"), ``truncated`` keeps its first half; a response that may not carry a body (204, 304, HEAD) is left as is.
- ``drop``, ``reset``, ``hang``: no response at all. The app sets ``environ[ABORT_KEY]`` to ``"drop"`` or
  ``"reset"`` and returns a placeholder the server never sends; the HTTP front end (``mockserver.runtime.http_server``)
  then closes the connection: ``drop`` with a FIN, ``reset`` with a RST (``SO_LINGER`` 1, 0). ``hang`` holds the
  request up to ``seconds`` (ending early when the server stops, ``environ[STOPPING_KEY]``, or the client goes
  away, ``environ[GONE_KEY]``), then drops. Under a WSGI server that does not offer ``ABORT_KEY`` (Flask's test
  client), these three answer 502 with a body explaining why.

Each firing is added to the request's record (``record.py``: ``faults``) so the journal entry lists ``{ruleId,
name, action}``. A request that got no response (drop, reset, hang) is journaled with ``status`` null
(``no_response``).
"""

from __future__ import annotations

import threading
import time
from typing import Any, cast

from flask import Flask, Request, Response, request

from ..core.contract import JSON_V1
from ..core.faults.decisions import HttpFault
from ..core.state import State
from .errors import json_response
from .record import RequestRecord, current

__all__ = ["ABORT_KEY", "FAULT_CSP", "GONE_KEY", "STOPPING_KEY", "inert", "init_app"]

#: WSGI environ key of a ``threading.Event`` the cxmock HTTP server sets when the client closes its side of the
#: connection or the connection breaks (ends a hang early)
GONE_KEY = "cxmock.gone"
#: WSGI environ key the app sets to "drop" or "reset" to get no response and the connection closed; the cxmock
#: HTTP server puts it in every environ (as None), which is how the app knows the server supports it
ABORT_KEY = "cxmock.abort"
#: WSGI environ key of a ``threading.Event`` set when the server stops (ends delays and hangs early)
STOPPING_KEY = "cxmock.stopping"

FAULTED_PREFIX = "/cxrestapi/"
#: how often a hanging request checks whether its client went away
HANG_POLL_SECONDS = 0.1
#: the policy of every answer a fault rule shaped (status, rate_limit, content_type, malformed): see :func:`inert`
FAULT_CSP = "sandbox; default-src 'none'; frame-ancestors 'none'"
#: what ``malformed`` (``invalid``) puts in front of the body
XSSI_PREFIX = b")]}',\n"

_NEVER = threading.Event()  # stands in for STOPPING_KEY under other WSGI servers; never set
_NO_BODY_STATUSES = frozenset({204, 304})


def init_app(app: Flask, state: State) -> None:
    """Install the fault hooks. Call after ``journaling.init_app``: the request's record exists, with its
    operationId, and the journal sees the corrupted response."""

    @app.before_request
    def _apply_fault() -> Response | None:
        if not len(state.faults):  # the common case: no rules, no token lookup, no matching
            return None
        req: Request = cast(Any, request)._get_current_object()  # resolved once: runs on every request
        if not req.path.startswith(FAULTED_PREFIX):
            return None
        record = current()
        user = state.identity.peek(req.headers.get("Authorization"))
        fault = state.faults.decide_http(req.method, req.path, record.operation_id, req.headers.items(), user)
        if fault is None:
            return None
        record.faults.append({"ruleId": fault.rule_id, "name": fault.name, "action": fault.action})
        action = fault.action
        if action == "delay":
            _wait(fault.delay_s)
            return None
        if action in ("malformed", "content_type"):
            record.response_fault = fault
            return None
        # the view will not run: journal what it would have (the user, the body)
        if user is not None:
            record.user = user
        _keep_body(record, state.config.max_body)
        if action in ("status", "rate_limit"):
            return inert(_status_response(fault))
        if action == "expire_token":
            return _expired_token(fault)
        if action == "hang":
            _hold(fault.seconds or 0.0)
            return _abort(record, fault, "drop")
        return _abort(record, fault, action)  # drop, reset

    @app.after_request
    def _corrupt_response(response: Response) -> Response:
        record = current()
        fault, record.response_fault = record.response_fault, None
        if fault is None:
            return response
        inert(response)
        if fault.action == "content_type":
            response.headers["Content-Type"] = fault.value or "text/html"
            return response
        if request.method == "HEAD" or response.status_code < 200 or response.status_code in _NO_BODY_STATUSES:
            return response
        data = response.get_data()
        if fault.mode == "truncated":
            data = data[: len(data) // 2] if len(data) > 1 else b'{"'
        else:
            data = XSSI_PREFIX + data
        response.set_data(data)
        if not response.headers.get("Content-Type"):
            response.headers["Content-Type"] = JSON_V1
        return response


def _keep_body(record: RequestRecord, limit: int) -> None:
    """Read the request body (up to ``limit``) for the journal, as the view would have."""
    length = request.content_length
    if length and length <= limit and record.body is None:
        record.body = request.get_data(cache=True)


def _label(fault: HttpFault) -> str:
    return f"{fault.name} ({fault.rule_id})" if fault.name else fault.rule_id


def _status_response(fault: HttpFault) -> Response:
    status = fault.status or 500
    headers = dict(fault.headers)
    body: Any = fault.body
    if body is None or status < 200 or status in _NO_BODY_STATUSES:
        response = Response(status=status, headers=headers)
        if not any(k.lower() == "content-type" for k in headers):
            response.headers.pop("Content-Type", None)
        return response
    if isinstance(body, str):
        response = Response(body, status=status, content_type="text/plain; charset=utf-8")
        for key, value in headers.items():
            response.headers[key] = value
        return response
    return json_response(body, status, headers=headers)


def inert(response: Response) -> Response:
    """Make a faulted answer inert in a browser whatever type the rule gave it: not sniffed (``nosniff``) and, when a
    browser renders it (``text/html`` from a rule), a CSP ``sandbox``: an opaque origin, no script, no plugin, no
    form. A rule's own headers cannot remove either (issue #23: a fault rule made the API serve a page that read
    ``/_mock/messages`` on the mock's own origin)."""
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = FAULT_CSP
    return response


def _expired_token(fault: HttpFault) -> Response:
    details = (
        f"the access token has expired (injected fault {_label(fault)}); request a new one from the token endpoint"
    )
    return json_response(
        {"message": details},
        401,
        headers={"WWW-Authenticate": f'Bearer realm="cxmock", error="invalid_token", error_description="{details}"'},
    )


def _abort(record: RequestRecord, fault: HttpFault, how: str) -> Response:
    """Ask the server to send nothing and close the connection (``how``: drop or reset)."""
    if ABORT_KEY not in request.environ:
        body = {
            "message": (
                f"injected fault {_label(fault)} ({fault.action}) closes the connection without a response, which "
                "needs the cxmock HTTP server (MockServer, cxmock serve); this WSGI server cannot, so: 502"
            ),
        }
        return json_response(body, 502)
    request.environ[ABORT_KEY] = how
    record.no_response = True
    return Response(status=503)  # never sent


def _stopping() -> threading.Event:
    event = request.environ.get(STOPPING_KEY)
    return event if isinstance(event, threading.Event) else _NEVER


def _wait(seconds: float) -> None:
    """Wait ``seconds`` (at least: ``Event.wait`` may wake a little early), or until the server stops."""
    stopping = _stopping()
    deadline = time.monotonic() + seconds
    while (remaining := deadline - time.monotonic()) > 0:
        if stopping.wait(remaining):
            return


def _hold(seconds: float) -> None:
    """Hold the request up to ``seconds``; return early when the server stops or the client goes away."""
    stopping = _stopping()
    gone = request.environ.get(GONE_KEY)
    deadline = time.monotonic() + seconds
    while (remaining := deadline - time.monotonic()) > 0:
        if stopping.wait(min(remaining, HANG_POLL_SECONDS)):
            return
        if isinstance(gone, threading.Event) and gone.is_set():
            return
