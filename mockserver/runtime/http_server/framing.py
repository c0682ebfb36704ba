"""Request-head rules beyond llhttp's own (strict RFC 9112 already: one Content-Length of digits, no CL with TE,
a final ``chunked`` only, token header names, no obs-fold, CRLF line ends): the HTTP version, Host, the request
target, Expect, CONNECT. A broken rule is a :class:`Refuse`: the server answers it and closes the connection.
"""

from __future__ import annotations

import re

import httptools

from .wsgi import Request

__all__ = ["METHOD_TOKEN", "Refuse", "check_head", "header"]

#: a request line's method: any RFC 9110 token (llhttp itself knows a fixed list)
METHOD_TOKEN = re.compile(rb"(?:\r\n)*([!#$%&'*+\-.^_`|~0-9A-Za-z]+) ")


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
        elif low == b"transfer-encoding":
            chunked = True  # llhttp accepts only a final "chunked" and refuses it beside Content-Length
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
