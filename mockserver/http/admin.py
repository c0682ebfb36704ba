"""The admin API under ``/_mock`` (never under ``/cxrestapi``): health, reset, seed, the OpenAPI document, config.

Every admin route declares the query parameters it reads with :func:`query_params` (none by default); any other
parameter is a 400 naming it, with a "did you mean" and the accepted list (``/_mock/requests?statsu=401`` would
otherwise silently answer everything).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Any, TypeVar

import yaml
from flask import Blueprint, Response, current_app, request

from ..core import admin_routes as routes
from ..core import contract
from ..core.lint.lint import did_you_mean
from ..core.state import State
from ..errors import BadRequest, ConfigError, PayloadTooLarge, Unauthorized
from .errors import json_response

blp = Blueprint("admin", __name__, url_prefix=routes.ADMIN_PREFIX)

ADMIN_HEADER = "X-Cxmock-Admin-Token"


def state() -> State:
    st: State = current_app.extensions["cxmock.state"]
    return st


def ok(body: Any, status: int = 200) -> Response:
    return json_response(body, status, content_type="application/json")


def holds_admin_token(expected: str, header: str | None, authorization: str | None) -> bool:
    """Whether a request with these ``X-Cxmock-Admin-Token`` and ``Authorization`` headers holds the admin token
    ``expected`` (in the header, or as ``Bearer <admin token>``); compared in constant time."""
    given = header or ""
    auth = authorization or ""
    if auth.lower().startswith("bearer "):
        given = given or auth[7:].strip()
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


@blp.before_request
def _admin_lock() -> None:
    """With ``--admin-token``, every ``/_mock/*`` route needs ``X-Cxmock-Admin-Token`` or ``Bearer <admin token>``."""
    expected = state().config.admin_token
    if not expected:
        return
    if not holds_admin_token(expected, request.headers.get(ADMIN_HEADER), request.headers.get("Authorization")):
        raise Unauthorized(
            f"the admin API is locked; send the admin token in {ADMIN_HEADER} (see --admin-token)",
            headers={"WWW-Authenticate": 'Bearer realm="cxmock-admin"'},
        )


@blp.before_request
def _body_limit() -> None:
    """Admin bodies have the API's size limit (``--max-body``): a larger declared body is refused before it is read."""
    length = request.content_length
    if length is not None and length > state().config.max_body:
        raise _too_large(length)


def _too_large(length: int | str) -> PayloadTooLarge:
    limit = state().config.max_body
    return PayloadTooLarge(f"the request body is {length} bytes; the admin API's limit is {limit} bytes (--max-body)")


def body_bytes() -> bytes:
    """The request body, at most ``--max-body`` bytes (413 beyond, chunked bodies included)."""
    limit = state().config.max_body
    raw = request.stream.read(limit + 1)
    if len(raw) > limit:
        raise _too_large(f"over {limit}")
    return raw


_View = TypeVar("_View", bound=Callable[..., Any])
_QUERY_ATTR = "cxmock_query_params"


def route(spec: routes.AdminRoute) -> Callable[[_View], _View]:
    """Register an admin view for ``spec`` (method and rule from the one table, ``mockserver.core.admin_routes``)."""
    return blp.route(spec.rule, methods=[spec.method])


def query_params(*names: str) -> Callable[[_View], _View]:
    """Declare the query parameters an admin view reads; the admin blueprint answers 400 to any other."""

    def declare(view: _View) -> _View:
        setattr(view, _QUERY_ATTR, tuple(names))
        return view

    return declare


@blp.before_request
def _known_query_params() -> None:
    if not request.args:
        return
    view = current_app.view_functions.get(request.endpoint or "")
    if view is None:  # no route matched: the 404/405 handler answers
        return
    accepted: tuple[str, ...] = getattr(view, _QUERY_ATTR, ())
    unknown = [name for name in request.args if name not in accepted]
    if not unknown:
        return
    name = unknown[0]
    hint = did_you_mean(name, accepted)
    shown = repr(name[:40])
    raise BadRequest(
        f"unknown query parameter {shown} for {request.method} {request.path[:100]}"
        + (f"; did you mean {hint!r}?" if hint else "")
        + (f" (accepted: {', '.join(accepted)})" if accepted else " (this route takes no query parameters)"),
        errors={name[:40]: ["unknown query parameter"]},
    )


def json_body() -> Any:
    raw = body_bytes()
    if not raw.strip():
        return None
    return contract.parse_json(raw)


@route(routes.HEALTH)
def health() -> Response:
    st = state()
    body: dict[str, Any] = {"status": "ok", "settings": len(st.settings)}
    ports = current_app.extensions.get("cxmock.ports")
    if ports is not None:  # the runtime's bound ports: what RemoteServer.ports() reports
        body["ports"] = ports()
    return ok(body)


@route(routes.RESET)
def reset() -> Response:
    current_app.extensions["cxmock.reset"]()
    return ok({"status": "reset"})


@route(routes.GET_SEED)
def get_seed() -> Response:
    return ok([r.public() for r in state().settings.list()])


@route(routes.SEED)
@query_params("persist")
def post_seed() -> Response:
    """Replace the stored settings with the posted records (JSON list, API shape).

    By default they become the seed that every reset restores; ``?persist=false`` keeps them until the next reset.
    """
    try:
        records = contract.parse_seed(json_body(), source="posted seed")
    except ConfigError as exc:
        raise BadRequest(str(exc)) from None
    if request.args.get("persist", "true").lower() == "false":
        state().settings.load(records)
    else:
        state().settings.set_seed(records)
    return ok({"status": "seeded", "count": len(records)})


@route(routes.OPENAPI_YAML)
def openapi_yaml() -> Response:
    return Response(contract.document_bytes(), content_type="application/yaml")


@route(routes.OPENAPI_JSON)
def openapi_json() -> Response:
    return ok(contract.load_document())


@route(routes.CONFIG)
def config() -> Response:
    return ok(state().config.masked())


def _yaml_dump(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False)
