"""Parsing for captured mail: a raw message into its fields.

``parse_message`` decodes the headers, the text body and the correlation of the raw bytes; ``correlation_of`` reads
just the correlation (no MIME parsing). Pure functions, no state, no IO.
"""

from __future__ import annotations

import email.parser
import email.policy
import re
from email.header import decode_header, make_header
from email.message import Message
from typing import Any

__all__ = ["CORRELATION_HEADER", "correlation_of", "parse_message"]

#: header the testconnection client puts in its test message so the capture can be tied to the API request
CORRELATION_HEADER = "X-Cxmock-Correlation"

_PARSER = email.parser.BytesParser(policy=email.policy.compat32)
_HEADERS = {
    "subject": "Subject",
    "from_": "From",
    "to": "To",
    "date": "Date",
    "message_id": "Message-ID",
    "correlation": CORRELATION_HEADER,
}
_FOLD = re.compile(r"\r?\n(?=[ \t])")


# -- raw messages ----------------------------------------------------------------------------------------------


def parse_message(raw: bytes, *, text_limit: int | None = None, cut: bool = False) -> dict[str, Any]:
    """Headers, text and HTML bodies and correlation of ``raw``; any field that cannot be parsed is ``None``.

    Uses the ``compat32`` policy and decodes only what is kept: ``policy.default`` builds a structured object
    per header, several times slower, and the sink parses on its hot path.

    :param text_limit: keep at most this many characters of the text and of the HTML body.
    :param cut: ``raw`` is the start of a longer message; a body is then marked truncated when its part runs to
        the end of ``raw`` (it may go on in what was cut), or, in a multipart message, when no such part is left
        (it may have been in what was cut).
    :returns: the fields, plus ``text_truncated`` and ``html_truncated`` (bool): that body was cut, or may be
        incomplete.
    """
    out: dict[str, Any] = dict.fromkeys(_HEADERS, None)
    out["text"] = out["html"] = None
    out["text_truncated"] = out["html_truncated"] = False
    try:
        msg = _PARSER.parsebytes(raw)
    except Exception:  # the email package is lenient, but a sink must never fail on bad mail
        return out
    for key, name in _HEADERS.items():
        try:
            value = msg.get(name)
            if value is not None:
                out[key] = str(make_header(decode_header(_FOLD.sub("", str(value))))).strip()
        except Exception:
            out[key] = str(msg.get(name, "")).strip() or None
    for key, subtype in (("text", "text/plain"), ("html", "text/html")):
        try:
            body, last = _body(msg, subtype)
        except Exception:
            body, last = None, False
        # a body that runs to the cut may go on in what was cut; a multipart message cut before any such part may
        # have had one in what was cut (``html: null, htmlTruncated: true``: an HTML part lost to the cut, #23)
        truncated = cut and (last if body is not None else msg.is_multipart())
        if body is not None and text_limit is not None and len(body) > text_limit:
            body, truncated = body[:text_limit], True
        out[key], out[f"{key}_truncated"] = body, truncated
    return out


def _body(msg: Message, content_type: str) -> tuple[str | None, bool]:
    """The first ``content_type`` part that is not an attachment, decoded, and whether it is the message's last."""
    parts = [part for part in msg.walk() if not part.is_multipart()]
    for index, part in enumerate(parts):
        if part.get_content_type() == content_type and part.get_content_disposition() != "attachment":
            last = index == len(parts) - 1
            payload = part.get_payload(decode=True)
            if not isinstance(payload, bytes):
                return None, last
            charset = part.get_content_charset() or "utf-8"
            try:
                return payload.decode(charset, "replace"), last
            except LookupError:  # unknown charset name
                return payload.decode("utf-8", "replace"), last
    return None, False


_CORRELATION_LINE = re.compile(
    rb"^" + CORRELATION_HEADER.encode() + rb"[ \t]*:[ \t]*([!-~]{1,128})[ \t]*\r?$", re.MULTILINE | re.IGNORECASE
)


def correlation_of(raw: bytes) -> str | None:
    """The ``X-Cxmock-Correlation`` value from the header block of ``raw`` (cheap: no MIME parsing)."""
    end = raw.find(b"\r\n\r\n")
    head = raw if end < 0 else raw[:end]
    match = _CORRELATION_LINE.search(head)
    return match.group(1).decode("ascii") if match else None
