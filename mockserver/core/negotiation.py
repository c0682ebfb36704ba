"""Media types, API version negotiation, body sizes and path ids: what is checked before a body is parsed.

``negotiate_accept`` (406), ``check_content_type`` (415), ``check_body_size`` (413) and ``parse_id`` (404),
each reporting the contract-lint violations it noticed.

Request bodies are read as ASP.NET Core's JSON input formatter reads them: ``application/json``, ``text/json`` and
any ``application/*+json`` (the NSwag client sends ``application/json-patch+json``), with or without ``v=1.0``.
"""

from __future__ import annotations

import re

from ..errors import BadRequest, MessageCode, NotAcceptable, NotFound, PayloadTooLarge, UnsupportedMediaType
from .contract import show
from .lint.lint import Violation, violation

__all__ = ["check_body_size", "check_content_type", "negotiate_accept", "parse_id"]

_INT = re.compile(r"-?[0-9]{1,30}")
INT32_MAX = 2_147_483_647
INT32_MIN = -2_147_483_648


def parse_id(raw: str, *, strict: bool = False) -> int:
    """A path id: the service's ``int`` (Int32).

    A segment that is no Int32 (not a number, or beyond the range) matches no route: 404, as an ASP.NET
    ``{id:int}`` route constraint answers (inference, docs/fidelity.md). Any Int32 reaches the action, which finds
    no record for an id below 1: the caller's lookup answers 404 not found, as the service's does (issue #22).
    ``strict`` keeps cxmock's earlier answer to an Int32 below 1: 400.
    """
    if _INT.fullmatch(raw):
        value = int(raw)
        if INT32_MIN <= value <= INT32_MAX:
            if strict and value < 1:
                raise BadRequest(
                    f"id must be between 1 and {INT32_MAX}, got {show(raw)} (strict mode)",
                    message_code=MessageCode.INVALID_ID,
                )
            return value
    raise NotFound(
        f"no route matches id {show(raw)}: id is an Int32 between 1 and {INT32_MAX}, e.g. "
        "/cxrestapi/auth/SMTPSettings/1; GET /cxrestapi/auth/SMTPSettings lists the existing ids"
    )


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


#: what an Accept media range may name to get JSON: ASP.NET's JSON output formatter writes application/json,
#: text/json and application/*+json, and matches the wildcards
_ACCEPTED_RANGES = ("application/json", "text/json", "application/*", "text/*", "*/*")
_STRICT_RANGES = ("application/json", "application/*", "*/*")


def _produces_json(media: str, *, strict: bool) -> bool:
    if strict:
        return media in _STRICT_RANGES
    return media in _ACCEPTED_RANGES or is_json_media_type(media)


def negotiate_accept(accept: str | None, *, strict: bool = False) -> list[Violation]:
    """Check ``Accept``; 406 when it names only unsupported versions or media types.

    A request without a version gets version 1.0, the latest (the vendor's versioning page): the contract-lint
    notes it at ``info``. ``text/json`` and ``application/*+json`` are served as ASP.NET's JSON formatter serves
    them (``strict``: 406, cxmock's answer before issue #22).
    """
    if accept is None or not accept.strip():
        return [
            violation(
                "version-missing",
                "no Accept header: served as version 1.0, the latest (the vendor documents "
                "Accept: application/json;v=1.0)",
            )
        ]
    versions_named = []
    acceptable_unversioned = False
    for media, params in _media_ranges(accept):
        if params.get("q", "1").strip() in ("0", "0.0", "0.00", "0.000"):
            continue
        if not _produces_json(media, strict=strict):
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
            violation(
                "version-missing",
                f"Accept {show(accept, 60)} names no version: served as version 1.0, the latest; "
                "send application/json;v=1.0",
            )
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


def is_json_media_type(media: str) -> bool:
    """Whether ASP.NET's JSON input formatter reads ``media``: application/json, text/json, application/*+json."""
    if media in ("application/json", "text/json"):
        return True
    kind, _, subtype = media.partition("/")
    return kind == "application" and subtype.endswith("+json") and len(subtype) > len("+json")


def check_content_type(content_type: str | None) -> list[Violation]:
    """Check the ``Content-Type`` of a JSON body; 415 for another media type or an unsupported version."""
    if content_type is None or not content_type.strip():
        raise _refused(
            "media-type-missing",
            "the request has no Content-Type; send the body as Content-Type: application/json;v=1.0",
        )
    ranges = _media_ranges(content_type)
    media, params = ranges[0] if ranges else ("", {})
    if not is_json_media_type(media):
        raise _refused(
            "media-type-wrong",
            f"Content-Type {show(content_type, 60)} is not supported; send JSON as application/json;v=1.0 "
            "(text/json and application/*+json are read too)",
        )
    version = params.get("v")
    if version is None:
        return [
            violation(
                "version-missing",
                f"Content-Type {show(media, 60)} names no version: read as version 1.0, the latest; "
                "send application/json;v=1.0",
            )
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
