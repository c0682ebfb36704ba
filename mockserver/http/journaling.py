"""Journals every API request (after its response is decided) and writes the one-line request log.

The log line of a request says what a person debugging from the log alone needs: method, path, status, duration,
operationId, the journal id (also sent as ``X-Cxmock-Request-Id``), the fault rules that fired, the contract-lint
codes and, for a 4xx/5xx, the reason the body gives. The start-up probe of the HTTP front end (``PROBE_HEADER``)
is not logged: with ``--admin-token`` it is answered 401, which is not a problem worth a line.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Mapping
from typing import Any, cast

from flask import Flask, Request, Response, g, request

from ..core.lint.lint import Violation, violation
from ..core.redaction import redact_headers
from ..core.state import State
from .casing import PATH_AS_SENT

log = logging.getLogger("cxmock.requests")

JOURNALED_PREFIX = "/cxrestapi/"
#: sent by the HTTP front end's start-up probe (``GET /_mock/health``), whose answer is not logged
PROBE_HEADER = "X-Cxmock-Probe"
#: a reason quoted in a log line is cut to this many characters
_REASON_LIMIT = 300


def init_app(app: Flask, state: State) -> None:
    @app.before_request
    def _start() -> None:
        g.cx_start = time.perf_counter()

    @app.after_request
    def _record(response: Response) -> Response:
        # the context-local proxies resolved once: every access through one is a context lookup (~2 µs), and this
        # hook runs on every request (docs/benchmarks.md, "Where a GET /SMTPSettings spends its time")
        req: Request = cast(Any, request)._get_current_object()
        ctx: Any = cast(Any, g)._get_current_object()
        start = ctx.get("cx_start")
        duration_ms = (time.perf_counter() - start) * 1000 if start is not None else 0.0
        # None: an injected drop/reset/hang sent no response at all (see http/faults.py)
        status = None if ctx.get("cx_no_response") else response.status_code
        request_id: int | None = None
        journaled = req.path.startswith(JOURNALED_PREFIX)
        logged = state.config.log_requests and PROBE_HEADER not in req.headers and log.isEnabledFor(logging.INFO)
        no_body = status is None or response.is_streamed or not (journaled or logged)
        body = b"" if no_body else response.get_data()
        if journaled:
            violations = list(ctx.get("cx_violations", ()))
            # the path as the client sent it (routing ignored its case, see casing.py)
            sent = req.environ.get(PATH_AS_SENT)
            if sent is not None:
                violations.append(
                    violation(
                        "path-case",
                        f"path {sent[:200]!r} is not in the documented case ({req.path[:200]!r}); the service's "
                        "routing ignores case, so it works",
                    )
                )
            request_id = state.journal.record_later(
                method=req.method,
                path=sent if sent is not None else req.path,
                query=req.query_string.decode("latin-1"),
                headers=list(req.headers.items()),
                body=ctx.get("cx_body"),
                content_type=req.headers.get("Content-Type"),
                status=status,
                duration_ms=round(duration_ms, 3),
                operation_id=ctx.get("cx_operation"),
                faults=ctx.get("cx_faults", ()),
                violations=violations,
                user=ctx.get("cx_user"),
                error=ctx.get("cx_error"),
                remote=req.remote_addr or "",
                response_body=body or None,
                response_content_type=response.mimetype,
            )
            response.headers["X-Cxmock-Request-Id"] = str(request_id)
            correlation = ctx.get("cx_mail_correlation")
            if correlation:
                _link_mail(state, correlation, request_id)
        if logged:
            log_line(
                state,
                method=req.method,
                path=req.path,
                authorization=req.headers.get("Authorization", ""),
                operation_id=ctx.get("cx_operation"),
                user=ctx.get("cx_user"),
                faults=ctx.get("cx_faults", ()),
                violations=ctx.get("cx_violations", ()),
                status=status,
                duration_ms=duration_ms,
                request_id=request_id,
                body=body,
            )
        return response


def _link_mail(state: State, correlation: str, request_id: int) -> None:
    """Record the journal id of the testconnection request on the mail it caused."""
    message = state.mail.find_by_correlation(correlation)
    if message is not None and message.testconnection is not None:
        info = {**message.testconnection, "requestId": request_id}
        state.mail.attach_testconnection(correlation, info, message.transcript or [])


def _reason(status: int | None, body: bytes) -> str | None:
    """The message of an error response (``message``, ``messageDetails`` or ``error_description``), for the log."""
    if status is None or status < 400 or not body:
        return None
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    for key in ("message", "messageDetails", "error_description", "error"):
        value = data.get(key)
        if isinstance(value, str) and value:
            return value[:_REASON_LIMIT]
    return None


def log_line(
    state: State,
    *,
    method: str,
    path: str,
    authorization: str,
    operation_id: str | None,
    user: str | None,
    faults: Iterable[Mapping[str, Any]],
    violations: Iterable[Violation],
    status: int | None,
    duration_ms: float,
    request_id: int | None,
    body: bytes,
) -> None:
    """Write the request log line of one request (the app's hook and the front end's fast path, ``fast.py``)."""
    if not log.isEnabledFor(logging.INFO):
        return
    fault_names = [f"{f.get('name') or f.get('ruleId')}:{f.get('action')}" for f in faults]
    codes = [v.code for v in violations]
    reason = _reason(status, body)
    if state.config.log_format == "json":
        masked = redact_headers({"Authorization": authorization}).get("Authorization")
        line = {
            "requestId": request_id,
            "method": method,
            "path": path,
            "status": status,
            "ms": round(duration_ms, 2),
            "operationId": operation_id,
            "user": user,
            "faults": fault_names,
            "violations": codes,
            "reason": reason,
            "authorization": masked,
        }
        _emit(json.dumps(line))
        return
    extra = "".join(
        (
            f" #{request_id}" if request_id is not None else "",
            f" faults={','.join(fault_names)}" if fault_names else "",
            f" violations={','.join(codes)}" if codes else "",
            f" reason={json.dumps(reason)}" if reason else "",
        )
    )
    _emit("%s %s -> %s %.1fms %s%s", method, path, status or "no response", duration_ms, operation_id or "-", extra)


def _emit(msg: str, *args: Any) -> None:
    """``log.info(msg, *args)`` without ``findCaller``'s walk up the stack (the line's origin is always this
    module): the request log runs on every request of ``cxmock serve``."""
    log.handle(log.makeRecord(log.name, logging.INFO, __file__, 0, msg, args, None, "log_line"))
