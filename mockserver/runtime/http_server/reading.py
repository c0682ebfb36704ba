"""The reading side of one HTTP/1.1 connection (``protocol.Connection`` is the rest): feeding the parser in
bounded slices, holding what arrives while the connection may not take more requests, and the chunk sizes llhttp
does not report.

Bounds: complete requests queued behind the one in flight, :data:`MAX_PIPELINED` requests and
:data:`MAX_QUEUED_BYTES` (checked between slices of :data:`PARSE_SLICE` bytes, so a flood of tiny pipelined requests
queues at most one slice more); beyond, or while the answers wait for the client (``output_blocked``), what arrived
is kept unparsed (at most the one read that was under way) and reading stops. A chunk whose declared size takes the
body over the limit is refused when its size line arrives (:func:`~.framing.chunk_size_at`), not after its bytes.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import Any

import httptools

from .framing import CHUNK_LINE_TAIL, METHOD_TOKEN, Refuse, chunk_size_at
from .wsgi import BodyStream, Request, TooLarge

__all__ = ["LINGER_BYTES", "Handed", "MAX_PIPELINED", "MAX_QUEUED_BYTES", "PARSE_SLICE", "Reading"]

log = logging.getLogger("cxmock.server")

#: a closing connection discards at most this much before the final close
LINGER_BYTES = 4 * 1024 * 1024
#: complete requests queued behind the one in flight before the connection stops reading (pipelining)
MAX_PIPELINED = 16
#: ... and their bytes (heads and bodies)
MAX_QUEUED_BYTES = 256 * 1024
#: what is parsed at once while requests may queue: a flood of pipelined requests queues at most this much more
PARSE_SLICE = 2048


class Handed(Exception):
    """Raised from a parser callback once the request went to the app without its body: parse no further."""


class Reading(asyncio.Protocol):
    """The parser's feeding; ``protocol.Connection`` supplies the callbacks and what a refusal does."""

    def __init__(self) -> None:
        self.transport: Any = None
        self.parser = httptools.HttpRequestParser(self)
        self.queue: deque[Request] = deque()
        self.queued_bytes = 0
        self.busy: Request | None = None  # the request the app is answering
        self._head_size = 0
        self.current: Request | None = None  # the request whose body is being read
        self.receiving = False
        self.discarding = False  # no more parsing: the rest of the stream is read and dropped
        self.discarded = 0
        self.closed = False
        self.output_blocked = False  # unsent answers over the transport's high-water mark
        self.reading = True
        self._body_size = 0
        self._limit = 0  # the body limit of the request being read
        self._method: str | None = None  # a method llhttp does not know (see _unknown_method_retry)
        self._begun = 0  # requests begun in the chunk being parsed
        self._held = b""  # received, not parsed yet: requests are queued up to the bounds
        self._tail = b""  # the end of the previous slice parsed (a chunk size line may start there)
        self._in_chunk = False  # llhttp is inside a chunk's data
        self._chunk_read = 0  # bytes of that chunk's data read so far
        self._chunk_checked = False

    # -- what the connection does (protocol.Connection) -------------------------------------------------------------
    def refuse(self, status: int, details: str, headers: tuple[str, ...] = ()) -> None:
        raise NotImplementedError

    def abort(self) -> None:
        raise NotImplementedError

    def _start_discarding(self) -> None:
        raise NotImplementedError

    def _pump(self) -> None:
        raise NotImplementedError

    # -- reading ------------------------------------------------------------------------------------------------------
    def data_received(self, data: bytes) -> None:
        if self.closed:
            return
        if self.discarding:
            self._discard(len(data))
            return
        if self._held:  # one more read after the pause: kept, still unparsed
            self._held += data
            return
        self._parse(data)

    def _discard(self, size: int) -> None:
        self.discarded += size
        if self.discarded > LINGER_BYTES:
            # read and dropped enough: stop reading, and let the lingering close's deadline end the connection; a
            # client that reads its answer meanwhile gets it (an abort here lost it to the RST when the client had
            # sent a large body before reading)
            self._update_reading()

    def _parse(self, data: bytes) -> None:
        """Feed ``data`` to the parser, in slices while requests may queue; keep the rest once they are over the
        bounds (parsed when the queue drains)."""
        size = len(data)
        offset = 0
        while offset < size:
            if self.closed:
                return
            if self.discarding:
                self._discard(size - offset)
                return
            if self._queue_full() or self.output_blocked:
                self._held = data[offset:]
                self._update_reading()
                return
            step = PARSE_SLICE
            req = self.current
            if req is not None and req.content_length and req.stream is None:  # a body of known length: in one go
                step += max(0, req.content_length - self._body_size)
            piece = data[offset : offset + step] if offset or step < size else data
            if self._feed(piece, data, offset):
                return
            offset += len(piece)
            self._check_chunk(piece)
            self._tail = piece[-CHUNK_LINE_TAIL:]

    def _resume_input(self) -> None:
        """(loop) The queue drained or the answers went out: parse what was held, read again."""
        if self._held and not self.closed and not self._queue_full() and not self.output_blocked:
            data, self._held = self._held, b""
            self._parse(data)
        self._update_reading()

    def _queue_full(self) -> bool:
        return len(self.queue) > MAX_PIPELINED or self.queued_bytes > MAX_QUEUED_BYTES

    def _update_reading(self) -> None:
        if self.closed or self.transport is None:
            return
        if self.discarding:
            want = self.discarded <= LINGER_BYTES
        else:
            want = not (self._held or self.output_blocked or self._queue_full())
        if want != self.reading:
            self.reading = want
            if want:
                self.transport.resume_reading()
            else:
                self.transport.pause_reading()

    def _feed(self, data: bytes, whole: bytes, offset: int) -> bool:
        """Feed one slice; True when the rest of ``whole`` (from ``offset``) was dealt with here."""
        # the unknown-method retry re-parses this chunk: only right when the failing request is its first one
        may_retry = self._method is None and not self.receiving
        self._begun = 0
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserCallbackError as exc:
            cause = exc.__context__
            if isinstance(cause, Handed):
                self._start_discarding()
            elif isinstance(cause, Refuse):
                self.refuse(cause.status, cause.details)
            else:
                log.warning("HTTP parser callback failed: %r", cause)
                self.refuse(400, "malformed HTTP request")
        except httptools.HttpParserInvalidMethodError:
            if may_retry and self._begun <= 1 and self._unknown_method_retry(whole[offset:]):
                return True
            self.refuse(400, "malformed HTTP request: the method is not an HTTP token; the connection is closed")
        except httptools.HttpParserUpgrade:
            # a request with Upgrade (no upgrade is offered): it was read whole and is answered; nothing after it
            self.close_after = True
            self._start_discarding()
        except httptools.HttpParserError as exc:
            what = str(exc).strip().rstrip(".") or "malformed request"
            if "Content-Length overflow" in what or "Chunk size overflow" in what:
                self.refuse(413, f"request too large: the body is over the limit of {self._limit} bytes (--max-body)")
            else:
                self.refuse(400, f"malformed HTTP request: {what}; the connection is closed")
        return False

    def _unknown_method_retry(self, data: bytes) -> bool:
        """llhttp knows a fixed list of methods; any other token is a method too (RFC 9110 §9.1), which the app
        answers 405. When the chunk starts with the request line, parse it again with a stand-in method."""
        match = METHOD_TOKEN.match(data)
        if match is None:
            return False
        self._method = match.group(1).decode("latin-1")
        self.parser = httptools.HttpRequestParser(self)
        self._parse(b"GET " + data[match.end() :])
        return True

    def _check_chunk(self, piece: bytes) -> None:
        """After a slice: when it ended inside a chunk whose size line it holds, refuse a size over the limit now
        (rather than after its bytes, or the body deadline)."""
        if not self._in_chunk or self._chunk_checked or self.current is None:
            return
        self._chunk_checked = True
        end = len(piece) - self._chunk_read
        if end < 0:
            return
        data = self._tail + piece[:end]
        declared = chunk_size_at(data, len(data))
        if declared is not None and self._body_size - self._chunk_read + declared > self._limit:
            self._over_limit(self.current, self._body_size - self._chunk_read + declared)

    def on_chunk_header(self) -> None:
        self._in_chunk = True
        self._chunk_read = 0
        self._chunk_checked = False

    def on_chunk_complete(self) -> None:
        self._in_chunk = False

    # -- what was read: queued for the app ------------------------------------------------------------------------
    def _enqueue(self, req: Request) -> None:
        req.size = self._head_size + len(req.body)
        self.queued_bytes += req.size
        self.queue.append(req)
        if self._queue_full():
            self._update_reading()

    def _hand_over_unread(self, req: Request) -> None:
        """(parser callback) The app answers ``req`` by its head (413); its body is never read."""
        self._queue_unread(req)
        raise Handed()

    def _queue_unread(self, req: Request) -> None:
        req.stream = TooLarge(self._limit)
        req.unfinished = True
        self.current = None
        self.receiving = False
        self._enqueue(req)
        if self.busy is None:
            self._pump()

    def _over_limit(self, req: Request, size: int) -> None:
        """``req``'s body is over the limit (read so far, or declared by a chunk): the app refuses it, unread."""
        if isinstance(req.stream, BodyStream):
            req.unfinished = True
            req.stream.fail(TooLarge(self._limit).error())
        else:
            req.content_length = size  # chunked: the app's size check refuses it by this length
            req.chunked = False
            self._queue_unread(req)
        self._start_discarding()
