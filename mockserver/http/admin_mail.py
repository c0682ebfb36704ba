"""Admin routes of the SMTP sink: captured mail and the sink's CA certificate.

``GET /_mock/messages`` (filters ``to``, ``from``, ``subject``, ``since``; ``wait=N&count=K`` blocks up to N s
for K matches, event-driven), ``GET /_mock/messages/<id>``, ``GET /_mock/messages/<id>/raw``,
``DELETE /_mock/messages``, ``GET /_mock/smtp/ca.pem``. They hang on the admin blueprint (same lock).
"""

from __future__ import annotations

from flask import Response, current_app, request

from ..core.mail import CapturedMessage
from ..errors import AssertionHelperError, BadRequest
from .admin import blp, ok, state

MAX_WAIT_S = 60.0


def _filters() -> dict[str, str | None]:
    args = request.args
    return {"to": args.get("to"), "from_": args.get("from"), "subject": args.get("subject"), "since": args.get("since")}


def _number(name: str, default: float, *, low: float, high: float) -> float:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise BadRequest(f"{name} must be a number, got {raw[:20]!r}") from None
    if not low <= value <= high:
        raise BadRequest(f"{name} must be between {low:g} and {high:g}, got {value:g}")
    return value


@blp.get("/messages")
def list_messages() -> Response:
    """Captured mail, oldest first; with ``wait`` blocks (up to 60 s) until ``count`` messages match."""
    mail = state().mail
    filters = _filters()
    since = filters.pop("since")
    since_arg: int | str | None = int(since) if since and since.isdigit() else since
    wait = _number("wait", 0.0, low=0.0, high=MAX_WAIT_S)
    count = int(_number("count", 1, low=1, high=10_000))
    try:
        if wait > 0:
            try:
                found = mail.wait_for(count, wait, since=since_arg, **filters)
            except AssertionHelperError:
                found = mail.list(since=since_arg, **filters)  # timed out: answer what matches now
        else:
            found = mail.list(since=since_arg, **filters)
    except ValueError as exc:
        raise BadRequest(f"invalid filter: {exc}") from None
    return ok([m.to_dict() for m in found])


def _message(message_id: str) -> CapturedMessage:
    if not message_id.isdigit():
        raise BadRequest(f"message id must be a positive integer, got {message_id[:20]!r}")
    return state().mail.get(int(message_id))


@blp.get("/messages/<message_id>")
def get_message(message_id: str) -> Response:
    return ok(_message(message_id).to_dict())


@blp.get("/messages/<message_id>/raw")
def get_raw(message_id: str) -> Response:
    return Response(_message(message_id).raw, content_type="message/rfc822")


@blp.delete("/messages")
def clear_messages() -> Response:
    state().mail.clear()
    return Response(status=204)


@blp.get("/smtp/ca.pem")
def ca_pem() -> Response:
    pem: bytes = current_app.extensions["cxmock.ca_pem"]()
    return Response(pem, content_type="application/x-pem-file")
