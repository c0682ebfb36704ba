"""One HTTP/1.1 connection on the event loop: reads and frames requests (``httptools``, i.e. llhttp, strict
RFC 9112), enforces the deadlines and limits, hands each COMPLETE request to a worker thread, writes the answers
in order (keep-alive, pipelining), and carries out the socket-level faults.

Deadlines are for a whole request head and a whole body, not per byte: a client trickling one byte a second gets
408 when its head deadline passes. An idle keep-alive connection costs no thread, only its buffers; it is closed
after ``idle_timeout``. The answers written here (never by the app) are in the vendor error shape and close the
connection, since the rest of the stream cannot be trusted; a closing connection first half-closes and discards
what the client still sends for a moment (a "lingering close"), so the client reads the answer rather than a RST.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
from collections import deque
from typing import Any

import httptools
from werkzeug.exceptions import BadRequest

from .framing import METHOD_TOKEN, Refuse, check_head, header
from .hub import Hub, Limits
from .wsgi import BodyStream, Outcome, Request, TooLarge, head_so_far

__all__ = ["Connection", "Hub", "Limits"]

log = logging.getLogger("cxmock.server")

#: a closing connection discards at most this much, for at most this long, before the final close
LINGER_BYTES = 4 * 1024 * 1024
LINGER_SECONDS = 2.0
#: complete requests queued behind the one in flight before the connection stops reading (pipelining)
MAX_PIPELINED = 16
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


class _Handed(Exception):
    """Raised from a parser callback once the request went to the app without its body: parse no further."""


class Connection(asyncio.Protocol):
    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.limits = hub.limits
        self.transport: Any = None
        self.parser = httptools.HttpRequestParser(self)
        self.base: dict[str, Any] = hub.base
        self.queue: deque[Request] = deque()
        self.busy: Request | None = None
        self.current: Request | None = None  # the request whose body is being read
        self.receiving = False
        self.discarding = False  # no more parsing: the rest of the stream is read and dropped
        self.discarded = 0
        self.refusal: bytes | None = None  # an answer of our own, written once the request in flight is answered
        self.close_after = False
        self.eof = False
        self.closed = False
        self.timer: asyncio.TimerHandle | None = None
        self._url: list[bytes] = []
        self._headers: list[tuple[bytes, bytes]] = []
        self._head_size = 0
        self._body: list[bytes] = []
        self._body_size = 0
        self._method: str | None = None  # a method llhttp does not know (see _unknown_method_retry)
        self._begun = 0  # requests begun in the chunk being parsed

    # -- transport events ----------------------------------------------------------------------------------------
    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        hub = self.hub
        if hub.closing or len(hub.connections) >= self.limits.max_connections:
            limit = self.limits.max_connections
            why = "the server is stopping" if hub.closing else f"{limit} connections are open (http_max_connections)"
            transport.write(hub.error_bytes(503, f"connection refused: {why}; retry in a moment", ("Retry-After: 1",)))
            transport.close()
            self.closed = True
            return
        hub.connections.add(self)
        peer = transport.get_extra_info("peername") or ("", 0)
        self.base = {**hub.base, "REMOTE_ADDR": str(peer[0]), "REMOTE_PORT": str(peer[1])}
        self._arm(self.limits.idle_timeout)

    def data_received(self, data: bytes) -> None:
        if self.closed:
            return
        if self.discarding:
            self.discarded += len(data)
            if self.discarded > LINGER_BYTES:
                self.abort()
            return
        self._feed(data, True)

    def _feed(self, data: bytes, may_retry: bool) -> None:
        # the unknown-method retry re-parses this chunk: only right when the failing request is its first one
        may_retry = may_retry and not self.receiving
        self._begun = 0
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserCallbackError as exc:
            cause = exc.__context__
            if isinstance(cause, _Handed):
                self._start_discarding()
            elif isinstance(cause, Refuse):
                self.refuse(cause.status, cause.details)
            else:
                log.warning("HTTP parser callback failed: %r", cause)
                self.refuse(400, "malformed HTTP request")
        except httptools.HttpParserInvalidMethodError:
            if not (may_retry and self._begun <= 1 and self._unknown_method_retry(data)):
                self.refuse(400, "malformed HTTP request: the method is not an HTTP token; the connection is closed")
        except httptools.HttpParserUpgrade:
            # a request with Upgrade (no upgrade is offered): it was read whole and is answered; nothing after it
            self.close_after = True
            self._start_discarding()
        except httptools.HttpParserError as exc:
            what = str(exc).strip().rstrip(".") or "malformed request"
            if "Content-Length overflow" in what:
                self.refuse(413, f"request too large: Content-Length is over the limit of {self.limits.max_body} bytes")
            else:
                self.refuse(400, f"malformed HTTP request: {what}; the connection is closed")

    def _unknown_method_retry(self, data: bytes) -> bool:
        """llhttp knows a fixed list of methods; any other token is a method too (RFC 9110 §9.1), which the app
        answers 405. When the chunk starts with the request line, parse it again with a stand-in method."""
        match = METHOD_TOKEN.match(data)
        if match is None:
            return False
        self._method = match.group(1).decode("latin-1")
        self.parser = httptools.HttpRequestParser(self)
        self._feed(b"GET " + data[match.end() :], False)
        return True

    def eof_received(self) -> bool:
        self.eof = True
        if self.receiving and not self.discarding:
            self.refuse(400, "malformed HTTP request: the connection ended in the middle of a request")
            return True
        if self.busy is not None or self.queue:
            return True  # half-closed: the answers still go out, then the connection closes
        self._close()
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._disarm()
        for req in (self.busy, self.current, *self.queue):
            if req is not None:
                req.gone.set()
                if isinstance(req.stream, BodyStream):
                    req.stream.fail(BadRequest("the client closed the connection before sending the whole body"))
        self.queue.clear()
        hub = self.hub
        hub.connections.discard(self)
        if hub.closing and not hub.connections:
            hub.all_closed.set()

    # -- parser callbacks ----------------------------------------------------------------------------------------
    def on_message_begin(self) -> None:
        self._begun += 1
        self.receiving = True
        self._url = []
        self._headers = []
        self._head_size = 0
        self._arm(self.limits.head_timeout, "head")

    def on_url(self, url: bytes) -> None:
        self._head_size += len(url)
        if self._head_size > self.limits.max_head:
            raise Refuse(414, f"request too large: the request line is over {self.limits.max_head} bytes")
        self._url.append(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_size += len(name) + len(value) + 4
        if self._head_size > self.limits.max_head:
            raise Refuse(431, f"request too large: the request head is over {self.limits.max_head} bytes")
        self._headers.append((name, value))

    def on_headers_complete(self) -> None:
        parser = self.parser
        method, self._method = self._method, None
        req = check_head(
            method or parser.get_method().decode("latin-1"),
            b"".join(self._url),
            parser.get_http_version(),
            self._headers,
            parser.should_keep_alive(),
        )
        self._body = []
        self._body_size = 0
        self.current = req
        limit = self.limits.max_body
        has_body = req.chunked or bool(req.content_length)
        if has_body:
            self._arm(self.limits.body_timeout, "body")
        else:
            self._disarm()
        if req.content_length is not None and req.content_length > limit:
            self._hand_over_unread(req)  # the app refuses it by its head (413), the body is never read
        expect = header(req.headers, b"expect")
        if expect is not None and has_body and self.busy is None and not self.queue and not self.hub.closing:
            # decided by the app on the head: 100 Continue only when it reads the body (after auth and size checks)
            req.stream = BodyStream(lambda: self._call(self._send_continue, req), self.limits.body_timeout)
            self._dispatch(req)

    def on_body(self, data: bytes) -> None:
        req = self.current
        if req is None:
            return
        self._body_size += len(data)
        if self._body_size > self.limits.max_body:
            if isinstance(req.stream, BodyStream):
                req.unfinished = True
                req.stream.fail(TooLarge(self.limits.max_body).error())
                raise _Handed()
            req.content_length = self._body_size  # chunked: the app's size check refuses it by this length
            req.chunked = False
            self._hand_over_unread(req)
        if isinstance(req.stream, BodyStream):
            req.stream.feed(data)
        else:
            self._body.append(data)

    def on_message_complete(self) -> None:
        req = self.current
        self.current = None
        self.receiving = False
        self._disarm()
        if req is None:
            return
        if isinstance(req.stream, BodyStream):
            req.stream.finish()
        else:
            req.body = b"".join(self._body) if len(self._body) != 1 else self._body[0]
            self._body = []
            self.queue.append(req)
            if len(self.queue) > MAX_PIPELINED:
                self.transport.pause_reading()
        if self.busy is None:
            self._pump()

    # -- requests to the app and back ------------------------------------------------------------------------------
    def _hand_over_unread(self, req: Request) -> None:
        req.stream = TooLarge(self.limits.max_body)
        req.unfinished = True
        self.current = None
        self.receiving = False
        self.queue.append(req)
        if self.busy is None:
            self._pump()
        raise _Handed()

    def _pump(self) -> None:
        """Hand the next complete request to a worker, or wait for one (idle deadline), or close."""
        if self.busy is not None or self.closed:
            return
        if self.queue and not self.hub.closing:
            req = self.queue.popleft()
            if len(self.queue) == MAX_PIPELINED:
                self.transport.resume_reading()
            self._dispatch(req)
            return
        if self.refusal is not None:
            self._write_and_close(self.refusal)
        elif self.close_after or self.eof or self.hub.closing:
            self._close()
        elif not self.receiving:
            self._arm(self.limits.idle_timeout)

    def _dispatch(self, req: Request) -> None:
        self.busy = req
        if not self.receiving:
            self._disarm()
        hub = self.hub
        hub.submit(self, req)

    def done(self, req: Request, outcome: Outcome) -> None:
        """(loop) The worker's answer to ``req``."""
        self.busy = None
        if self.closed:
            return
        if outcome.abort == "reset":
            self._reset()
            return
        if outcome.abort == "drop":
            self._close()
            return
        self.transport.write(outcome.data)
        streaming = self.current is req  # answered on its head: the body (maybe never sent) is not read
        if outcome.close or req.unfinished or streaming:
            self.close_after = True
            if streaming:
                self.current = None
                self.receiving = False
                self._start_discarding()
            self._close()
            return
        self._pump()

    def _send_continue(self, req: Request) -> None:
        if not self.closed and self.current is req:
            self.transport.write(_CONTINUE)

    def _call(self, func: Any, *args: Any) -> None:
        loop = self.hub.loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(func, *args)

    # -- refusals, deadlines, closing ------------------------------------------------------------------------------
    def refuse(self, status: int, details: str, headers: tuple[str, ...] = ()) -> None:
        """Answer ``status`` ourselves and close (after the answer to a request in flight, to keep the order)."""
        if not details.endswith("the connection is closed"):
            details = f"{details}; the connection is closed"
        read = self.current or (
            head_so_far(self._method, self.parser, self._url, self._headers) if self.receiving else None
        )
        self.receiving = False
        current, self.current = self.current, None
        if current is not None and isinstance(current.stream, BodyStream):
            current.unfinished = True
            current.stream.fail(BadRequest(details))
            self._start_discarding()
            return  # its worker answers (and the connection then closes)
        self._start_discarding()
        data = self.hub.error_bytes(status, details, headers, read, self.base.get("REMOTE_ADDR", ""))
        if self.busy is not None or self.queue:
            self.refusal = data
            return
        self._write_and_close(data)

    def _write_and_close(self, data: bytes) -> None:
        self.refusal = None
        self.transport.write(data)
        self._close()

    def _start_discarding(self) -> None:
        self.discarding = True
        self.transport.resume_reading()

    def _arm(self, seconds: float, what: str | None = None) -> None:
        if self.timer is not None:
            self.timer.cancel()
        loop = self.hub.loop
        assert loop is not None
        self.timer = loop.call_later(seconds, self._expired, what, seconds)

    def _disarm(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def _expired(self, what: str | None, seconds: float) -> None:
        self.timer = None
        if self.closed:
            return
        if what is None or self.discarding:  # idle, or the final lingering: close
            self.abort() if self.discarding else self._close()
            return
        option = "http_head_timeout" if what == "head" else "http_body_timeout"
        self.refuse(408, f"request timeout: the request {what} was not received within {seconds:g} s ({option})")

    def shutdown(self) -> None:
        """(loop) The server stops: finish the request in flight, take no other."""
        self.queue.clear()
        if self.busy is None:
            self.abort() if self.receiving else self._close()

    def _close(self) -> None:
        """Close after what is written: a lingering close when the client may still be sending."""
        if self.closed:
            return
        transport = self.transport
        if self.discarding and not self.eof and transport.can_write_eof():
            transport.write_eof()  # FIN after the answer; what the client still sends is read and dropped
            self._arm(LINGER_SECONDS)
            return
        self.closed = True
        self._disarm()
        transport.close()

    def _reset(self) -> None:
        sock = self.transport.get_extra_info("socket")
        try:
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass  # the client is gone already
        self.abort()

    def abort(self) -> None:
        self.closed = True
        self._disarm()
        if self.transport is not None:
            self.transport.abort()
