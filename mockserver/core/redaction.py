"""Redaction: copies of request headers, query and body that are safe to log and journal.

What is kept:

- ``Authorization: Bearer <token>`` -> ``Bearer …<last 4>`` (``Bearer …`` for tokens shorter than 12
  characters); any other scheme -> ``<scheme> …``. ``Cookie``, ``Set-Cookie``, ``X-Admin-Token`` and
  ``X-Cxmock-Admin-Token`` -> ``***``.
- Body and query members named ``password``, ``client_secret``, ``access_token``, ``refresh_token``, ``token`` or
  ``id_token`` (any case, ``_``/``-`` ignored, at any depth), and any member whose name ends in ``password``,
  -> ``"***"``. JSON and form bodies are parsed; a body that is neither is kept only as
  ``{"unparsed": true, "size": N}``.

Every function is idempotent, so an adapter may redact first (as its request log does) and the journal again.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode

__all__ = ["REDACTED", "is_secret_member", "redact_body", "redact_headers", "redact_query"]

REDACTED = "***"

#: member names (case-folded, ``_`` and ``-`` removed) whose values are replaced by ``REDACTED``
_SECRET_MEMBERS = frozenset({"password", "clientsecret", "accesstoken", "refreshtoken", "idtoken", "token"})
_SECRET_HEADERS = frozenset({"cookie", "set-cookie", "x-admin-token", "x-cxmock-admin-token"})
_AUTH_HEADERS = frozenset({"authorization", "proxy-authorization"})
_FORM_KEY = re.compile(r"[\w.\-\[\]]+")
#: a bearer token shorter than this is shown without its last 4 characters (they would be a large part of it)
_MIN_TOKEN_FOR_LAST4 = 12


def is_secret_member(name: str) -> bool:
    """Whether a body or query member called ``name`` holds a secret (its value is journaled as ``***``)."""
    key = name.casefold().replace("_", "").replace("-", "")
    return key in _SECRET_MEMBERS or key.endswith("password")


def _redact_authorization(value: str) -> str:
    scheme, _, credentials = value.strip().partition(" ")
    credentials = credentials.strip()
    if not credentials:
        # a bare credential with no scheme: show nothing of it
        return "…" if scheme else ""
    if scheme.casefold() == "bearer":
        if credentials.startswith("…"):  # already redacted
            return f"{scheme} {credentials}"
        if len(credentials) >= _MIN_TOKEN_FOR_LAST4:
            return f"{scheme} …{credentials[-4:]}"
    return f"{scheme} …"


def _header_items(headers: Mapping[str, Any] | Iterable[tuple[str, Any]] | None) -> Iterable[tuple[str, Any]]:
    if headers is None:
        return ()
    if isinstance(headers, Mapping):
        return headers.items()
    return headers


def redact_headers(headers: Mapping[str, Any] | Iterable[tuple[str, Any]] | None) -> dict[str, str]:
    """A copy of ``headers`` safe to log: credentials cut down as the module docstring says.

    Accepts a mapping or ``(name, value)`` pairs (a repeated header is joined with ``", "``); keeps the first
    spelling of each name.
    """
    out: dict[str, str] = {}
    spelled: dict[str, str] = {}
    for name, raw in _header_items(headers):
        key = str(name).casefold()
        value = str(raw)
        if key in _AUTH_HEADERS:
            value = _redact_authorization(value)
        elif key in _SECRET_HEADERS:
            value = REDACTED
        if key in spelled:
            out[spelled[key]] += f", {value}"
        else:
            spelled[key] = str(name)
            out[str(name)] = value
    return out


def _redact_value(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): (REDACTED if is_secret_member(str(k)) else _redact_value(v)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_value(v) for v in value]
    return value


def _form_to_dict(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            previous = out[key]
            out[key] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            out[key] = value
    return out


def _parse_text(text: str, content_type: str | None) -> tuple[bool, Any]:
    """``(True, value)`` for a JSON or form body, ``(False, None)`` for anything else."""
    media = (content_type or "").split(";", 1)[0].strip().casefold()
    if media != "application/x-www-form-urlencoded":
        try:
            return True, json.loads(text)
        except (ValueError, RecursionError):
            pass
    if media in ("", "application/x-www-form-urlencoded", "text/plain"):
        try:
            pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=True)
        except ValueError:
            return False, None
        # Text that merely contains "=" (a broken JSON document, prose) is not a form: a secret in it could be
        # split across a key and a value. Only plain field names make a form.
        if all(_FORM_KEY.fullmatch(key) for key, _ in pairs):
            return True, _form_to_dict(pairs)
    return False, None


def redact_body(body: Any, content_type: str | None = None) -> Any:
    """A copy of a request body safe to log.

    ``body`` may be already parsed (dict, list, scalar) or raw (``bytes``/``str``): raw JSON is parsed, and so
    is a form body (``application/x-www-form-urlencoded``, or ``key=value&...`` text when ``content_type`` is
    not given). Secret members are replaced by ``"***"`` at any depth. A raw body that parses as neither is
    stored as ``{"unparsed": True, "size": <bytes>}`` so no secret it may hold survives. An empty raw body is
    ``None``.
    """
    try:
        return _redact_body(body, content_type)
    except RecursionError:  # absurdly deep nesting: keep nothing of it
        size = len(body) if isinstance(body, str | bytes | bytearray) else None
        return {"unparsed": True, "size": size}


def _redact_body(body: Any, content_type: str | None) -> Any:
    if isinstance(body, bytes | bytearray | memoryview):
        raw = bytes(body)
        if not raw:
            return None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return {"unparsed": True, "size": len(raw)}
        ok, value = _parse_text(text, content_type)
        return _redact_value(value) if ok else {"unparsed": True, "size": len(raw)}
    if isinstance(body, str):
        if not body:
            return None
        ok, value = _parse_text(body, content_type)
        return _redact_value(value) if ok else {"unparsed": True, "size": len(body.encode("utf-8"))}
    return _redact_value(body)


def redact_query(query: Mapping[str, Any] | str | None) -> dict[str, Any] | str:
    """A copy of the query safe to log: secret parameters (``access_token=...``) become ``***``.

    A mapping stays a mapping; a raw query string stays a string, re-encoded.
    """
    if query is None:
        return {}
    if isinstance(query, str):
        pairs = parse_qsl(query.lstrip("?"), keep_blank_values=True)
        return urlencode([(k, REDACTED if is_secret_member(k) else v) for k, v in pairs], safe="*")
    redacted: dict[str, Any] = _redact_value(query)
    return redacted
