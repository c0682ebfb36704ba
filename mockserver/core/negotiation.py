"""Media types, API version negotiation, body sizes and path ids: what is checked before a body is parsed.

``negotiate_accept`` (406), ``check_content_type`` (415), ``check_body_size`` (413) and ``parse_id`` (400), each
reporting the contract-lint violations it noticed.
"""

from __future__ import annotations

import re

from ..errors import BadRequest, MessageCode, NotAcceptable, PayloadTooLarge, UnsupportedMediaType
from .contract import show
from .lint.lint import Violation, violation

__all__ = ["check_body_size", "check_content_type", "negotiate_accept", "parse_id"]

_ID = re.compile(r"[0-9]{1,30}")


def parse_id(raw: str) -> int:
    """A path id: a positive decimal integer, else 400."""
    if _ID.fullmatch(raw) and int(raw) >= 1:
        return int(raw)
    raise BadRequest(f"id must be a positive integer, got {show(raw)}", message_code=MessageCode.INVALID_ID)


def check_body_size(length: int | None, limit: int) -> None:
    if length is not None and length > limit:
        raise PayloadTooLarge(f"the request body is {length} bytes; the limit is {limit} bytes (--max-body)")


def _media_ranges(header: str) -> list[tuple[str, dict[str, str]]]:
    out = []
    for part in header.split(","):
        pieces = [p.strip() for p in part.split(";")]
        if not pieces[0]:
            continue
        params = {}
        for p in pieces[1:]:
            if "=" in p:
                key, _, value = p.partition("=")
                params[key.strip().lower()] = value.strip().strip('"')
        out.append((pieces[0].lower(), params))
    return out


def negotiate_accept(accept: str | None) -> list[Violation]:
    """Check ``Accept``; 406 when it names only unsupported versions or media types."""
    if accept is None or not accept.strip():
        return [violation("version-missing", "no Accept header; the vendor documents Accept: application/json;v=1.0")]
    versions_named = []
    acceptable_unversioned = False
    for media, params in _media_ranges(accept):
        if params.get("q", "1").strip() in ("0", "0.0", "0.00", "0.000"):
            continue
        if media not in ("application/json", "application/*", "*/*"):
            continue
        version = params.get("v")
        if version is None:
            acceptable_unversioned = True
        elif version in ("1.0", "1"):
            return []
        else:
            versions_named.append(version)
    if acceptable_unversioned:
        return [
            violation("version-missing", f"Accept {show(accept, 60)} names no version; send application/json;v=1.0")
        ]
    if versions_named:
        exc = NotAcceptable(
            f"API version {show(versions_named[0])} is not supported; this server implements version 1.0 "
            "(Accept: application/json;v=1.0)"
        )
        exc.violations.append(violation("version-unsupported", exc.details))
        raise exc
    raise NotAcceptable(
        f"none of the media types in Accept {show(accept, 60)} can be produced; use application/json;v=1.0"
    )


def check_content_type(content_type: str | None) -> list[Violation]:
    """Check the ``Content-Type`` of a JSON body; 415 for another media type or an unsupported version."""
    if content_type is None or not content_type.strip():
        raise _refused(
            "media-type-missing",
            "the request has no Content-Type; send the body as Content-Type: application/json;v=1.0",
        )
    ranges = _media_ranges(content_type)
    media, params = ranges[0] if ranges else ("", {})
    if media != "application/json":
        raise _refused(
            "media-type-wrong", f"Content-Type {show(content_type, 60)} is not supported; send application/json;v=1.0"
        )
    version = params.get("v")
    if version is None:
        return [
            violation("version-missing", "Content-Type application/json names no version; send application/json;v=1.0")
        ]
    if version not in ("1.0", "1"):
        raise _refused(
            "version-unsupported", f"API version {show(version)} is not supported; this server implements version 1.0"
        )
    return []


def _refused(code: str, message: str) -> UnsupportedMediaType:
    exc = UnsupportedMediaType(message)
    exc.violations.append(violation(code, message))
    return exc
