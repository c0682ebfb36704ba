"""The finishing step of every answer (:func:`finish`): self-check, journal entry, mail link, request log line.

The app's answers (views and error handlers alike) reach it through an after-request hook; the HTTP front end's
refusals (malformed or timed-out requests, answered before any app) through the runtime, which hands them in as an
:class:`Answer` with a fresh :class:`~.record.RequestRecord`. Every API request (under ``/cxrestapi/``) is
journaled; with ``--validate-responses`` its answer is checked against the document first (``selfcheck.py``).

The log line of a request says what a person debugging from the log alone needs: method, path, status, duration,
operationId, the journal id (also sent as ``X-Cxmock-Request-Id``), the fault rules that fired, the contract-lint
codes and, for a 4xx/5xx, the reason the body gives. The start-up probe of the HTTP front end (``PROBE_HEADER``)
is not logged: with ``--admin-token`` it is answered 401, which is not a problem worth a line.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, cast

from flask import Flask, Request, Response, g, request
from werkzeug.datastructures import Headers

from ..core.lint.lint import Violation, violation
from ..core.logcontext import LOG_CONTEXT, TALLY, log_extra
from ..core.logtext import loggable
from ..core.redaction import redact_headers
from ..core.state import State
from . import record
from .casing import PATH_AS_SENT
from .record import RequestRecord
from .selfcheck import mismatches

log = logging.getLogger("cxmock.requests")

JOURNALED_PREFIX = "/cxrestapi/"
#: sent by the HTTP front end's start-up probe (``GET /_mock/health``), whose answer is not logged
PROBE_HEADER = "X-Cxmock-Probe"
#: a reason quoted in a log line is cut to this many characters
_REASON_LIMIT = 300


@dataclass(frozen=True, slots=True)
class Answer:
    """One answer as the finishing step sees it: the app's (its views' and error handlers'), or a refusal of the
    HTTP front end (made before any app ran).

    :param path: the path as routed (the documented case, without a sandbox prefix).
    :param path_as_sent: the path as the client sent it, when routing changed its case (``casing.py``).
    :param headers: the request headers.
    :param status: the status sent.
    :param response_headers: the response headers.
    :param body: gives the response body (called only when needed; None: streamed, not known).
    :param checked: whether the self-check applies (not to a front-end refusal: it answers the framing, not an
        operation of the document).
    """

    method: str
    path: str
    path_as_sent: str | None
    query: str
    headers: Headers
    remote: str
    status: int
    response_headers: Headers
    body: Callable[[], bytes | None]
    response_mimetype: str | None
    checked: bool = True


def finish(state: State, record: RequestRecord, answer: Answer) -> int | None:
    """The one finishing step of every answer: self-check it (``--validate-responses``), journal it (requests under
    ``/cxrestapi/``), link the mail of a testconnection to it, write its request log line. Returns its journal id
    (None: not journaled)."""
    duration_ms = (time.perf_counter() - record.started) * 1000
    # None: an injected drop/reset/hang sent no response at all (see http/faults.py)
    status = None if record.no_response else answer.status
    journaled = answer.path.startswith(JOURNALED_PREFIX)
    config = state.config
    logged = config.log_requests and PROBE_HEADER not in answer.headers and log.isEnabledFor(logging.INFO)
    checked = journaled and config.validate_responses and answer.checked and not record.faults
    body = answer.body() if status is not None and (journaled or logged or checked) else b""
    if checked and status is not None:  # a response an injected fault shaped is not checked: it is wrong on purpose
        headers = {key: value for key, value in answer.response_headers.items()}
        record.note(mismatches(answer.method, answer.path, status, headers, body))
    body = body or b""
    request_id: int | None = None
    if journaled:
        violations = list(record.violations)
        sent = answer.path_as_sent
        if sent is not None:
            violations.append(
                violation(
                    "path-case",
                    f"path {sent[:200]!r} is not in the documented case ({answer.path[:200]!r}); the service's "
                    "routing ignores case, so it works",
                )
            )
        TALLY.request(state.name, [v.severity for v in violations])
        request_id = state.journal.record_later(
            method=answer.method,
            path=sent if sent is not None else answer.path,
            query=answer.query,
            headers=list(answer.headers.items()),
            body=record.body,
            content_type=answer.headers.get("Content-Type"),
            status=status,
            duration_ms=round(duration_ms, 3),
            operation_id=record.operation_id,
            faults=record.faults,
            violations=violations,
            user=record.user,
            error=record.error,
            remote=answer.remote,
            response_body=body or None,
            response_content_type=answer.response_mimetype,
        )
    if record.mail is not None:
        record.mail(request_id)  # the captured mail's testconnection record, written once, complete
    if logged:
        log_line(
            state,
            method=answer.method,
            path=answer.path,
            authorization=answer.headers.get("Authorization", ""),
            operation_id=record.operation_id,
            user=record.user,
            faults=record.faults,
            violations=record.violations,
            status=status,
            duration_ms=duration_ms,
            request_id=request_id,
            body=body,
            log_id=record.log_id,
            refused=not answer.checked,
        )
    return request_id


def init_app(app: Flask, state: State, undocumented: Mapping[tuple[str, str], str] | None = None) -> None:
    """Give every request its record (``record.py``) and finish every answer of the app (its views' and its error
    handlers'). Call before any other hook: the others' after-request hooks then run before this one."""
    record.init_app(app, JOURNALED_PREFIX, undocumented)

    @app.before_request
    def _log_context() -> None:
        # every line logged while serving this request names its sandbox and its server-wide id (#25)
        g.cx_log_token = LOG_CONTEXT.set((state.name, record.current().log_id))

    @app.teardown_request
    def _end_log_context(exc: BaseException | None) -> None:
        token = g.pop("cx_log_token", None)
        if token is not None:
            LOG_CONTEXT.reset(token)

    @app.after_request
    def _finish(response: Response) -> Response:
        # the context-local proxy resolved once: every access through one is a context lookup (~2 µs), and this
        # hook runs on every request (docs/benchmarks.md, "Where a GET /SMTPSettings spends its time")
        req: Request = cast(Any, request)._get_current_object()
        answer = Answer(
            method=req.method,
            path=req.path,
            path_as_sent=req.environ.get(PATH_AS_SENT),
            query=req.query_string.decode("latin-1"),
            headers=req.headers,
            remote=req.remote_addr or "",
            status=response.status_code,
            response_headers=response.headers,
            body=lambda: None if response.is_streamed else response.get_data(),
            response_mimetype=response.mimetype,
        )
        request_id = finish(state, record.current(), answer)
        if request_id is not None:
            response.headers["X-Cxmock-Request-Id"] = str(request_id)
        return response


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
    log_id: int | None = None,
    refused: bool = False,
) -> None:
    """Write the request log line of one request (called by :func:`finish`).

    The line names its sandbox and its server-wide request id ``log_id`` (as ``extra``: the runtime's formatter
    puts them on every line); ``request_id`` is the journal's per-sandbox number (``#3``, ``X-Cxmock-Request-Id``)
    and ``path`` is shown with the sandbox's ``/sandbox/<name>`` prefix, as the client sent it. Level (#25):
    WARNING for input the HTTP front end refused (``refused``: malformed, too large, too slow), ERROR for a 5xx
    cxmock answered on its own (a bug), INFO for the rest (a client's 4xx with its reason, a fault with its rule).
    """
    fault_names = [f"{f.get('name') or f.get('ruleId')}:{_fault_action(f)}" for f in faults]
    if refused:
        level = logging.WARNING
    elif status is not None and status >= 500 and not fault_names:
        level = logging.ERROR
    else:
        level = logging.INFO
    if not log.isEnabledFor(level):
        return
    codes = [v.code for v in violations]
    reason = _reason(status, body)
    extra = log_extra(state.name, log_id)
    if state.name is not None:
        path = f"/sandbox/{state.name}{path}"
    if state.config.log_format == "json":
        masked = redact_headers({"Authorization": authorization}).get("Authorization")
        line = {
            "journalId": request_id,
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
        _emit(level, extra, json.dumps(line))
        return
    notes = "".join(
        (
            f" #{request_id}" if request_id is not None else "",
            f" faults={','.join(fault_names)}" if fault_names else "",
            f" violations={','.join(codes)}" if codes else "",
            f" reason={json.dumps(reason)}" if reason else "",
        )
    )
    _emit(
        level,
        extra,
        "%s %s -> %s %.1fms %s%s",
        loggable(method),
        loggable(path),
        status or "no response",
        duration_ms,
        operation_id or "-",
        loggable(notes),
    )


def _fault_action(fault: Mapping[str, Any]) -> str:
    """A fired fault's action; an SMTP fault's with its stage (``reply@rcpt``: the testconnection it broke)."""
    stage = fault.get("stage")
    return f"{fault.get('action')}@{stage}" if stage else str(fault.get("action"))


def _emit(level: int, extra: Mapping[str, Any], msg: str, *args: Any) -> None:
    """``log.log(level, msg, *args, extra=extra)`` without ``findCaller``'s walk up the stack (the line's origin is
    always this module): the request log runs on every request of ``cxmock serve``."""
    log.handle(log.makeRecord(log.name, level, __file__, 0, msg, args, None, "log_line", dict(extra)))
