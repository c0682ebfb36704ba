"""Journals every API request (after its response is decided) and writes the one-line request log."""

from __future__ import annotations

import json
import logging
import time

from flask import Flask, Response, g, request

from ..core.journal import redact_headers
from ..core.state import State

log = logging.getLogger("cxmock.requests")

JOURNALED_PREFIX = "/cxrestapi/"


def init_app(app: Flask, state: State) -> None:
    @app.before_request
    def _start() -> None:
        g.cx_start = time.perf_counter()

    @app.after_request
    def _record(response: Response) -> Response:
        start = g.get("cx_start")
        duration_ms = (time.perf_counter() - start) * 1000 if start is not None else 0.0
        # None: an injected drop/reset/hang sent no response at all (see http/faults.py)
        status = None if g.get("cx_no_response") else response.status_code
        if request.path.startswith(JOURNALED_PREFIX):
            entry = state.journal.record(
                method=request.method,
                path=request.path,
                query=request.query_string.decode("latin-1"),
                headers=list(request.headers.items()),
                body=g.get("cx_body"),
                content_type=request.headers.get("Content-Type"),
                status=status,
                duration_ms=round(duration_ms, 3),
                operation_id=g.get("cx_operation"),
                faults=g.get("cx_faults", ()),
                violations=g.get("cx_violations", ()),
                user=g.get("cx_user"),
                remote=request.remote_addr or "",
            )
            response.headers["X-Cxmock-Request-Id"] = str(entry.id)
            correlation = g.get("cx_mail_correlation")
            if correlation:
                _link_mail(state, correlation, entry.id)
        if state.config.log_requests:
            _log_line(state, status, duration_ms)
        return response


def _link_mail(state: State, correlation: str, request_id: int) -> None:
    """Record the journal id of the testconnection request on the mail it caused."""
    message = state.mail.find_by_correlation(correlation)
    if message is not None and message.testconnection is not None:
        info = {**message.testconnection, "requestId": request_id}
        state.mail.attach_testconnection(correlation, info, message.transcript or [])


def _log_line(state: State, status: int | None, duration_ms: float) -> None:
    if state.config.log_format == "json":
        log.info(
            json.dumps(
                {
                    "method": request.method,
                    "path": request.path,
                    "status": status,
                    "ms": round(duration_ms, 2),
                    "operationId": g.get("cx_operation"),
                    "user": g.get("cx_user"),
                    "authorization": redact_headers({"Authorization": request.headers.get("Authorization", "")}).get(
                        "Authorization"
                    ),
                }
            )
        )
    else:
        log.info(
            "%s %s -> %s %.1fms %s",
            request.method,
            request.path,
            status or "no response",
            duration_ms,
            g.get("cx_operation") or "-",
        )
