"""Client bytes that are not UTF-8 never turn into lone surrogates in captured mail, JSON or log lines."""

from __future__ import annotations

import logging
import socket

import pytest
import requests

from mockserver.runtime.server import MockServer


def _send(port: int, lines: list[bytes], body: bytes) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock, sock.makefile("rb") as replies:
        replies.readline()
        for line in lines:
            sock.sendall(line + b"\r\n")
            reply = replies.readline()
            while reply[3:4] == b"-":
                reply = replies.readline()
            assert reply[:1] in (b"2", b"3"), reply
        sock.sendall(body + b"\r\n.\r\n")
        assert replies.readline().startswith(b"250")
        sock.sendall(b"QUIT\r\n")
        replies.readline()


def _has_surrogate(text: str) -> bool:
    return any(0xD800 <= ord(ch) <= 0xDFFF for ch in text)


def test_undecodable_envelope_is_captured_printable(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with MockServer() as server:
        lines = [b"EHLO x", b"MAIL FROM:<\xff@example.org>", b"RCPT TO:<b\xfe@example.org>", b"DATA"]
        _send(server.sink.smtp_port, lines, b"Subject: \xff\r\n\r\nhi")
        (message,) = server.sink.wait_for(count=1, timeout=5)
        assert message.mail_from == "\\xff@example.org" and message.rcpt_tos == ["b\\xfe@example.org"]
        listing = requests.get(server.base_url + "/_mock/messages", timeout=10)
        assert "\\udc" not in listing.text and not _has_surrogate(listing.json()[0]["mailFrom"])
    assert not [r for r in caplog.records if _has_surrogate(r.getMessage())]
