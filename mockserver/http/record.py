"""The record of one request: what the app learns about it while answering, gathered in one typed object.

A request's facts (its operationId, its user, the body as read, the fault rules that fired, the contract-lint
violations, the error details, the mail it caused) are written by the views, the fault hooks and the error
handlers into the request's :class:`RequestRecord` (:func:`current`), and read once, by the finishing step
(``journaling.finish``), which journals, logs and self-checks the answer. The record is made when the request
starts (:func:`init_app`), with its operationId already known: :func:`operation_ids` maps the matched route to the
OpenAPI document's operationId, the one place an operationId is looked up.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from flask import Flask, Request, g, has_request_context, request

from ..core import contract
from ..core.faults.decisions import HttpFault
from ..core.lint.lint import Violation
from ..core.logcontext import next_request_id

__all__ = ["MailLink", "RequestRecord", "current", "init_app", "operation_id", "operation_ids"]

#: links the mail a testconnection captured to the journal id of its request (None: not journaled); made by the
#: runtime's SMTP path, called once by the finishing step, so the mail's record is written once, complete
MailLink = Callable[[int | None], None]

_RULE_PARAM = re.compile(r"<(?:[^<>:]+:)?([^<>]+)>")
#: the ``g`` attribute holding the record
_KEY = "cx_record"
_UNSEEN: Any = object()


@dataclass(slots=True, eq=False)
class RequestRecord:
    """What the app learned about one request, for its journal entry and its log line.

    :param started: ``time.perf_counter()`` when the request reached the app.
    :param operation_id: the operationId of the matched route (None: not an API operation).
    :param user: the user of the request's token (or of its password grant).
    :param body: the request body as read: raw bytes, or the form of an OAuth2 request (None: not read).
    :param faults: ``{ruleId, name, action}`` of each fault rule that fired.
    :param violations: the contract-lint violations found.
    :param error: the structured details of an error answer (code, per-field errors, SMTP stage...).
    :param mail: links the mail a testconnection caused to this request's journal id.
    :param no_response: an injected drop, reset or hang sent no response at all.
    :param response_fault: a fault rule that corrupts the answer once the view made it (``faults.py``).
    :param log_id: the request's id unique in the server (``core/logcontext``), on its log lines.
    """

    started: float = field(default_factory=time.perf_counter)
    operation_id: str | None = None
    user: str | None = None
    body: Any = None
    faults: list[dict[str, Any]] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)
    error: dict[str, Any] | None = None
    mail: MailLink | None = None
    no_response: bool = False
    response_fault: HttpFault | None = None
    #: the request's id unique in the server, named by every log line written while serving it (#25)
    log_id: int = field(default_factory=next_request_id)

    def note(self, violations: Iterable[Violation]) -> None:
        """Remember contract-lint violations for the journal entry."""
        self.violations.extend(violations)


def current() -> RequestRecord:
    """The record of the request being handled (made on first use, e.g. by an error raised before any hook)."""
    ctx: Any = cast(Any, g)._get_current_object()
    found: RequestRecord | None = ctx.get(_KEY)
    if found is None:
        found = RequestRecord()
        setattr(ctx, _KEY, found)
    return found


def current_or_none() -> RequestRecord | None:
    """The record of the request being handled, or None outside a request (the sandbox dispatcher's errors)."""
    return current() if has_request_context() else None


def operation_ids(undocumented: Mapping[tuple[str, str], str] | None = None) -> dict[tuple[str, str], str]:
    """``{(METHOD, "/cxrestapi/auth/SMTPSettings/{id}"): operationId}`` from the OpenAPI document, plus
    ``undocumented`` (routes the document does not describe, such as the OIDC endpoints)."""
    document = contract.load_document()
    servers = document.get("servers") or [{}]
    prefix = str(servers[0].get("url", "")).rstrip("/")
    out: dict[tuple[str, str], str] = dict(undocumented or {})
    for path, item in (document.get("paths") or {}).items():
        for method, operation in item.items():
            if isinstance(operation, dict) and "operationId" in operation:
                out[(method.upper(), prefix + path)] = str(operation["operationId"])
    return out


def operation_id(operations: Mapping[tuple[str, str], str], method: str, rule: str) -> str | None:
    """The operationId of ``method`` on the route ``rule`` (werkzeug's ``/SMTPSettings/<settings_id:id>``; a HEAD
    is its GET's), or None."""
    return operations.get(("GET" if method == "HEAD" else method, _RULE_PARAM.sub(r"{\1}", rule)))


def init_app(app: Flask, prefix: str, undocumented: Mapping[tuple[str, str], str] | None = None) -> None:
    """Give every request a record when it reaches the app; requests under ``prefix`` get their operationId (see
    :func:`operation_ids`). Call before any other hook that reads the record."""
    operations = operation_ids(undocumented)
    #: ``(method, rule) -> operationId``, filled as routes are used (bounded by the app's routes and methods)
    by_rule: dict[tuple[str, str], str | None] = {}

    @app.before_request
    def _start() -> None:
        record = RequestRecord()
        setattr(cast(Any, g)._get_current_object(), _KEY, record)
        req: Request = cast(Any, request)._get_current_object()
        rule = req.url_rule
        if rule is not None and req.path.startswith(prefix):
            key = (req.method, rule.rule)
            found = by_rule.get(key, _UNSEEN)
            if found is _UNSEEN:
                found = by_rule[key] = operation_id(operations, *key)
            record.operation_id = found
