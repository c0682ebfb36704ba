"""``/_mock/drift``: the drift list of ``cxmock proxy`` (where the service's answers differ from ``openapi/`` and,
with ``--shadow``, from the mock's). On the admin blueprint (same prefix, same admin-token lock).

The proxy puts its :class:`~mockserver.core.drift.store.DriftLog` in ``app.extensions["cxmock.drift"]``; a plain
``cxmock serve`` has none and answers 404 saying so.
"""

from __future__ import annotations

from flask import Response, current_app, request

from ..core import admin_routes as routes
from ..core.drift.store import DRIFT_KINDS, DriftLog
from ..errors import BadRequest, NotFound
from .admin import ok, query_params, route

DRIFT_KEY = "cxmock.drift"


def _drift() -> DriftLog:
    drift: DriftLog | None = current_app.extensions.get(DRIFT_KEY)
    if drift is None:
        raise NotFound(
            "this server is a mock, not a proxy: the drift list is kept by `cxmock proxy UPSTREAM` (the service's "
            "answers against openapi/); `cxmock verify UPSTREAM` compares a service with the mock"
        )
    return drift


@route(routes.DRIFT)
@query_params("kind", "since", "summary")
def list_drift() -> Response:
    """Drift records, oldest first (``?kind=document|shadow``, ``?since=<id>``), or with ``?summary=1`` one row per
    finding with its count."""
    drift = _drift()
    args = request.args
    kind = args.get("kind")
    if kind is not None and kind not in DRIFT_KINDS:
        raise BadRequest(f"kind must be one of {', '.join(DRIFT_KINDS)}, got {kind[:20]!r}")
    since = args.get("since")
    if since is not None and not since.isdigit():
        raise BadRequest(f"since must be a drift record id (an integer), got {since[:20]!r}")
    if args.get("summary") not in (None, "", "0", "false"):
        return ok(drift.summary())
    return ok([r.to_dict() for r in drift.records(kind, int(since) if since else None)])


@route(routes.CLEAR_DRIFT)
def clear_drift() -> Response:
    _drift().clear()
    return Response(status=204)
