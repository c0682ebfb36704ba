"""Text from a client made safe for a line of the text log.

A request's path, method or user, or a mail's envelope, can hold CR, LF (a forged log line: ``%0d%0a`` in a path)
or ESC (raw ANSI sequences that rewrite a terminal). :func:`loggable` shows every control character (C0, DEL, C1,
and the Unicode line and paragraph separators) as a ``\\xNN``/``\\uNNNN`` escape; everything else is kept as sent.
The JSON log needs nothing of it (``json.dumps`` escapes them).
"""

from __future__ import annotations

import re

__all__ = ["loggable"]

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def loggable(text: str) -> str:
    """``text`` with its control characters escaped (``"a\\r\\nb"`` → ``"a\\\\x0d\\\\x0ab"``); a fast no-op for the
    usual text without any."""
    if text.isprintable():
        return text
    return _CONTROL.sub(_escape, text)
