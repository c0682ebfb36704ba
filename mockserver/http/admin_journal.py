"""Admin routes of the request journal and the contract-lint: ``/_mock/requests``, ``/_mock/violations``.

They hang on the admin blueprint (same ``/_mock`` prefix, same admin-token lock).
"""

from __future__ import annotations

from flask import Response, request

from ..core import admin_routes as routes
from ..core.journal.entry import JournalEntry
from ..core.lint import lint
from ..core.lint import report as lint_report
from ..errors import BadRequest
from .admin import ok, query_params, route, state
from .paging import PAGE_PARAMS, paged

#: the filters of /_mock/requests and /_mock/violations
FILTER_PARAMS = ("method", "path", "operationId", "status", "since")
#: the query parameters GET /_mock/requests reads
LIST_PARAMS = (*FILTER_PARAMS, *PAGE_PARAMS)


def _filtered() -> list[JournalEntry]:
    args = request.args
    status = args.get("status")
    since = args.get("since")
    try:
        return state().journal.entries(
            method=args.get("method"),
            path=args.get("path"),
            operation_id=args.get("operationId"),
            status=int(status) if status and status.isdigit() else status,
            since_id=int(since) if since else None,
        )
    except ValueError:
        raise BadRequest("since must be an integer (an entry id); status a code like 404 or a class like 4xx") from None


@route(routes.REQUESTS)
@query_params(*LIST_PARAMS)
def list_requests() -> Response:
    """Journal entries, oldest first, one page (``http/paging.py``); filters: method, path (``*`` suffix = prefix),
    operationId, status, since (an entry id: entries after it)."""
    return paged(_filtered(), JournalEntry.to_dict, state().config.max_page_bytes)


@route(routes.CLEAR_REQUESTS)
def clear_requests() -> Response:
    state().journal.clear()
    return Response(status=204)


@route(routes.VIOLATIONS)
@query_params(*FILTER_PARAMS, "format", "min_severity")
def violations() -> Response:
    """The contract-lint summary by code; ``?format=text|json|junit`` returns the full report instead."""
    entries = _filtered()
    fmt = request.args.get("format")
    min_severity = request.args.get("min_severity", "error" if fmt == "junit" else "info")
    if min_severity not in lint.SEVERITIES:
        raise BadRequest(f"min_severity must be one of {', '.join(lint.SEVERITIES)}")
    if fmt is None:
        return ok(lint_report.summarize(entries))
    if fmt == "text":
        return Response(
            lint_report.report_text(entries, min_severity=min_severity), content_type="text/plain; charset=utf-8"
        )
    if fmt == "json":
        return Response(lint_report.report_json(entries), content_type="application/json")
    if fmt == "junit":
        return Response(lint_report.report_junit(entries, min_severity=min_severity), content_type="application/xml")
    raise BadRequest(f"format must be text, json or junit, got {fmt[:20]!r}")
