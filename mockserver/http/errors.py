"""Maps errors to responses: the Access Control API's ``ErrorViewModel`` body, the OAuth2 body for the token endpoint.

Every error under ``/cxrestapi/auth`` (400, 401, 403, 404, 405, 406, 413, 415, 500...) is ``{"message": "<sentence>"}``,
the service's ``ErrorViewModel``: the sentence names the field and the problem. The structured details (code,
per-field errors, SMTP stage and transcript) stay off the wire: they go to the request's journal entry
(``error``). The admin API (``/_mock``) adds ``errors`` (per-field messages) next to ``message``. The token
endpoint keeps OAuth2's ``{"error", "error_description"}``. No response ever carries a stack trace; an unexpected
exception is logged and answered with a generic 500 body.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from ..core.contract import JSON_V1
from ..errors import ApiError, MessageCode, OAuthError
from .record import current_or_none

ADMIN_PREFIX = "/_mock"

log = logging.getLogger("cxmock.http")


def json_bytes(body: Any) -> bytes:
    """``body`` as compact UTF-8 JSON, with ``<``, ``>`` and ``&`` escaped (also used for the HTTP server's own 4xx)."""
    data = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
    # echoed input stays data: "<", ">" and "&" only occur inside JSON strings, where \u escapes mean the same
    data = data.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    # a lone surrogate (a client's JSON "\ud800", kept in the journal) has no UTF-8 form: "backslashreplace" writes it
    # as that same JSON escape (it can only occur inside a JSON string, where json.dumps escaped every backslash)
    return data.encode("utf-8", "backslashreplace")


def error_body(status: int, details: str) -> dict[str, Any]:
    """The error body of a ``status`` answer made outside the API's views (the HTTP server's own 4xx): the service's
    ``ErrorViewModel``, ``{"message": details}`` (``status`` is kept for callers; the shape is the same for all)."""
    return {"message": details}


def json_response(
    body: Any, status: int = 200, *, content_type: str = JSON_V1, headers: dict[str, str] | None = None
) -> Response:
    response = Response(json_bytes(body), status=status, content_type=content_type)
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def _request_error_body(message: str, *, code: int, errors: dict[str, list[str]] | None = None) -> dict[str, Any]:
    """The error body of this request: ``{"message"}``; the details go to the journal (and, for /_mock, ``errors``).

    Also called outside a request context (the sandbox dispatcher answers before any app): then only ``message``.
    """
    body: dict[str, Any] = {"message": message}
    record = current_or_none()
    if record is None:
        return body
    record.error = {"code": code, **({"errors": errors} if errors else {})}
    if errors and request.path.startswith(ADMIN_PREFIX):
        body["errors"] = errors
    return body


def api_error_response(exc: ApiError) -> Response:
    body = _request_error_body(exc.details, code=exc.message_code, errors=exc.errors)
    record = current_or_none()
    if record is not None:
        record.error = exc.facts()
    return json_response(body, exc.status, headers=exc.headers)


def _http_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    if status == 405:
        allowed = ", ".join(getattr(exc, "valid_methods", None) or [])
        details = f"method {request.method} is not allowed on {request.path}; allowed: {allowed}"
        code = MessageCode.METHOD_NOT_ALLOWED
    elif status == 404:
        details = (
            f"no such endpoint: {request.path[:200]}; the API lives under /cxrestapi/auth, the admin API under /_mock"
        )
        code = MessageCode.NOT_FOUND
    else:
        details = exc.description or exc.name
        code = MessageCode.PAYLOAD_TOO_LARGE if status == 413 else MessageCode.INVALID_BODY
    headers = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}
    return json_response(_request_error_body(details, code=code), status, headers=headers)


def _unexpected(exc: Exception) -> Response:
    log.error(
        "unexpected error while handling %s %s: %s", request.method, request.path, type(exc).__name__, exc_info=exc
    )
    message = f"internal error in cxmock ({type(exc).__name__}); a bug in the mock, please report it"
    return json_response(_request_error_body(message, code=MessageCode.MOCK_INTERNAL), 500)


def _oauth_error(exc: OAuthError) -> Response:
    """400 with the OAuth2 error body; a throttled client (``Throttled``) gets 429 and ``Retry-After``."""
    headers = {"Cache-Control": "no-store"}
    retry_after = getattr(exc, "retry_after", None)
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    status = int(getattr(exc, "status", 400))
    return json_response(exc.body(), status, content_type="application/json", headers=headers)


def register(app: Flask) -> None:
    app.register_error_handler(ApiError, api_error_response)
    app.register_error_handler(OAuthError, _oauth_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)
