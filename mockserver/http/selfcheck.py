"""``--validate-responses``: every API response is checked against the document before it is sent.

The checks are :func:`mockserver.core.selfcheck.check_response`; this hook only feeds it the request and the
response, logs each mismatch (logger ``cxmock.selfcheck``, level ERROR) and adds it to the request's journal entry
as a ``response-mismatch`` violation (severity error). A response an injected fault shaped (``g.cx_faults``) is
not checked. The response itself is sent unchanged: the self-check reports, it never repairs.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, g, request

from ..core import selfcheck
from ..core.lint.lint import Violation, violation
from ..core.state import State

__all__ = ["init_app", "mismatches"]

log = logging.getLogger("cxmock.selfcheck")

CHECKED_PREFIX = "/cxrestapi/"


def init_app(app: Flask, state: State) -> None:
    """Install the hook when ``state.config.validate_responses``. Call after ``journaling.init_app`` (after-request
    hooks run last-registered first, so the journal entry gets the violations)."""
    if not state.config.validate_responses:
        return

    @app.after_request
    def _check_response(response: Response) -> Response:
        if not request.path.startswith(CHECKED_PREFIX) or g.get("cx_faults"):
            return response
        body = None if response.is_streamed else response.get_data()
        headers = {key: value for key, value in response.headers.items()}
        found = mismatches(request.method, request.path, response.status_code, headers, body)
        if found:
            g.setdefault("cx_violations", []).extend(found)
        return response


def mismatches(method: str, path: str, status: int, headers: dict[str, str], body: bytes | None) -> list[Violation]:
    """The ``response-mismatch`` violations of one response (each also logged); also the fast path's (``fast.py``)."""
    problems = selfcheck.check_response(method, path, status, headers, body)
    for problem in problems:
        log.error("response does not match openapi/cxmock.yaml: %s %s: %s", method, path, problem)
    return [violation("response-mismatch", f"cxmock's response breaks its own contract: {p}") for p in problems]
