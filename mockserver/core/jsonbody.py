"""Request bodies as JSON: decoded with every problem a 400 that says what is wrong, nesting bounded before parsing."""

from __future__ import annotations

import json
import re
from typing import Any

from ..errors import BadRequest

__all__ = ["MAX_JSON_DEPTH", "parse_json"]


def parse_json(raw: bytes) -> Any:
    """Decode a JSON body, turning every decoding problem into a 400 that says what is wrong."""
    if not raw.strip():
        raise BadRequest("the request body is empty; send a JSON object with the SMTP settings")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"the request body is not valid UTF-8 (byte {exc.start}); send UTF-8 encoded JSON") from None
    _check_depth(text)
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise BadRequest(
            f"the request body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except (ValueError, RecursionError) as exc:
        raise BadRequest(f"the request body is not acceptable JSON: {str(exc)[:100]}") from None


#: how deeply arrays and objects may nest in a JSON body (API and admin): deeper is a 400, not a RecursionError later
MAX_JSON_DEPTH = 64
_JSON_NESTING = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def _check_depth(text: str) -> None:
    if text.count("[") + text.count("{") <= MAX_JSON_DEPTH:  # the common case: cannot be too deep
        return
    depth = 0
    for match in _JSON_NESTING.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                raise BadRequest(
                    f"the JSON request body nests arrays/objects more than {MAX_JSON_DEPTH} levels deep; "
                    "no member of this API needs more than a few"
                )
        elif token in "]}":
            depth -= 1


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")
