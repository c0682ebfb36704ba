"""What keeps one SMTP client from hurting the sink or its other clients: deadlines, a connection limit, and the
rule that a connection's error is that connection's problem.

- :class:`SinkLimits`: a whole command line must arrive within ``command_timeout`` seconds of the previous reply, a
  whole DATA (354 to the final dot) within ``data_timeout``; past either the sink answers ``421 4.4.2`` and closes
  (the deadline is not moved by each byte: a trickling client gets no more time than an idle one).
- :class:`SinkBudget`: at most ``max_connections`` connections from clients are open at once (and no more than the
  descriptor limit allows, :func:`sink_cap`), at most half of them from one remote client address (loopback
  clients, this machine's own processes, share the cap); the next one is
  answered ``421 4.7.0 too many connections`` and closed. Near the cap (:data:`PRESSURE`), connections waiting
  for a command are closed after :data:`PRESSURE_IDLE` seconds instead of ``command_timeout`` (``421 4.4.2``).
  The server's own sessions (testconnection, the readiness probe) have a reserve of their own
  (:data:`OWN_RESERVE`): idle clients never make a testconnection fail.
- Line lengths are aiosmtpd's: a command line over 512 octets (more for ``MAIL`` with ESMTP parameters) gets ``500
  Command line too long``, a DATA line over 1001 octets ``500 Line too long`` after the final dot; neither is ever
  buffered whole (aiosmtpd drains what exceeds its 1001-octet reader limit).
- :func:`is_connection_error`: which errors the loop reports are one connection's doing (a client cannot make the
  sink thread fail); :func:`refuse_plain` sends the ``421`` of an over-limit connection without any protocol.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import resource
import socket
import ssl
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "OWN_RESERVE",
    "PRESSURE_IDLE",
    "TOO_MANY_CONNECTIONS",
    "SinkBudget",
    "close_idle",
    "SinkLimits",
    "contain_connection_error",
    "is_connection_error",
    "refuse_plain",
]

log = logging.getLogger("cxmock.smtp")

TOO_MANY_CONNECTIONS = b"421 4.7.0 too many connections; try again later (cxmock --smtp-max-connections)\r\n"
#: over-limit connections on the TLS listener that may still finish a handshake to read the 421 (beyond: closed)
TLS_REFUSALS = 16
#: connections of the server's own (testconnection sessions, the readiness probe) beyond the clients' cap
OWN_RESERVE = 64
#: the share of the cap from which idle connections are closed sooner
PRESSURE = 0.75
#: seconds a connection may wait for its next command while the sink is near its cap
PRESSURE_IDLE = 5.0


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


def sink_cap(configured: int) -> int:
    """``configured``, but at most a quarter of the descriptor limit (``RLIMIT_NOFILE``; the rest is HTTP's)."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft <= 0:
        return configured
    return max(1, min(configured, soft // 4))


class SinkBudget:
    """Which connections the sink takes (loop thread only): the clients' cap and per-address share, and the
    reserve of the server's own sessions."""

    def __init__(self, limits: SinkLimits, connections: Iterable[Any] = ()) -> None:
        self._connections = connections  # the open sessions (SinkSMTP: idle_seconds(), close_idle())
        self.cap = sink_cap(limits.max_connections)
        self.share = max(1, self.cap // 2)
        self._clients: dict[socket.socket, str] = {}  # open client connection -> its address
        #: ``is_own(peer)``: whether ``peer`` is a testconnection session of this server (``SmtpPath.is_own``)
        self.is_own: Callable[[Any], bool] | None = None
        self._own: set[socket.socket] = set()

    def admit(self, conn: socket.socket, peer: Any, probe: bool = False) -> str | None:
        """Count ``conn`` from ``peer`` in (None), or say why not (a sentence for the 421). ``probe``: the sink's
        own readiness probe (it has the reserve, as testconnection has)."""
        self._prune()
        own = probe or (self.is_own is not None and self.is_own(peer))
        address = str(peer[0]) if isinstance(peer, tuple) else str(peer)
        if own and len(self._own) < OWN_RESERVE:
            self._own.add(conn)
            return None
        if len(self._clients) >= self.cap:
            return f"{len(self._clients)} connections are open, the limit"
        if len(self._clients) >= self.share and not _is_loopback(address):
            held = sum(1 for peer in self._clients.values() if peer == address)
            if held >= self.share:
                return f"{held} connections from {address} are open, the most one client address may hold"
        self._clients[conn] = address
        if self.pressed:
            self._close_idle()
        return None

    def _close_idle(self) -> None:
        """Near the cap: close the clients' connections that have waited for a command too long."""
        for session in list(self._connections):
            idle = getattr(session, "idle_seconds", None)
            if idle is not None and idle() >= PRESSURE_IDLE:
                session.close_idle()

    @property
    def pressed(self) -> bool:
        """Near the cap: idle connections are closed sooner."""
        return len(self._clients) >= max(1, int(self.cap * PRESSURE))

    def _prune(self) -> None:
        if len(self._clients) >= min(64, self.share):
            self._clients = {sock: peer for sock, peer in self._clients.items() if sock.fileno() != -1}
        self._own = {sock for sock in self._own if sock.fileno() != -1}


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def close_idle(transport: asyncio.WriteTransport, idle: float, listener: str) -> None:
    """Close a connection idle for ``idle`` s while the sink is near its cap, with a 421 saying why."""
    log.info("SMTP sink (%s): closing a connection idle for %.0f s (near the connection limit)", listener, idle)
    transport.write(
        f"421 4.4.2 cxmock: idle for {idle:.0f} s while the sink is near its connection limit "
        "(--smtp-max-connections); closing\r\n".encode()
    )
    transport.close()


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
