"""Request-head rules beyond llhttp's own (strict RFC 9112 already: one Content-Length of digits, no CL with TE,
a final ``chunked`` only, token header names, no obs-fold, CRLF line ends): the HTTP version, Host (one, and at
most :data:`MAX_HOST` bytes: no name is longer, and nothing later works on more), the transfer codings (only
``chunked``; another is 501, RFC 9112 §6.1), the request target, Expect, CONNECT. A broken rule is a
:class:`Refuse`: the server answers it and closes the connection.

:func:`chunk_size_at` reads the size line of the chunk llhttp is in the middle of, so a chunk declared over the body
limit is refused when its size line arrives, not after its bytes (llhttp does not report chunk sizes).
"""

from __future__ import annotations

import re

import httptools

from .wsgi import Request

__all__ = ["MAX_HOST", "METHOD_TOKEN", "Refuse", "check_head", "chunk_size_at", "header"]

#: a request line's method: any RFC 9110 token (llhttp itself knows a fixed list)
METHOD_TOKEN = re.compile(rb"(?:\r\n)*([!#$%&'*+\-.^_`|~0-9A-Za-z]+) ")
#: a Host header value at most: a DNS name (253) or a bracketed IPv6 literal, a colon and a port
MAX_HOST = 261


class Refuse(Exception):
    def __init__(self, status: int, details: str) -> None:
        super().__init__(details)
        self.status, self.details = status, details


def header(headers: list[tuple[bytes, bytes]], lower_name: bytes) -> bytes | None:
    for name, value in headers:
        if name.lower() == lower_name:
            return value
    return None


def check_head(
    method: str, target: bytes, version: str, headers: list[tuple[bytes, bytes]], keep_alive: bool
) -> Request:
    """The request head, checked beyond what llhttp checks (version, Host, request target, Expect, CONNECT)."""
    if version not in ("1.1", "1.0"):
        raise Refuse(400, f"unsupported HTTP version {version}: send HTTP/1.1 (or HTTP/1.0)")
    if method == "CONNECT":
        raise Refuse(400, "CONNECT is not supported: this is not a proxy")
    hosts = 0
    chunked = False
    length: int | None = None
    for name, value in headers:
        low = name.lower()
        if low == b"host":
            hosts += 1
            if len(value) > MAX_HOST:
                raise Refuse(
                    400, f"the Host header is {len(value)} bytes, over {MAX_HOST}: send a host name or address"
                )
        elif low == b"transfer-encoding":
            chunked = True  # llhttp accepts only a final "chunked" and refuses it beside Content-Length
            _check_codings(value)
        elif low == b"content-length":
            length = int(value)  # llhttp checked: digits only, one value
        elif low == b"expect" and value.strip().lower() != b"100-continue":
            raise Refuse(417, f"unsupported Expect: {value[:100].decode('latin-1')!r}; only 100-continue is known")
    if hosts > 1:
        raise Refuse(400, "more than one Host header (RFC 9112 §3.2): send exactly one")
    if hosts == 0 and version == "1.1":
        raise Refuse(400, "missing Host header: HTTP/1.1 requires one (RFC 9112 §3.2)")
    if target.startswith(b"/"):
        path, _, query = target.partition(b"?")
    elif target == b"*":
        if method != "OPTIONS":
            raise Refuse(400, "the request target '*' is only valid for OPTIONS")
        path, query = b"*", b""
    elif target[:7].lower() == b"http://" or target[:8].lower() == b"https://":
        try:
            url = httptools.parse_url(target)
        except httptools.HttpParserInvalidURLError:
            raise Refuse(400, "malformed absolute request target") from None
        path, query = url.path or b"/", url.query or b""
    else:
        raise Refuse(400, "malformed request target: send an absolute path such as /cxrestapi/auth/SMTPSettings")
    path = path.partition(b"#")[0]
    return Request(method, target, path, query, version, headers, keep_alive, chunked, length)


def _check_codings(value: bytes) -> None:
    codings = [coding.strip(b" \t").lower() for coding in value.split(b",")]
    if codings[-1] != b"chunked":
        raise Refuse(400, "the final transfer coding is not chunked (RFC 9112 §6.3): the body length is unknown")
    other = [coding for coding in codings if coding != b"chunked"]
    if other:
        named = b", ".join(other)[:100].decode("latin-1")
        raise Refuse(
            501, f"transfer coding {named!r} is not implemented (RFC 9112 §6.1): send the body with chunked alone"
        )
    if len(codings) > 1:
        raise Refuse(400, "chunked applied more than once (RFC 9112 §6.1): send Transfer-Encoding: chunked once")


#: a chunk size line whose start is further back than this is not read (llhttp's own limits then apply)
CHUNK_LINE_TAIL = 256


def chunk_size_at(data: bytes, end: int) -> int | None:
    """The size declared by the chunk size line ending (CRLF) just before ``data[end]``, or None when the line is
    not all in ``data`` (``data`` is the tail of what was parsed; the line cannot contain a LF)."""
    if end < 2 or data[end - 1 : end] != b"\n":
        return None
    start = data.rfind(b"\n", max(0, end - 1 - CHUNK_LINE_TAIL), end - 1)
    if start < 0:
        return None
    digits = data[start + 1 : end - 1].rstrip(b"\r").partition(b";")[0].strip(b" \t")
    try:
        return int(digits, 16)
    except ValueError:
        return None
