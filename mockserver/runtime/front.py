"""What the app hands the HTTP front end (``http_server.AppHooks``): its extension keys, its error body and its
finishing step for the answers the front end makes itself.

The front end imports nothing of the app; this module is where the two meet. A refusal (a malformed or timed-out
request, answered before any app ran) is finished like any answer of the app (``http.journaling.finish``): logged,
and journaled when it is an API request, in the sandbox its path names (an existing one; else the root).
"""

from __future__ import annotations

from collections.abc import Callable

from werkzeug.datastructures import Headers

from ..core.contract import JSON_V1
from ..core.state import State
from ..http.errors import error_body, json_bytes
from ..http.faults import ABORT_KEY, GONE_KEY, STOPPING_KEY
from ..http.journaling import PROBE_HEADER, Answer, finish
from ..http.record import RequestRecord
from .http_server import AppHooks, Refusal

__all__ = ["app_hooks"]

#: ``path -> (state, path in that state's app)``: whose answer a request is (``Sandboxes.state_for``)
StateFor = Callable[[str], tuple[State, str]]


def _error_body(status: int, details: str) -> tuple[str, bytes]:
    return JSON_V1, json_bytes(error_body(status, details))


def app_hooks(state_for: StateFor) -> AppHooks:
    """The hooks of cxmock's app: its socket-level fault keys, the vendor error body, its finishing step."""

    def refused(refusal: Refusal) -> None:
        state, path = state_for(refusal.path) if refusal.path is not None else state_for("")
        content_type = refusal.content_type
        answer = Answer(
            method=refusal.method or "-",
            path=path if refusal.path is not None else "-",
            path_as_sent=None,
            query=refusal.query,
            headers=Headers(refusal.headers),
            remote=refusal.remote,
            status=refusal.status,
            response_headers=Headers([("Content-Type", content_type)]),
            body=lambda: refusal.body,
            response_mimetype=content_type.partition(";")[0].strip().lower(),
            checked=False,
        )
        finish(state, RequestRecord(), answer)

    return AppHooks(
        abort_key=ABORT_KEY,
        gone_key=GONE_KEY,
        stopping_key=STOPPING_KEY,
        probe_path="/_mock/health",
        probe_header=PROBE_HEADER,
        error_body=_error_body,
        refused=refused,
    )
