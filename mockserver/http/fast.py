"""The fast path of the hottest request: a GET of the SMTP settings (the list, or one record by id), answered by the
HTTP front end on its event loop without Flask, when the request is the common case.

Why: the app (Flask, flask-smorest, the hooks) costs ~100 µs of CPU per request and a worker thread two thread
hand-offs; this path ~15 µs and none (docs/benchmarks.md). A client polling its settings is what a load test, a
readiness check or a dashboard of the integrator's own does most.

What it does is what the app does for the same request, with the same functions: the bearer check, permission,
Accept negotiation and contract-lint notes of ``api.guard``; the view's body; the journal entry and
``X-Cxmock-Request-Id`` of ``journaling``; the request log line. Whatever is not the common case **declines**
(returns None) before anything is recorded, and the request goes to the app as any other: another method or path,
the path in another case or percent-encoded, a query string, a body or a body header, a header sent twice, the
start-up probe, an ``Upgrade`` header or a Host werkzeug refuses, a fault rule armed, an answer that is an error
(401, 403, 404, 406), a body over :data:`MAX_BODY` or a list over :data:`MAX_RECORDS` (it would hold the event
loop), a signing key not generated yet. ``tests/runtime/test_fast_path.py`` sends the same
requests to a server with and one without it (``--no-http-fast-reads``) and compares the bytes, the journal and the
log line.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from flask import Flask

from ..core import negotiation
from ..core.contract import JSON_V1
from ..core.journal.pending import RAW_BODY_LIMIT
from ..core.lint.lint import Violation
from ..core.schemas import SmtpSettingsSchema
from ..core.state import State
from ..errors import ApiError
from .api import API_PREFIX, no_cxorigin
from .errors import json_bytes
from .journaling import PROBE_HEADER, log_line
from .selfcheck import mismatches

__all__ = ["FAST_KEY", "MAX_BODY", "MAX_RECORDS", "FastAnswer", "FastReads", "FastRequest"]

log = logging.getLogger("cxmock.http")

#: ``app.extensions`` key of an app's :class:`FastReads`
FAST_KEY = "cxmock.fast_reads"
#: a longer list, or a larger body, goes to the app (a worker thread): serialising, validating and journaling it
#: would hold every other connection meanwhile; 4 KiB is also what the journal keeps raw, to redact when read
MAX_RECORDS = 64
MAX_BODY = RAW_BODY_LIMIT

_LIST = API_PREFIX + "/SMTPSettings"
_ITEM = re.compile(re.escape(_LIST) + r"/([0-9]{1,10})\Z")
#: the request headers of a body: a GET with one goes to the app (it reads or refuses the body)
_BODY_KEYS = frozenset({"CONTENT_TYPE", "CONTENT_LENGTH", "TRANSFER_ENCODING"})
_PROBE_KEY = PROBE_HEADER.upper().replace("-", "_")
#: what werkzeug's ``Response.mimetype`` gives for the view's Content-Type (the journal keeps it)
_MIMETYPE = JSON_V1.partition(";")[0].strip().lower()
_item_schema = SmtpSettingsSchema()


@dataclass(frozen=True, slots=True)
class FastRequest:
    """A complete request without a body, as the front end read it.

    :param path: ``PATH_INFO``: the path without the query and without a sandbox prefix (no ``%`` in it).
    :param headers: as sent, decoded as latin-1 (PEP 3333), in order.
    :param remote: the client's address (``REMOTE_ADDR``).
    """

    method: str
    path: str
    headers: Sequence[tuple[str, str]]
    remote: str


#: the status line (``"200 OK"``), the response headers, the body: what a WSGI app would give ``start_response``
FastAnswer = tuple[str, list[tuple[str, str]], bytes]


class FastReads:
    """The fast path of one app (the root's or a sandbox's): call it with a :class:`FastRequest`."""

    def __init__(self, state: State) -> None:
        self.state = state
        #: requests answered here (the rest went to the app)
        self.answered = 0

    def _log(self, **line: Any) -> None:
        try:
            log_line(self.state, **line)
        except Exception:  # a bug: the request is answered and journaled all the same
            log.exception("the request log line of a fast-path GET failed")

    def __call__(self, req: FastRequest) -> FastAnswer | None:
        if req.method != "GET":
            return None
        state = self.state
        config = state.config
        if len(state.faults) or not state.identity.signer.has_key:
            return None
        path = req.path
        item: str | None = None
        if path == _LIST:
            operation_id = "getAllSmtpSettings"
        else:
            match = _ITEM.match(path)
            if match is None:
                return None
            item, operation_id = match.group(1), "getSmtpSettingsById"
        # the headers as the WSGI environ keys them (what werkzeug's request.headers reads)
        env: dict[str, str] = {}
        for name, value in req.headers:
            key = name.upper().replace("-", "_")
            if key in env or key in _BODY_KEYS:
                return None
            env[key] = value
        if _PROBE_KEY in env or "UPGRADE" in env or not _host_ok(env.get("HOST")):
            return None  # the probe is not logged; werkzeug's routing refuses a websocket upgrade and a bad host
        started = time.perf_counter()
        # api.guard, in its order; an error is the app's to answer
        identity = state.identity
        try:
            info = identity.authenticate(env.get("AUTHORIZATION"))
            identity.authorize(info)
            violations: list[Violation] = list(negotiation.negotiate_accept(env.get("ACCEPT")))
            if item is None:
                records = state.settings.list_at_most(MAX_RECORDS)
                if records is None:
                    return None
                body = json_bytes([r.public() for r in records])
            else:
                record = state.settings.get(negotiation.parse_id(item))
                body = json_bytes(_item_schema.dump(record.public()))
        except ApiError:
            return None
        if len(body) > MAX_BODY:
            return None
        if "CXORIGIN" not in env:
            violations.append(no_cxorigin())
        length = str(len(body))
        if config.validate_responses:  # selfcheck's hook, which runs before the journal's
            violations += mismatches("GET", path, 200, {"Content-Type": JSON_V1, "Content-Length": length}, body)
        duration_ms = (time.perf_counter() - started) * 1000
        # journaling's after-request hook, for this request
        request_id = state.journal.record_later(
            method="GET",
            path=path,
            query="",
            headers=_header_pairs(env),
            body=None,
            content_type=None,
            status=200,
            duration_ms=round(duration_ms, 3),
            operation_id=operation_id,
            faults=(),
            violations=violations,
            user=info.username,
            error=None,
            remote=req.remote,
            response_body=body,
            response_content_type=_MIMETYPE,
        )
        # recorded: from here on the answer is this one, whatever happens (the app must not journal it again)
        if config.log_requests:
            self._log(
                method="GET",
                path=path,
                authorization=env.get("AUTHORIZATION", ""),
                operation_id=operation_id,
                user=info.username,
                faults=(),
                violations=violations,
                status=200,
                duration_ms=duration_ms,
                request_id=request_id,
                body=body,
            )
        self.answered += 1
        rid = str(request_id)
        return "200 OK", [("Content-Type", JSON_V1), ("Content-Length", length), ("X-Cxmock-Request-Id", rid)], body


def _host_ok(host: str | None) -> bool:
    """Whether werkzeug's routing takes ``host`` (``Map.bind`` IDNA-encodes the name: 400 ``BadHost`` otherwise)."""
    if host is None:
        return True
    known = _hosts.get(host)
    if known is None:
        try:
            host.lower().partition(":")[0].encode("idna")
            known = True
        except UnicodeError:
            known = False
        if len(_hosts) >= _HOSTS_KEPT:  # the client's value: bounded
            _hosts.clear()
        _hosts[host] = known
    return known


_hosts: dict[str, bool] = {}
_HOSTS_KEPT = 256


def _header_pairs(env: dict[str, str]) -> list[tuple[str, str]]:
    """The request headers as werkzeug's ``EnvironHeaders`` lists them: names title-cased from the environ keys."""
    return [(key.replace("_", "-").title(), value) for key, value in env.items()]


def install(app: Flask, state: State) -> None:
    """Give ``app`` its fast path (``app.extensions[FAST_KEY]``)."""
    app.extensions[FAST_KEY] = FastReads(state)


def of(app: Flask) -> Callable[[FastRequest], FastAnswer | None] | None:
    """The fast path of ``app``, if it has one."""
    found: Callable[[FastRequest], FastAnswer | None] | None = app.extensions.get(FAST_KEY)
    return found
