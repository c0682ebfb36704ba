"""The attachments of a captured message: what the dashboard lists and lets one download (as Mailpit does).

An attachment is a non-multipart part with ``Content-Disposition: attachment``, or any part other than the text and
HTML bodies that names a file. Parsed on demand from the kept raw source (a message over ``--capture-raw-limit``
keeps only its start: an attachment cut there is marked ``truncated``). Pure functions, no IO.
"""

from __future__ import annotations

import email.parser
import email.policy
from dataclasses import dataclass
from email.message import Message

from ..jsonnames import camel_fields

__all__ = ["Attachment", "attachment_payload", "list_attachments"]

_PARSER = email.parser.BytesParser(policy=email.policy.compat32)
#: a file name is shown and offered at most this long (and only its last path segment)
NAME_LIMIT = 120


@dataclass(frozen=True)
class Attachment:
    """One attachment: its position among the message's attachments, its file name as sent (cleaned), the type it
    declares, its decoded size, and whether the kept raw source may have cut it."""

    index: int
    filename: str
    content_type: str
    size: int
    truncated: bool

    def to_dict(self) -> dict[str, object]:
        return camel_fields(self, "index", "filename", "content_type", "size", "truncated")


def _parts(raw: bytes) -> list[Message]:
    try:
        msg = _PARSER.parsebytes(raw)
    except Exception:  # noqa: BLE001 - the email package is lenient, but bad mail must never fail a listing
        return []
    found = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        disposition = part.get_content_disposition()
        named = part.get_filename() is not None
        body = part.get_content_type() in ("text/plain", "text/html") and not named
        if disposition == "attachment" or (named and not body):
            found.append(part)
    return found


def _clean(name: str | None, index: int) -> str:
    """The name's last path segment, printable, bounded; ``attachment-<n>`` when it has none."""
    text = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    text = "".join(ch if ch.isprintable() and ch not in '"' else "_" for ch in text).strip(" .")
    return text[:NAME_LIMIT] or f"attachment-{index + 1}"


def _payload(part: Message) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception:  # noqa: BLE001 - an undecodable part is offered as sent
        data = None
    if isinstance(data, bytes):
        return data
    raw = part.get_payload()
    return raw.encode("utf-8", "replace") if isinstance(raw, str) else b""


def list_attachments(raw: bytes, *, raw_truncated: bool = False) -> list[Attachment]:
    """The attachments of ``raw``, in order; the last one is ``truncated`` when the raw source was cut."""
    parts = _parts(raw)
    return [
        Attachment(
            index=i,
            filename=_clean(part.get_filename(), i),
            content_type=part.get_content_type(),
            size=len(_payload(part)),
            truncated=raw_truncated and i == len(parts) - 1,
        )
        for i, part in enumerate(parts)
    ]


def attachment_payload(raw: bytes, index: int) -> tuple[str, bytes] | None:
    """``(file name, decoded bytes)`` of attachment ``index`` of ``raw``, or None when there is no such one."""
    parts = _parts(raw)
    if not 0 <= index < len(parts):
        return None
    return _clean(parts[index].get_filename(), index), _payload(parts[index])
