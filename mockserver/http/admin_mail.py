"""Admin routes of the SMTP sink: captured mail and the sink's CA certificate.

``GET /_mock/messages`` (filters ``to``, ``from``, ``subject``, ``since``; ``wait=N&count=K`` blocks up to N s
for K matches, event-driven), ``GET /_mock/messages/<id>``, ``GET /_mock/messages/<id>/raw``,
``DELETE /_mock/messages``, ``GET /_mock/smtp/ca.pem``. They hang on the admin blueprint (same lock). The list is
paged (``limit``/``offset``, ``X-Total-Count``, ``Link: rel="next"``; see ``http/paging.py``).

A long-poll holds one of the HTTP server's worker threads, so at most :func:`long_poll_limit` of them wait at once
(a quarter of ``http_threads``); another one is answered 429 with ``Retry-After: 1``. A wait ends early, answering
what matches now, when the server stops (``environ[STOPPING_KEY]`` and ``MailStore.interrupt_waiters``).
"""

from __future__ import annotations

import threading

from flask import Flask, Response, current_app, request

from ..core import admin_routes as routes
from ..core.mail.store import CapturedMessage
from ..errors import ApiError, AssertionHelperError, BadRequest, MessageCode
from .admin import ok, query_params, route, state
from .faults import STOPPING_KEY
from .paging import PAGE_PARAMS, paged

MAX_WAIT_S = 60.0
#: the query parameters GET /_mock/messages reads
LIST_PARAMS = ("to", "from", "subject", "since", "wait", "count", *PAGE_PARAMS)
_SLOTS_KEY = "cxmock.long_poll_slots"
_SLOTS_LOCK = threading.Lock()


class TooManyLongPolls(ApiError):
    status = 429
    message_code = MessageCode.RATE_LIMITED


def long_poll_limit(http_threads: int) -> int:
    """How many ``?wait=`` requests may wait at once: a quarter of the worker threads, at least one."""
    return max(1, http_threads // 4)


def long_poll_slots(app: Flask) -> tuple[threading.BoundedSemaphore, int]:
    """The long-poll slots of ``app`` (created on first use). A server's sandboxes share the root app's: they share
    its worker threads (``app.extensions[...] = long_poll_slots(root)``, see ``share_long_poll_slots``)."""
    with _SLOTS_LOCK:
        slots: tuple[threading.BoundedSemaphore, int] | None = app.extensions.get(_SLOTS_KEY)
        if slots is None:
            limit = long_poll_limit(app.extensions["cxmock.state"].config.http_threads)
            slots = app.extensions[_SLOTS_KEY] = (threading.BoundedSemaphore(limit), limit)
    return slots


def share_long_poll_slots(app: Flask, root: Flask) -> None:
    """Count ``app``'s long-polls against ``root``'s limit (a sandbox's app: one server, one pool of threads)."""
    app.extensions[_SLOTS_KEY] = long_poll_slots(root)


def _slots() -> tuple[threading.BoundedSemaphore, int]:
    return long_poll_slots(current_app)


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


@route(routes.MESSAGES)
@query_params(*LIST_PARAMS)
def list_messages() -> Response:
    """Captured mail, oldest first, one page (``http/paging.py``); with ``wait`` blocks (up to 60 s) until ``count``
    messages match."""
    mail = state().mail
    filters = _filters()
    since = filters.pop("since")
    since_arg: int | str | None = int(since) if since and since.isdigit() else since
    wait = _number("wait", 0.0, low=0.0, high=MAX_WAIT_S)
    count = int(_number("count", 1, low=1, high=10_000))
    try:
        if wait > 0:
            slots, limit = _slots()
            if not slots.acquire(blocking=False):
                raise TooManyLongPolls(
                    f"too many long-polls: at most {limit} GET /_mock/messages?wait= requests may wait at once "
                    f"(each holds one of the server's {state().config.http_threads} worker threads); retry after 1 s, "
                    "or poll without wait",
                    headers={"Retry-After": "1"},
                )
            try:
                found = mail.wait_for(count, wait, since=since_arg, cancel=request.environ.get(STOPPING_KEY), **filters)
            except AssertionHelperError:
                found = mail.list(since=since_arg, **filters)  # timed out or interrupted: answer what matches now
            finally:
                slots.release()
        else:
            found = mail.list(since=since_arg, **filters)
    except ValueError as exc:
        raise BadRequest(f"invalid filter: {exc}") from None
    return paged(found, CapturedMessage.to_dict, state().config.max_page_bytes)


def _message(message_id: str) -> CapturedMessage:
    if not message_id.isdigit():
        raise BadRequest(f"message id must be a positive integer, got {message_id[:20]!r}")
    return state().mail.get(int(message_id))


@route(routes.MESSAGE)
def get_message(message_id: str) -> Response:
    return ok(_message(message_id).to_dict())


@route(routes.MESSAGE_RAW)
def get_raw(message_id: str) -> Response:
    return Response(_message(message_id).raw, content_type="message/rfc822")


@route(routes.CLEAR_MESSAGES)
def clear_messages() -> Response:
    state().mail.clear()
    return Response(status=204)


@route(routes.DELETE_MESSAGE)
def delete_message(message_id: str) -> Response:
    """Forget one captured message (the dashboard's Delete); 404 when it is not held."""
    message = _message(message_id)
    state().mail.delete(message.id)
    return Response(status=204)


@route(routes.SMTP_CA)
def ca_pem() -> Response:
    pem: bytes = current_app.extensions["cxmock.ca_pem"]()
    return Response(pem, content_type="application/x-pem-file")
