"""The listening socket of the HTTP front end: accepts on the event loop, hands each connection to asyncio.

Not ``loop.create_server``: on Python 3.11, ``asyncio.Server.close()`` fails the accepts still being set up with an
``AssertionError`` (``Server._attach``) and leaves their sockets to the garbage collector, so a stop with clients
connecting leaked sockets. Here the accept is ``loop.add_reader`` + ``sock.accept()``, and each connection is set
up by ``loop.connect_accepted_socket`` (public APIs both), which needs no open server: a connection accepted just
before :meth:`Listener.close` is set up like any other (and refused by the protocol, as the server is stopping).

Out of descriptors (``EMFILE``), accepting does not pause (clients would time out in the backlog): the listener
keeps one spare descriptor, and spends it to accept the waiting connection, answer it ``refusal`` (a 503 with
``Retry-After``) and close it, then takes the spare back. Only when even that fails does it pause a moment.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import socket
from collections.abc import Callable

__all__ = ["Listener"]

log = logging.getLogger("cxmock.server")

#: connections accepted per readiness event of the listening socket, at most
ACCEPT_BATCH = 128
#: connections accepted and not set up yet, at most (each holds a descriptor): beyond, the rest wait a loop turn
MAX_PENDING = 16
#: out of file descriptors (or buffers): accepting pauses this long, as asyncio's own server does
PAUSE_SECONDS = 1.0
_RESOURCE_ERRORS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})


class Listener:
    """Accept connections on ``sock`` (bound, listening, non-blocking) with protocols from ``factory``."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        sock: socket.socket,
        factory: Callable[[], asyncio.Protocol],
        refusal: bytes = b"",
    ) -> None:
        self._loop = loop
        self._sock = sock
        self._factory = factory
        self._fd = sock.fileno()
        self._closed = False
        self._refusal = refusal
        self._spare = _open_spare()
        self._warned = False
        #: connections being set up (a stop waits for them: they must not be left half made)
        self.pending: set[asyncio.Task[None]] = set()
        loop.add_reader(self._fd, self._accept)

    def _accept(self) -> None:
        for _ in range(ACCEPT_BATCH):
            if len(self.pending) >= MAX_PENDING:
                return
            try:
                conn, _ = self._sock.accept()
            except (BlockingIOError, InterruptedError, ConnectionAbortedError):
                return
            except OSError as exc:
                if exc.errno not in _RESOURCE_ERRORS:  # that connection's problem (accept(2): EPROTO, ENETDOWN...)
                    log.debug("HTTP: accept failed: %r", exc)
                    continue
                if exc.errno == errno.EMFILE:
                    refused = self._refuse_with_spare()
                    if refused is None:  # nobody else waits
                        return
                    if refused:
                        continue
                log.warning("HTTP: cannot accept a connection (%s); accepting again in %g s", exc, PAUSE_SECONDS)
                self._loop.remove_reader(self._fd)
                self._loop.call_later(PAUSE_SECONDS, self._resume)
                return
            self._warned = False
            conn.setblocking(False)
            task = self._loop.create_task(self._connect(conn))
            self.pending.add(task)
            task.add_done_callback(self.pending.discard)

    def _refuse_with_spare(self) -> bool | None:
        """Out of descriptors: free the spare, accept one waiting connection, answer it the refusal, close it.
        True: done; None: no connection was waiting; False: not possible (no spare)."""
        if self._spare < 0:
            self._spare = _open_spare()
            return False
        os.close(self._spare)
        self._spare = -1
        try:
            conn, _ = self._sock.accept()
        except (BlockingIOError, InterruptedError, ConnectionAbortedError):
            self._spare = _open_spare()
            return None
        except OSError:
            self._spare = _open_spare()
            return False
        if not self._warned:
            self._warned = True
            log.warning("HTTP: out of file descriptors (EMFILE); answering new connections 503 until some close")
        try:
            conn.setblocking(False)
            conn.send(self._refusal)
            conn.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        conn.close()
        self._spare = _open_spare()
        return self._spare >= 0

    async def _connect(self, conn: socket.socket) -> None:
        try:
            await self._loop.connect_accepted_socket(self._factory, conn)
        except Exception as exc:  # noqa: BLE001 - the client's problem (it went away meanwhile): close, go on
            log.debug("HTTP: a connection could not be set up: %r", exc)
            conn.close()

    def _resume(self) -> None:
        if not self._closed:
            self._loop.add_reader(self._fd, self._accept)

    def close(self) -> None:
        """Stop accepting and close the listening socket (connections being set up still are)."""
        if self._closed:
            return
        self._closed = True
        self._loop.remove_reader(self._fd)
        self._sock.close()
        if self._spare >= 0:
            os.close(self._spare)
            self._spare = -1


def _open_spare() -> int:
    try:
        return os.open(os.devnull, os.O_RDONLY)
    except OSError:
        return -1
