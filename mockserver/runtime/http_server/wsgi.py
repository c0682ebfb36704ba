"""What a worker thread does with one complete request: the WSGI environ (PEP 3333), the app call, the response
bytes. Nothing here touches a socket: the event loop (``protocol.py``) writes what :func:`respond` returns.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any
from urllib.parse import unquote_to_bytes

from werkzeug.exceptions import RequestEntityTooLarge, RequestTimeout

from .hooks import AppHooks

__all__ = ["Outcome", "Request", "answer_bytes", "head_so_far", "respond", "serialize"]

log = logging.getLogger("cxmock.server")

_SLASH = re.compile(rb"%2f", re.IGNORECASE)
_NO_BODY = frozenset({204, 304})
_REASONS = {
    400: "Bad Request",
    408: "Request Timeout",
    413: "Payload Too Large",
    414: "URI Too Long",
    417: "Expectation Failed",
    431: "Request Header Fields Too Large",
    501: "Not Implemented",
    503: "Service Unavailable",
}


@dataclass(slots=True, eq=False)
class Request:
    """One request as the event loop read it: the head, and the body (``body``) or a stream of it (``stream``)."""

    method: str
    target: bytes
    path: bytes
    query: bytes
    version: str
    headers: list[tuple[bytes, bytes]]
    keep_alive: bool
    chunked: bool = False
    content_length: int | None = None
    body: bytes = b""
    #: a file-like read by the app instead of ``body`` (``100-continue`` streaming, or a body over the limit)
    stream: Any = None
    #: the body was not read to its end: the connection closes after the response
    unfinished: bool = False
    gone: threading.Event = field(default_factory=threading.Event)
    #: bytes of head and body held while queued (the pipelining bound)
    size: int = 0


@dataclass(slots=True)
class Outcome:
    """What the worker hands back: bytes to write and whether to close, or an abort (``drop``/``reset``)."""

    data: bytes = b""
    close: bool = False
    abort: str | None = None


class TooLarge:
    """``wsgi.input`` of a request whose body is over the limit: it was never read, so reading it is a 413."""

    def __init__(self, limit: int) -> None:
        self._limit = limit

    def error(self) -> RequestEntityTooLarge:
        return RequestEntityTooLarge(
            f"request too large: the body exceeds the server's limit of {self._limit} bytes (max_body); "
            "send a smaller body"
        )

    def read(self, size: int | None = -1) -> bytes:
        raise self.error()

    def readline(self, size: int | None = -1) -> bytes:
        raise self.error()

    def __iter__(self) -> Any:
        return iter(())


class BodyStream:
    """``wsgi.input`` of an ``Expect: 100-continue`` request: the first read asks the loop for ``100 Continue``
    (so a request refused on its head, 401/403/413/415, never gets one), then waits for the body (bounded)."""

    def __init__(self, ask: Any, timeout: float) -> None:
        self._ask = ask
        self._timeout = timeout
        self._cond = threading.Condition()
        self._buf = bytearray()
        self._done = False
        self._error: Exception | None = None
        self._asked = False

    # -- the loop's side
    def feed(self, data: bytes) -> None:
        with self._cond:
            self._buf += data
            self._cond.notify_all()

    def finish(self) -> None:
        with self._cond:
            self._done = True
            self._cond.notify_all()

    def fail(self, error: Exception) -> None:
        with self._cond:
            if not self._done:
                self._error = error
            self._cond.notify_all()

    # -- the app's side
    def read(self, size: int | None = -1) -> bytes:
        if not self._asked:
            self._asked = True
            self._ask()
        deadline = time.monotonic() + self._timeout
        with self._cond:
            while True:
                if size is not None and 0 <= size <= len(self._buf) or self._done:
                    break
                if self._error is not None:
                    raise self._error
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise RequestTimeout(
                        f"request timeout: the body was not received within {self._timeout:g} s (http_body_timeout)"
                    )
                self._cond.wait(remaining)
            n = len(self._buf) if size is None or size < 0 else min(size, len(self._buf))
            data = bytes(self._buf[:n])
            del self._buf[:n]
            return data

    def readline(self, size: int | None = -1) -> bytes:
        out = bytearray()
        while size is None or size < 0 or len(out) < size:
            piece = self.read(1)
            if not piece:
                break
            out += piece
            if piece == b"\n":
                break
        return bytes(out)

    def __iter__(self) -> Any:
        return iter(self.readline, b"")


class _Empty:
    def read(self, size: int | None = -1) -> bytes:
        return b""

    def readline(self, size: int | None = -1) -> bytes:
        return b""

    def __iter__(self) -> Any:
        return iter(())


_EMPTY = _Empty()


class _Body:
    """``wsgi.input`` over a body already in memory (cheaper than ``io.BytesIO`` for the common tiny body)."""

    __slots__ = ("_data", "_pos")

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    def read(self, size: int | None = -1) -> bytes:
        start = self._pos
        end = len(self._data) if size is None or size < 0 else min(len(self._data), start + size)
        self._pos = end
        return self._data[start:end]

    def readline(self, size: int | None = -1) -> bytes:
        start = self._pos
        stop = self._data.find(b"\n", start)
        end = len(self._data) if stop < 0 else stop + 1
        if size is not None and size >= 0:
            end = min(end, start + size)
        self._pos = end
        return self._data[start:end]

    def __iter__(self) -> Any:
        return iter(self.readline, b"")


def head_so_far(
    method: str | None, parser: Any, url: list[bytes], headers: list[tuple[bytes, bytes]]
) -> Request | None:
    """The request whose head is being read, as far as it was (for the app's finishing step of a refusal), or None
    before its request target."""
    if not url:
        return None
    target = b"".join(url)
    path, _, query = target.partition(b"?")
    return Request(method or parser.get_method().decode("latin-1"), target, path, query, "1.1", list(headers), False)


def path_info(path: bytes) -> str:
    """PEP 3333 ``PATH_INFO``: percent-decoded, as latin-1; an encoded slash stays ``%2F`` (it is not a separator)."""
    if b"%" not in path:
        return path.decode("latin-1")
    return b"%2F".join(unquote_to_bytes(part) for part in _SLASH.split(path)).decode("latin-1")


def environ(req: Request, base: dict[str, Any], stopping: threading.Event, hooks: AppHooks) -> dict[str, Any]:
    """The WSGI environ of ``req``, with the app's extension keys (``hooks``)."""
    env = dict(base)
    env["REQUEST_METHOD"] = req.method
    env["PATH_INFO"] = path_info(req.path)
    env["QUERY_STRING"] = req.query.decode("latin-1")
    env["REQUEST_URI"] = env["RAW_URI"] = req.target.decode("latin-1")
    env["SERVER_PROTOCOL"] = "HTTP/" + req.version
    env["wsgi.input"] = req.stream if req.stream is not None else (_Body(req.body) if req.body else _EMPTY)
    if hooks.stopping_key is not None:
        env[hooks.stopping_key] = stopping
    if hooks.gone_key is not None:
        env[hooks.gone_key] = req.gone
    if hooks.abort_key is not None:
        env[hooks.abort_key] = None
    if hooks.headers_key is not None:
        env[hooks.headers_key] = req.headers
    for raw_name, raw_value in req.headers:
        name = raw_name.decode("latin-1").upper().replace("-", "_")
        value = raw_value.decode("latin-1")
        if name == "CONTENT_TYPE" or name == "CONTENT_LENGTH":
            env[name] = value
            continue
        key = "HTTP_" + name
        env[key] = f"{env[key]},{value}" if key in env else value
    if req.chunked:
        env.pop("CONTENT_LENGTH", None)
    elif req.content_length is not None:
        env["CONTENT_LENGTH"] = str(req.content_length)
        if req.unfinished:  # a chunked body over the limit, handed over by the size it reached or declared
            env.pop("HTTP_TRANSFER_ENCODING", None)
    return env


_date_cache: tuple[int, bytes] = (0, b"")


def _date() -> bytes:
    global _date_cache
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache = (now, f"Date: {formatdate(now, usegmt=True)}\r\n".encode("ascii"))
    return _date_cache[1]


def respond(
    app: Any, env: dict[str, Any], req: Request, abort_key: str | None, failed: Callable[[str], bytes]
) -> Outcome:
    """Run ``app`` on ``env`` and serialise its response (HTTP/1.1, Content-Length framing).

    :param abort_key: the environ key the app sets to ``"drop"`` or ``"reset"`` (``AppHooks.abort_key``).
    :param failed: the server's own 500 answer with this sentence, for an app that failed (``Hub.error_bytes``).
    """
    started: list[Any] = []
    written: list[bytes] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        if exc_info is not None and started:
            raise exc_info[1].with_traceback(exc_info[2])
        started[:] = [status, headers]
        return written.append

    try:
        result = app(env, start_response)
        try:
            abort = env.get(abort_key) if abort_key is not None else None
            if abort in ("drop", "reset"):
                return Outcome(abort=abort)
            chunks = list(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
    except Exception:  # a bug in the app (Flask answers its own errors): the client gets a 500, the log the trace
        log.exception("the WSGI app failed on %s %s", req.method, req.path[:200].decode("latin-1"))
        details = "internal error in cxmock's HTTP server; a bug in the mock, please report it"
        return Outcome(failed(details), close=True)  # the answer says Connection: close; so it is
    if not started:
        return Outcome(failed("the app returned without starting a response; a bug in the mock"), close=True)
    status, headers = started
    return serialize(req, status, headers, b"".join(written + chunks) if written else b"".join(chunks))


def serialize(req: Request, status: str, headers: list[tuple[str, str]], body: bytes) -> Outcome:
    """The bytes of the answer ``status`` (``"200 OK"``), ``headers`` and ``body`` to ``req`` (HTTP/1.1,
    Content-Length framing, ``Date``, keep-alive or close)."""
    code = int(status[:3])
    keep = req.keep_alive and not req.unfinished
    lines = [f"HTTP/1.1 {status}\r\n".encode("latin-1")]
    has_length = False
    for name, value in headers:
        low = name.lower()
        if low == "content-length":
            has_length = True
        elif low == "connection":
            if value.strip().lower() == "close":
                keep = False
            continue
        lines.append(f"{name}: {value}\r\n".encode("latin-1"))
    if code < 200 or code in _NO_BODY:
        body = b""
    elif not has_length:
        lines.append(b"Content-Length: %d\r\n" % len(body))
    if req.method == "HEAD":
        body = b""
    lines.append(_date())
    if not keep:
        lines.append(b"Connection: close\r\n")
    elif req.version == "1.0":
        lines.append(b"Connection: keep-alive\r\n")
    lines.append(b"\r\n")
    lines.append(body)
    return Outcome(b"".join(lines), close=not keep)


def answer_bytes(status: int, content_type: str, body: bytes, headers: tuple[str, ...] = ()) -> bytes:
    """A whole ``Connection: close`` answer of the server itself."""
    head = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}", f"Content-Type: {content_type}"]
    head += [f"Content-Length: {len(body)}", *headers, "Connection: close"]
    return ("\r\n".join(head) + "\r\n").encode("latin-1") + _date() + b"\r\n" + body


def base_environ(host: str, port: int) -> dict[str, Any]:
    return {
        "SCRIPT_NAME": "",
        "SERVER_NAME": host,
        "SERVER_PORT": str(port),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "wsgi.input_terminated": True,
    }
