"""The sink's listening sockets: binding them (with errors that name the option to change) and the readiness probe
that connects for real and reads the 220 greeting, so that "started" means "answers"."""

from __future__ import annotations

import socket
import ssl
import time
from typing import Any

from ..errors import ServerError, bind_advice

__all__ = ["bind_listener", "probe_listener"]


def bind_listener(host: str, port: int, listener: str) -> socket.socket:
    """A listening, non-blocking socket for ``listener`` on ``host:port``; a clear error naming the option."""
    hint = "--smtp-port" if listener == "smtp" else "--smtps-port"
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except OSError as exc:
        raise ServerError(f"SMTP sink: cannot resolve listen address {host!r}: {exc}") from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        advice = bind_advice(exc, host, port, host_option="--smtp-host", port_option=hint)
        raise ServerError(
            f"SMTP sink: cannot listen on {host}:{port} for {listener}: {exc.strerror}; {advice}"
        ) from None
    return sock


def probe_listener(
    listener: str, family: socket.AddressFamily, address: Any, deadline: float, probe_peers: set[tuple[Any, ...]]
) -> None:
    """Connect for real and read the 220 greeting: proof that ``listener`` answers."""
    host, port = address[0], address[1]
    if host in ("0.0.0.0", "::"):  # bound to every address: knock on loopback  # nosec B104
        host = "127.0.0.1" if family == socket.AF_INET else "::1"
    with socket.socket(family, socket.SOCK_STREAM) as raw:
        raw.settimeout(max(deadline - time.monotonic(), 0.01))
        raw.bind((host, 0))
        me = tuple(raw.getsockname()[:2])
        probe_peers.add(me)  # the sink skips fault decisions for its own probe
        try:
            raw.connect((host, port))
            if listener == "smtps":
                context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
                with context.wrap_socket(raw) as tls:
                    greeting = _read_line(tls)
            else:
                greeting = _read_line(raw)
        except OSError as exc:
            raise ServerError(f"SMTP sink: the {listener} listener on {host}:{port} did not answer: {exc}") from exc
        finally:
            probe_peers.discard(me)
    if not greeting.startswith(b"220"):
        raise ServerError(f"SMTP sink: the {listener} listener greeted with {greeting!r}, expected 220")


def _read_line(sock: socket.socket) -> bytes:
    data = b""
    while b"\n" not in data and len(data) < 4096:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data.split(b"\n", 1)[0].rstrip(b"\r")
