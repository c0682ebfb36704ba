"""The forwarding WSGI app of ``cxmock proxy``: a request under ``/cxrestapi/auth`` goes to the upstream with its
method, target (path and query as sent), headers (hop-by-hop ones dropped, ``Host`` the upstream's) and body; the
upstream's answer comes back with its status, reason, headers (hop-by-hop ones and ``Date`` dropped: the front end
writes its own ``Date`` and framing) and body bytes unchanged.

Around it, what ``cxmock serve`` does for its own answers: the request journal (redacted; status, body and timing
are the upstream's), the contract-lint of the client's request, the request log line, and the drift list (the
upstream's answer against ``openapi/``; with ``--shadow``, against the in-process mock's). When the upstream gives
no usable answer the client gets a 502 or 504 in the service's error shape, ``{"message": ...}``, saying why.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote

from werkzeug.exceptions import HTTPException

from ..core.contract import JSON_V1
from ..core.drift.answers import document_drift, lint_request, operation_id
from ..core.drift.store import DriftLog
from ..core.lint.lint import Violation
from ..core.state import State
from ..http.errors import json_bytes
from ..http.journaling import log_line
from .shadow import Shadow
from .upstream import HOP_BY_HOP, UpstreamAnswer, UpstreamClient, UpstreamError

__all__ = ["FORWARDED_PREFIX", "HEADERS_KEY", "Forwarder", "forwarded"]

log = logging.getLogger("cxmock.proxy")

FORWARDED_PREFIX = "/cxrestapi/auth"
#: the environ key of the request's header lines as received (``AppHooks.headers_key``, set by ``ProxyServer``)
HEADERS_KEY = "cxmock.headers"
#: answers up to this many bytes are checked against the document (and shadowed) in full; larger: status and headers
DRIFT_BODY_LIMIT = 256 * 1024
_REASONS = {
    400: "Bad Request",
    408: "Request Timeout",
    413: "Payload Too Large",
    502: "Bad Gateway",
    504: "Gateway Timeout",
}
#: also dropped from requests: the front end answered ``Expect: 100-continue`` itself
_NOT_FORWARDED = HOP_BY_HOP | {"expect", "host", "content-length"}

StartResponse = Callable[..., Any]


def forwarded(path: str) -> bool:
    """Whether the proxy forwards a request for ``path`` (``/cxrestapi/auth`` and below, any case)."""
    folded = path.casefold()
    return folded == FORWARDED_PREFIX or folded.startswith(FORWARDED_PREFIX + "/")


def _named_by_connection(headers: Iterable[tuple[str, str]]) -> set[str]:
    names: set[str] = set()
    for name, value in headers:
        if name.lower() == "connection":
            names |= {part.strip().lower() for part in value.split(",") if part.strip()}
    return names


def _request_headers(environ: dict[str, Any]) -> list[tuple[str, str]]:
    raw = environ.get(HEADERS_KEY)
    if raw is not None:
        return [(n.decode("latin-1"), v.decode("latin-1")) for n, v in raw]
    out = []  # another WSGI server: rebuilt from the environ (names in title case)
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            out.append(("-".join(p.capitalize() for p in key[5:].split("_")), value))
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            out.append((key.replace("_", "-").title(), environ[key]))
    return out


class Forwarder:
    """WSGI app forwarding to ``client``'s upstream, journaling into ``state`` and finding drift into ``drift``."""

    def __init__(self, client: UpstreamClient, state: State, drift: DriftLog, shadow: Shadow | None = None) -> None:
        self.client = client
        self.state = state
        self.drift = drift
        self.shadow = shadow

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        started = time.perf_counter()
        method = environ["REQUEST_METHOD"]
        path = environ.get("PATH_INFO", "")
        query = environ.get("QUERY_STRING", "")
        target = environ.get("RAW_URI") or quote(path, safe="/%") + (f"?{query}" if query else "")
        headers = _request_headers(environ)
        dropped = _NOT_FORWARDED | _named_by_connection(headers)
        sent = [(k, v) for k, v in headers if k.lower() not in dropped]
        lowered = {k.lower(): v for k, v in reversed(headers)}
        answer: UpstreamAnswer | None = None
        error: dict[str, Any] | None = None
        body = b""
        try:
            body = self._read_body(environ)
            answer = self.client.request(method, target, sent, body)
            status, reason = answer.status, answer.reason
            out_headers = self._answer_headers(answer.headers)
            out_body = answer.body
        except (UpstreamError, _TooLarge) as exc:
            status, reason, out_headers, out_body = _own_answer(exc.status, exc.message)
            error = {"upstream": self.client.options.display(), "stage": exc.stage, "reason": exc.message}
            if isinstance(exc, UpstreamError):
                log.warning("upstream %s %s: %s", method, path[:200], exc.message)
        except Exception as exc:  # noqa: BLE001 - a bug of the proxy: logged, answered, journaled (never a bare 500)
            log.exception("forwarding %s %s failed", method, path[:200])
            message = f"cxmock proxy failed to forward the request ({type(exc).__name__}); a bug, please report it"
            status, reason, out_headers, out_body = _own_answer(502, message)
            error = {"upstream": self.client.options.display(), "stage": "proxy", "reason": message}
        duration_ms = (time.perf_counter() - started) * 1000
        op = operation_id(method, path)
        violations = self._lint(method, path, lowered, body)
        request_id = self.state.journal.record_later(
            method=method,
            path=path,
            query=query,
            headers=headers,
            body=body or None,
            content_type=lowered.get("content-type"),
            status=status,
            duration_ms=round(duration_ms, 3),
            operation_id=op,
            violations=violations,
            error=error,
            remote=environ.get("REMOTE_ADDR", ""),
            response_body=out_body or None,
            response_content_type=_header(out_headers, "content-type"),
        )
        if answer is not None:
            self._find_drift(method, path, query, sent, body, answer, op, request_id)
        if self.state.config.log_requests:
            log_line(
                self.state,
                method=method,
                path=path,
                authorization=lowered.get("authorization", ""),
                operation_id=op,
                user=None,
                faults=(),
                violations=violations,
                status=status,
                duration_ms=duration_ms,
                request_id=request_id,
                body=out_body,
            )
        start_response(f"{status} {reason}", out_headers)
        return [out_body]

    def _lint(self, method: str, path: str, headers: dict[str, str], body: bytes) -> list[Violation]:
        """The contract-lint of the client's request (as ``cxmock serve`` would journal it), whatever the upstream
        answered; a failure of the lint is logged and costs the request nothing."""
        try:
            return lint_request(method, path, headers, body)
        except Exception:  # noqa: BLE001 - the lint must never break the proxying
            log.exception("the contract-lint failed on %s %s", method, path[:200])
            return []

    def _read_body(self, environ: dict[str, Any]) -> bytes:
        limit = max(self.state.config.max_body, 1)
        try:
            data: bytes = environ["wsgi.input"].read(limit + 1)
        except HTTPException as exc:  # the front end's own 413 (over its limit) or 408 (body too slow)
            raise _TooLarge(exc.code or 400, str(exc.description)) from None
        if len(data) > limit:
            raise _TooLarge(413, f"the request body is over {limit} bytes (--max-body); the proxy does not forward it")
        return data

    def _answer_headers(self, headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
        dropped = HOP_BY_HOP | {"date"} | _named_by_connection(headers)
        return [(k, v) for k, v in headers if k.lower() not in dropped]

    def _find_drift(
        self,
        method: str,
        path: str,
        query: str,
        sent: list[tuple[str, str]],
        body: bytes,
        answer: UpstreamAnswer,
        op: str | None,
        request_id: int,
    ) -> None:
        where: dict[str, Any] = {
            "method": method,
            "path": path,
            "status": answer.status,
            "operation_id": op,
            "request_id": request_id,
        }
        headers = {k: v for k, v in reversed(answer.headers)}
        # a body over the limit is not parsed (a list of 10 000 records would cost each request ~100 ms): its
        # status and headers are still checked
        small = len(answer.body) <= DRIFT_BODY_LIMIT
        for problem in document_drift(method, path, answer.status, headers, answer.body if small else None):
            self.drift.add("document", problem, **where)
        if self.shadow is None or not small:
            return
        try:
            differences = self.shadow.differences(method, path, query, sent, body, answer)
        except Exception:  # noqa: BLE001 - the shadow must never break the proxying
            log.exception("the shadow mock failed on %s %s", method, path[:200])
            return
        for difference in differences:
            self.drift.add("shadow", difference, **where)


def _own_answer(status: int, message: str) -> tuple[int, str, list[tuple[str, str]], bytes]:
    """An answer of the proxy itself (no usable one from the upstream): the service's error shape."""
    body = json_bytes({"message": message})
    headers = [("Content-Type", JSON_V1), ("Content-Length", str(len(body)))]
    return status, _REASONS.get(status, "Error"), headers, body


class _TooLarge(Exception):
    """The client's request is not forwarded (its body is over the limit, or did not arrive in time)."""

    stage = "request"

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _header(headers: list[tuple[str, str]], name: str) -> str | None:
    return next((v for k, v in headers if k.lower() == name), None)
