"""What keeps one SMTP client from hurting the sink or its other clients: deadlines, a connection limit, and the
rule that a connection's error is that connection's problem.

- :class:`SinkLimits`: a whole command line must arrive within ``command_timeout`` seconds of the previous reply, a
  whole DATA (354 to the final dot) within ``data_timeout``; past either the sink answers ``421 4.4.2`` and closes
  (the deadline is not moved by each byte: a trickling client gets no more time than an idle one). At most
  ``max_connections`` connections are open at once; the next one is answered ``421 4.7.0 too many connections``
  and closed.
- Line lengths are aiosmtpd's: a command line over 512 octets (more for ``MAIL`` with ESMTP parameters) gets ``500
  Command line too long``, a DATA line over 1001 octets ``500 Line too long`` after the final dot; neither is ever
  buffered whole (aiosmtpd drains what exceeds its 1001-octet reader limit).
- :func:`is_connection_error`: which errors the loop reports are one connection's doing (a client cannot make the
  sink thread fail); :func:`refuse_plain` sends the ``421`` of an over-limit connection without any protocol.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
from dataclasses import dataclass
from typing import Any

__all__ = [
    "TOO_MANY_CONNECTIONS",
    "SinkLimits",
    "contain_connection_error",
    "is_connection_error",
    "refuse_plain",
]

log = logging.getLogger("cxmock.smtp")

TOO_MANY_CONNECTIONS = b"421 4.7.0 too many connections; try again later (cxmock --smtp-max-connections)\r\n"
#: over-limit connections on the TLS listener that may still finish a handshake to read the 421 (beyond: closed)
TLS_REFUSALS = 16


@dataclass(frozen=True)
class SinkLimits:
    """The sink's per-connection bounds (``--smtp-max-connections``, ``--smtp-command-timeout``,
    ``--smtp-data-timeout``)."""

    max_connections: int = 100
    command_timeout: float = 60.0
    data_timeout: float = 120.0

    def __post_init__(self) -> None:
        if self.max_connections < 1:
            raise ValueError(f"max_connections must be at least 1, got {self.max_connections}")
        if self.command_timeout <= 0 or self.data_timeout <= 0:
            raise ValueError("command_timeout and data_timeout must be positive")


def is_connection_error(context: dict[str, Any]) -> bool:
    """Whether an error the event loop reports (``loop.call_exception_handler``'s context) belongs to one
    connection: raised by a transport or protocol (asyncio's own TLS code included: Python 3.11's sslproto raises
    ``TypeError`` from ``_force_close`` when a TLS layer stacked on another fails), or a network/TLS error."""
    error = context.get("exception")
    if isinstance(error, (ConnectionError, ssl.SSLError, TimeoutError)):
        return True
    return context.get("transport") is not None or context.get("protocol") is not None


def contain_connection_error(context: dict[str, Any]) -> bool:
    """For the loop's exception handler: when the error belongs to one connection (:func:`is_connection_error`),
    log it, abort that connection and return True; else return False (the caller records it as a sink failure)."""
    if not is_connection_error(context):
        return False
    error = context.get("exception")
    quiet = isinstance(error, (ConnectionError, ssl.SSLError, TimeoutError))
    log.log(
        logging.DEBUG if quiet else logging.WARNING,
        "SMTP sink: closing a connection after %s: %r",
        context.get("message"),
        error,
    )
    _close(context)
    return True


def _close(context: dict[str, Any]) -> None:
    for key in ("transport", "protocol"):
        thing = context.get(key)
        abort = getattr(thing, "abort", None)
        if callable(abort):
            try:
                abort()
            except Exception as exc:  # noqa: BLE001 - closing a broken connection: nothing more to do
                log.debug("SMTP sink: aborting a failed connection: %r", exc)
            return


def refuse_plain(conn: socket.socket) -> None:
    """Answer an over-limit connection on the plain listener with the 421 and close it (never blocks)."""
    try:
        conn.send(TOO_MANY_CONNECTIONS)
        conn.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    conn.close()


class RefuseProtocol(asyncio.Protocol):
    """The protocol of an over-limit connection on the TLS listener: once the handshake is done, the 421, then
    close."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.WriteTransport)
        transport.write(TOO_MANY_CONNECTIONS)
        transport.close()
