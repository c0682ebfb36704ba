"""One HTTP/1.1 connection on the event loop: reads and frames requests (``httptools``, i.e. llhttp, strict
RFC 9112), enforces the deadlines and limits, hands each COMPLETE request to a worker thread, writes the answers
in order (keep-alive, pipelining), and carries out the socket-level faults.

Deadlines are for a whole request head and a whole body, not per byte: a client trickling one byte a second gets
408 when its head deadline passes. An idle keep-alive connection costs no thread, only its buffers; it is closed
after ``idle_timeout``. The answers written here (never by the app) are in the vendor error shape and close the
connection, since the rest of the stream cannot be trusted; a closing connection first half-closes and discards
what the client still sends for a moment (a "lingering close"), so the client reads the answer rather than a RST.

Bounds per connection (what one client can make the server hold): answers not yet sent, :data:`OUTPUT_HIGH`
(then the connection takes no further request, reads nothing, until they drain below :data:`OUTPUT_LOW`; the idle
timeout counts meanwhile, and aborts it) plus the one answer being written; complete requests queued behind the
one in flight, :data:`MAX_PIPELINED` requests and :data:`MAX_QUEUED_BYTES` (then what arrived is kept unparsed, at
most one read, and reading stops); a body, the server's body limit (``--max-body``), refused by its declared
length or chunk size before its bytes are read.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
from typing import Any

from werkzeug.exceptions import BadRequest

from .framing import Refuse, check_head, header
from .hub import Hub, Limits
from .reading import Handed, Reading
from .wsgi import BodyStream, Outcome, Request, head_so_far

__all__ = ["Connection", "Hub", "Limits"]

log = logging.getLogger("cxmock.server")

#: a closing connection discards at most this much (``reading.LINGER_BYTES``), for at most this long
LINGER_SECONDS = 2.0
#: unsent answers: over OUTPUT_HIGH the connection takes no new request until they drain below OUTPUT_LOW
OUTPUT_HIGH = 256 * 1024
OUTPUT_LOW = 64 * 1024
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


class Connection(Reading):
    def __init__(self, hub: Hub) -> None:
        super().__init__()
        self.hub = hub
        self.limits = hub.limits
        self.base: dict[str, Any] = hub.base
        self.refusal: bytes | None = None  # an answer of our own, written once the request in flight is answered
        self.close_after = False
        self.eof = False
        self.timer: asyncio.TimerHandle | None = None
        self.out_timer: asyncio.TimerHandle | None = None  # unsent answers: the idle deadline, while they wait
        self._url: list[bytes] = []
        self._headers: list[tuple[bytes, bytes]] = []
        self._body: list[bytes] = []
        self._limit = hub.limits.max_body
        self.address = ""

    # -- transport events ----------------------------------------------------------------------------------------
    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        hub = self.hub
        peer = transport.get_extra_info("peername") or ("", 0)
        self.address = str(peer[0])
        why = hub.admit(self, self.address)
        if why is not None:
            transport.write(hub.error_bytes(503, f"connection refused: {why}; retry in a moment", ("Retry-After: 1",)))
            transport.close()
            self.closed = True
            return
        transport.set_write_buffer_limits(high=OUTPUT_HIGH, low=OUTPUT_LOW)
        self.base = {**hub.base, "REMOTE_ADDR": self.address, "REMOTE_PORT": str(peer[1])}
        self._arm(self.limits.idle_timeout)
        hub.idle[self] = None

    def evictable(self) -> bool:
        """Idle: nothing being received, handled, queued or unsent (an idle keep-alive connection may be closed)."""
        return (
            not self.closed
            and not self.receiving
            and self.busy is None
            and not self.queue
            and not self._held
            and self.transport.get_write_buffer_size() == 0
        )

    def evict(self) -> None:
        """(hub) Close this idle connection to make room for a newcomer."""
        log.debug("HTTP: closing an idle connection from %s to make room for a new one", self.address)
        self._close()

    def pause_writing(self) -> None:
        self.output_blocked = True
        self._update_reading()
        self._arm_output()

    def resume_writing(self) -> None:
        self.output_blocked = False
        self._disarm_output()  # the client reads: its deadline starts again
        if self.closed:
            if self.transport is not None and self.transport.get_write_buffer_size():
                self._arm_output()  # closing with the rest of its last answer unsent
            return
        self._pump()
        self._resume_input()

    def eof_received(self) -> bool:
        self.eof = True
        if self.receiving and not self.discarding:
            self.refuse(400, "malformed HTTP request: the connection ended in the middle of a request")
            return True
        if self.busy is not None or self.queue or self._held:
            return True  # half-closed: the answers still go out, then the connection closes
        self._close()
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._disarm()
        self._disarm_output()
        for req in (self.busy, self.current, *self.queue):
            if req is not None:
                req.gone.set()
                if isinstance(req.stream, BodyStream):
                    req.stream.fail(BadRequest("the client closed the connection before sending the whole body"))
        self.queue.clear()
        self._held = b""
        hub = self.hub
        hub.release(self)
        if hub.closing and not hub.connections:
            hub.all_closed.set()

    # -- parser callbacks ----------------------------------------------------------------------------------------
    def on_message_begin(self) -> None:
        self._begun += 1
        self.receiving = True
        self._in_chunk = False
        self.hub.idle.pop(self, None)
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
        if len(self._headers) >= self.limits.max_headers:
            raise Refuse(431, f"request too large: more than {self.limits.max_headers} header fields")
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
        self._limit = limit = self.hub.body_limit()
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
        self._chunk_read += len(data)
        if self._body_size > self._limit:
            self._over_limit(req, self._body_size)
            raise Handed()
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
            self._enqueue(req)
        if self.busy is None:
            self._pump()

    # -- requests to the app and back ------------------------------------------------------------------------------
    def _pump(self) -> None:
        """Hand the next complete request to a worker, or wait for one (idle deadline), or close."""
        if self.busy is not None or self.closed:
            return
        if self.output_blocked:  # no new answer while the client does not read the ones it has
            return
        if self.queue and not self.hub.closing:
            req = self.queue.popleft()
            self.queued_bytes -= req.size
            self._dispatch(req)
            self._update_reading()
            return
        if self._held and not self.hub.closing:
            self._resume_input()
            if self.busy is not None or self.closed:
                return
        if self.refusal is not None:
            self._write_and_close(self.refusal)
        elif self.close_after or self.eof or self.hub.closing:
            self._close()
        elif not self.receiving:
            self._arm(self.limits.idle_timeout)
            self.hub.idle.pop(self, None)
            self.hub.idle[self] = None

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
        self._held = b""
        self._update_reading()

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

    def _disarm_output(self) -> None:
        if self.out_timer is not None:
            self.out_timer.cancel()
            self.out_timer = None

    def _arm_output(self) -> None:
        loop = self.hub.loop
        if self.out_timer is None and loop is not None:
            self.out_timer = loop.call_later(self.limits.idle_timeout, self._output_expired)

    def _output_expired(self) -> None:
        """The client read none of its answers within the idle timeout: they are dropped with the connection."""
        self.out_timer = None
        seconds = self.limits.idle_timeout
        log.debug("HTTP: %s read no answer within %g s (http_idle_timeout); resetting", self.address, seconds)
        self._reset()  # a RST: a FIN would wait in the kernel behind the unread bytes

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
        self.queued_bytes = 0
        self._held = b""
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
        if transport.get_write_buffer_size():  # answers the client does not read: dropped at the idle deadline
            self._arm_output()

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
        self._disarm_output()
        if self.transport is not None:
            self.transport.abort()
