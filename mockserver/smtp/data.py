"""DATA for the sink's protocol: aiosmtpd's ``smtp_DATA`` with the message kept in one buffer.

aiosmtpd keeps each line of a DATA as its own ``bytearray`` in a list until the final dot: about 70 bytes of objects
per line, so 10 MB of empty lines took ~210 MB for one connection (21x the limit it enforces). Here the lines go
into one ``bytearray`` as they arrive, so a DATA in progress holds at most ``--max-message-size`` bytes (and no copy
of them: the store copies only the start it keeps), whatever its lines look like. Replies, limits and states are
aiosmtpd's: a line over 1001 octets is ``500 Line too long`` and more than ``data_size_limit`` is ``552``, both
after the final dot; lines starting with a dot are un-stuffed (RFC 5321 4.5.2).
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiosmtpd.smtp import MISSING

__all__ = ["read_data", "receive_data"]

DOT = b".\r\n"


async def read_data(reader: asyncio.StreamReader, limit: int | None, line_limit: int) -> tuple[str, bytearray]:
    """Read a DATA up to the lone dot: ``("ok", content)``, or ``("too_long" | "too_much", empty)``.

    ``content`` is the buffer itself, not a copy (the sink's store copies only what it keeps)."""
    buffer = bytearray()
    size = 0
    state = "ok"
    inside_long_line = False  # the reader's limit split a line: its rest is not a line of its own
    while True:
        try:
            line = await reader.readuntil(b"\r\n")
        except asyncio.LimitOverrunError as exc:
            state = "too_long" if state == "ok" else state
            buffer = bytearray()
            size += len(await reader.read(exc.consumed))
            inside_long_line = True
            continue
        if inside_long_line:
            inside_long_line = False
            size += len(line)
            continue
        if line == DOT:
            break
        size += len(line)
        if state == "ok" and limit and size > limit:
            state, buffer = "too_much", bytearray()
        if state != "ok":
            continue
        if len(line) > line_limit:
            state, buffer = "too_long", bytearray()
            continue
        buffer += memoryview(line)[1:] if line.startswith(b".") else line
    return state, buffer if state == "ok" else bytearray()


async def receive_data(server: Any, arg: str | None) -> None:
    """The ``DATA`` command of aiosmtpd's ``SMTP`` (``server``), reading the message with :func:`read_data`."""
    if await server.check_helo_needed():
        return
    if await server.check_auth_needed("DATA"):
        return
    if not server.envelope.rcpt_tos:
        await server.push("503 Error: need RCPT command")
        return
    if arg:
        await server.push("501 Syntax: DATA")
        return
    await server.push("354 End data with <CR><LF>.<CR><LF>")
    state, content = await read_data(server._reader, server.data_size_limit, server.line_length_limit)
    if state != "ok":
        too_long = state == "too_long"
        await server.push("500 Line too long (see RFC5321 4.5.3.1.6)" if too_long else "552 Error: Too much mail data")
        server._set_post_data_state()
        return
    server.envelope.content = server.envelope.original_content = content
    status = await server._call_handler_hook("DATA")
    server._set_post_data_state()
    await server.push("250 OK" if status is MISSING else status)
