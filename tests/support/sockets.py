"""Raw sockets, for tests of framing and connection handling."""

from __future__ import annotations

import socket
import time

TIMEOUT = 10.0


def read_until(sock: socket.socket, until: bytes | None = None, timeout: float = TIMEOUT) -> bytes:
    """What the server sends until it closes (or until ``until`` appears), bounded by ``timeout``."""
    data = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, TimeoutError):
            break
        if not chunk:
            break
        data += chunk
        if until is not None and until in data:
            break
    return data
