"""The SMTP sink's activity log (logger ``cxmock.smtp``): what a person debugging a CI job from the server log alone
needs to see. Each line names the session as ``<listener> <peer>`` (``smtp 127.0.0.1:50312``): connected, ended,
every refused command or greeting with its reply, each captured mail. AUTH results are logged by ``auth.py`` (the
user name only, never a password). The sink's own readiness probe is not logged.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from ..core.logtext import loggable
from .routing import log_context

__all__ = ["captured", "format_peer", "refused", "session_started", "who"]

log = logging.getLogger("cxmock.smtp")

# each line names the session's sandbox and the testconnection request that opened it (``log_context``)


def format_peer(peer: Any) -> str:
    """``127.0.0.1:50312`` or ``[::1]:50312``."""
    if isinstance(peer, tuple) and len(peer) >= 2:
        host, port = peer[0], peer[1]
        return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"
    return str(peer)


def who(protocol: Any) -> str:
    """``smtp 127.0.0.1:50312``: the listener and the peer of a sink protocol (an aiosmtpd ``SMTP``)."""
    session = getattr(protocol, "session", None)
    return f"{getattr(protocol, 'listener', '?')} {format_peer(session.peer if session else None)}"


def session_started(protocol: Any, probe: bool) -> None:
    """Log the session's start, and its end when the task running it finishes."""
    task = getattr(protocol, "_handler_coroutine", None)
    if probe or task is None:
        return
    extra = log_context(protocol)
    log.info("SMTP session %s: connected", who(protocol), extra=extra)
    task.add_done_callback(lambda _: log.info("SMTP session %s: ended", who(protocol), extra=extra))


def refused(protocol: Any, status: str | bytes, probe: bool) -> None:
    """Log a 4xx/5xx reply (a refused command or greeting), whatever refused it."""
    line = status.decode("utf-8", "replace") if isinstance(status, bytes) else str(status)
    if line[:1] in ("4", "5") and not probe:
        shown = line.strip().encode("ascii", "backslashreplace").decode("ascii")[:200]
        log.info("SMTP session %s: refused: %s", who(protocol), shown, extra=log_context(protocol))


def captured(protocol: Any, message: Any, tls: Mapping[str, str] | None, user: str | None) -> None:
    """Log a captured mail: id, envelope, TLS version and AUTH user."""
    how = f"{tls['version'] if tls else 'no TLS'}, {f'AUTH as {user}' if user else 'no AUTH'}"
    sent = f"from {message.mail_from or '<>'} to {', '.join(message.rcpt_tos)} ({how})"
    log.info(
        "SMTP session %s: captured mail #%s %s", who(protocol), message.id, loggable(sent), extra=log_context(protocol)
    )
