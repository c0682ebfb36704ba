"""A proxied exchange against the contract: the contract-lint of the client's request (what ``cxmock serve``
would have noted) and the document's view of the service's answer (the drift).

Pure functions: the proxy (``mockserver/proxy``) feeds them what crossed the wire. Paths ignore case, as the
service's routing does: a request to ``/CxRestAPI/auth/smtpsettings`` is checked as ``/cxrestapi/auth/SMTPSettings``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache

from ...errors import ApiError
from .. import contract, negotiation, selfcheck
from ..lint.lint import Violation, violation

__all__ = ["canonical_path", "document_drift", "lint_request", "operation_id"]

#: operations whose request body is an SMTP settings record or a testconnection body, and how to parse it
_BODY_PARSERS = {
    "createSmtpSettings": lambda raw: contract.parse_settings(raw),
    "updateSmtpSettings": lambda raw: contract.parse_settings(raw, update=True),
    "testSmtpConnection": lambda raw: contract.parse_test_connection(raw),
}
#: operations of the SMTP settings resource (the mock notes a missing cxOrigin on these)
_SETTINGS_OPERATIONS = frozenset(
    {
        "getAllSmtpSettings",
        "createSmtpSettings",
        "getSmtpSettingsById",
        "updateSmtpSettings",
        "deleteSmtpSettings",
        "testSmtpConnection",
    }
)


@cache
def _templates() -> tuple[tuple[str, ...], ...]:
    """The document's paths (server prefix included) as segments, literal ones first (they win, as in routing)."""
    document = contract.load_document()
    prefix = str((document.get("servers") or [{}])[0].get("url", "")).rstrip("/")
    paths = [prefix + path for path in document.get("paths") or {}]
    return tuple(tuple(p.split("/")) for p in sorted(paths, key=lambda p: "{" in p))


def canonical_path(path: str) -> str:
    """``path`` in the document's case when it names a documented path in another case; else ``path`` as is."""
    parts = path.split("/")
    folded = [p.casefold() for p in parts]
    for template in _templates():
        if len(template) != len(parts):
            continue
        if all(t.startswith("{") or t.casefold() == f for t, f in zip(template, folded, strict=True)):
            return "/".join(p if t.startswith("{") else t for t, p in zip(template, parts, strict=True))
    return path


def operation_id(method: str, path: str) -> str | None:
    """The document's operationId of ``method path`` (any case), or None for a path it does not describe."""
    operation = selfcheck.find_operation(method, canonical_path(path))
    return operation.operation_id if operation is not None else None


def document_drift(method: str, path: str, status: int, headers: Mapping[str, str], body: bytes | None) -> list[str]:
    """What the service's answer says that the document (``openapi/``) does not: one sentence per difference,
    phrased as "the service answered X where the document says Y". Empty when they agree."""
    problems = selfcheck.check_response(method, canonical_path(path), status, dict(headers), body)
    return [f"the service answered {_phrase(p)}" for p in problems]


_UNDECLARED = re.compile(r"(\S+) answered status (\d+), which the document does not declare \(declared: (.*)\)\Z")
_AT = re.compile(r"(\S+) (\d+): (.*)\Z", re.DOTALL)


def _phrase(problem: str) -> str:
    """A self-check sentence (``core/selfcheck.py``) as a sentence about the service."""
    match = _UNDECLARED.match(problem)
    if match:
        op, status, declared = match.groups()
        return f"{op} {status}, where the document says {op} answers {declared}"
    match = _AT.match(problem)
    if match:
        op, status, rest = match.groups()
        return f"{op} {status}, where the document says otherwise: {rest}"
    return f"differently from the document: {problem}"


def lint_request(method: str, path: str, headers: Mapping[str, str], body: bytes) -> list[Violation]:
    """The contract-lint violations ``cxmock serve`` would journal for this request (``headers`` by lower-case
    name); refusals the mock would answer (406, 415, 400) are reported as their violations, never raised."""
    canonical = canonical_path(path)
    op = operation_id(method, canonical)
    if op is None or op == "getToken" or canonical.casefold().endswith("/connect/token"):
        return []
    found: list[Violation] = []
    if canonical != path:
        found.append(
            violation(
                "path-case",
                f"path {path[:200]!r} is not in the documented case ({canonical[:200]!r}); the service's routing "
                "ignores case, so it works",
            )
        )
    try:
        found += negotiation.negotiate_accept(headers.get("accept"))
    except ApiError as exc:
        found += exc.violations
    if op in _SETTINGS_OPERATIONS and "cxorigin" not in headers:
        found.append(violation("cxorigin-missing", "no cxOrigin header (the vendor's audit-trail origin)"))
    parse = _BODY_PARSERS.get(op)
    if parse is not None:
        try:
            found += negotiation.check_content_type(headers.get("content-type"))
            found += parse(body).violations
        except ApiError as exc:
            found += exc.violations
    return found
