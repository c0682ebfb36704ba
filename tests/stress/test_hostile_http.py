"""Hostile HTTP input: the corpus in ``tests/corpus/hostile_http.yaml``, sent over raw sockets, all refused.

Every case is answered with a 4xx in the vendor error shape ``{"message": str}`` (or the
OAuth2 error body on the token endpoint) where the request reaches the app; bytes that are not valid HTTP get a 4xx
in that same shape from the HTTP server itself, or a closed connection. Never a 5xx, never a hang, never a traceback
in the log, and the server answers a normal request after each case. Idle and slow clients do not block others.

The corpus format is documented at the top of the YAML file; :func:`expand` turns it into :class:`Case` objects.
"""

from __future__ import annotations

import json
import logging
import os
import random
import selectors
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from mockserver.config import DEFAULT_CLIENT_SECRET
from mockserver.core.contract import JSON_V1
from mockserver.runtime.server import MockServer

CORPUS = Path(__file__).resolve().parent.parent / "corpus" / "hostile_http.yaml"
API = "/cxrestapi/auth"
ADMIN_TOKEN = "hostile-corpus-admin-token"
#: bodies up to this size reach the JSON parser (so 1 MB strings are parsed, not just refused by size)
MAX_BODY = 2 * 1024 * 1024
#: bound on one exchange (connect, send, read the answer)
CASE_TIMEOUT = 20.0
JOURNAL_LIMIT = 16

VALID_SETTINGS: dict[str, Any] = {
    "host": "smtp.example.org",
    "port": 587,
    "encryptionType": "Tls",
    "fromAddress": "noreply@example.org",
    "useDefaultCredentials": False,
    "username": "mailer",
    "password": "corpus-password",
}
VALID_TC: dict[str, Any] = {**VALID_SETTINGS, "recieverEmail": "admin@example.org"}
BODY_ENDPOINTS = {
    "create": ("POST", "/SMTPSettings"),
    "update": ("PUT", "/SMTPSettings/$ID"),
    "testconnection": ("POST", "/SMTPSettings/testconnection"),
}


# -- the corpus ------------------------------------------------------------------------------------------------


@dataclass
class Case:
    name: str
    expect: str  # api | oauth | wire
    status: int | None = None
    method: str = "GET"
    path: str = "/"
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    raw: bytes | None = None  # raw cases: the bytes on the wire (placeholders resolved at run time)
    close_write: bool = True
    ok_first: bool = False
    single_response: bool = False


def _text_bytes(entry: dict[str, Any]) -> bytes | None:
    if "body" in entry:
        return str(entry["body"]).encode("utf-8", "surrogatepass")
    if "body_latin1" in entry:
        return str(entry["body_latin1"]).encode("latin-1")
    if "body_parts" in entry:
        return b"".join(str(piece).encode("utf-8") * int(times) for piece, times in entry["body_parts"])
    if "form" in entry:
        return str(entry["form"]).encode("utf-8")
    if "form_latin1" in entry:
        return str(entry["form_latin1"]).encode("latin-1")
    if "many_form_fields" in entry:
        return "&".join(f"f{i}=v{i}" for i in range(int(entry["many_form_fields"]))).encode()
    return None


def _members(pairs: list[tuple[str, str]]) -> bytes:
    """A JSON object from ``(name, raw JSON value)`` pairs, in order, duplicates kept."""
    return ("{" + ", ".join(f"{json.dumps(k)}: {v}" for k, v in pairs) + "}").encode("utf-8", "surrogatepass")


def body_for(entry: dict[str, Any]) -> bytes:
    """The body bytes of a ``bodies`` entry (see the YAML header)."""
    direct = _text_bytes(entry)
    if direct is not None:
        return direct
    base = dict(VALID_TC if entry.get("base") == "testconnection" else VALID_SETTINGS)
    for name in entry.get("drop", []):
        base.pop(name, None)
    base.update(entry.get("patch", {}))
    raw_values: dict[str, str] = {k: str(v) for k, v in entry.get("patch_raw", {}).items()}
    dup: dict[str, list[Any]] = entry.get("dup", {})
    pairs = [(k, json.dumps(v)) for k, v in base.items() if k not in raw_values and k not in dup]
    pairs += list(raw_values.items())
    for name, values in dup.items():
        pairs += [(name, json.dumps(v)) for v in values]
    if "big" in entry:
        big = entry["big"]
        if big["field"]:
            pairs = [(k, v) for k, v in pairs if k != big["field"]] + [(big["field"], json.dumps("a" * big["size"]))]
        else:  # an unknown member whose *name* is huge
            pairs.append(("a" * big["size"], "1"))
    for i in range(int(entry.get("many_members", 0))):
        pairs.append((f"member{i}", str(i)))
    return _members(pairs)


def expand(corpus: dict[str, Any]) -> list[Case]:
    cases: list[Case] = []
    for entry in corpus["bodies"]:
        for endpoint in entry.get("only", BODY_ENDPOINTS):
            method, path = BODY_ENDPOINTS[endpoint]
            cases.append(
                Case(
                    f"body/{entry['name']}/{endpoint}",
                    expect="api",
                    status=entry.get("status"),
                    method=method,
                    path=API + path,
                    headers=[("Content-Type", JSON_V1)],
                    body=body_for(entry),
                )
            )
    for entry in corpus["ids"]:
        for method in ("GET", "PUT", "DELETE"):
            body = json.dumps(VALID_SETTINGS).encode() if method == "PUT" else b""
            cases.append(
                Case(
                    f"id/{entry['id']}/{method}",
                    expect="api",
                    status=entry.get("status"),
                    method=method,
                    path=f"{API}/SMTPSettings/{entry['id']}",
                    headers=[("Content-Type", JSON_V1)] if body else [],
                    body=body,
                )
            )
    for entry in corpus["requests"]:
        cases.append(_request_case(entry))
    for entry in corpus["raw"]:
        if "random" in entry:
            data = random.Random(entry["name"]).randbytes(int(entry["random"]))
        elif "parts" in entry:
            data = b"".join(str(piece).encode("latin-1") * int(times) for piece, times in entry["parts"])
        else:
            data = str(entry["text"]).encode("latin-1")
        cases.append(
            Case(
                f"raw/{entry['name']}",
                expect="wire",
                raw=data,
                close_write=not entry.get("keep_open", False),
                ok_first=bool(entry.get("ok_first")),
                single_response=bool(entry.get("single_response")),
            )
        )
    return cases


def _request_case(entry: dict[str, Any]) -> Case:
    path = str(entry["path"])
    if not path.startswith("/_mock"):
        path = API + path
    headers: dict[str, str | None] = {}
    body = b""
    if "valid" in entry:
        body = json.dumps(VALID_TC if entry["valid"] == "testconnection" else VALID_SETTINGS).encode()
    direct = _text_bytes(entry)
    if direct is not None:
        body = direct
    if any(key in entry for key in ("form", "form_latin1", "many_form_fields")):
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        headers["Authorization"] = None
    elif body:
        headers["Content-Type"] = JSON_V1
    if entry.get("admin"):
        headers["X-Cxmock-Admin-Token"] = ADMIN_TOKEN
    if entry.get("auth") == "viewer":
        headers["Authorization"] = "Bearer $VIEWER"
    headers.update(entry.get("headers", {}))
    lines = [(k, v if v is not None else "\0REMOVED") for k, v in headers.items()]
    for i in range(int(entry.get("many_headers", 0))):
        lines.append((f"X-Header-{i}", f"value-{i}"))
    for line in entry.get("extra_lines", []):
        name, sep, value = str(line).partition(":")
        lines.append((name, value.lstrip()) if sep else (str(line), "\0NO-COLON"))
    case = Case(
        f"request/{entry['name']}",
        expect=entry.get("expect", "oauth" if "/identity/" in path and entry.get("status") is None else "api"),
        status=entry.get("status"),
        method=str(entry["method"]),
        path=path,
        headers=lines,
        body=body,
    )
    if entry.get("raw_length"):
        case.headers.append(("\0RAW-LENGTH", ""))
    return case


CASES = expand(yaml.safe_load(CORPUS.read_text(encoding="utf-8")))


def test_the_corpus_has_at_least_300_cases() -> None:
    assert len(CASES) >= 300, len(CASES)
    names = [case.name for case in CASES]
    assert len(set(names)) == len(names), "case names must be unique"


# -- raw HTTP over a socket ------------------------------------------------------------------------------------


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Exchange:
    responses: list[Response]
    closed: bool  # the server closed (or reset) the connection
    leftover: bytes  # bytes that did not parse as a complete response


def _substitute(text: str, values: dict[str, str]) -> str:
    for key, value in values.items():
        text = text.replace(key, value)
    while "$A" in text or "$M" in text:  # $A<n> / $M<n>: n repetitions of "A" / "M"
        for marker, letter in (("$A", "A"), ("$M", "M")):
            start = text.find(marker)
            if start < 0:
                continue
            end = start + 2
            while end < len(text) and text[end].isdigit():
                end += 1
            text = text[:start] + letter * int(text[start + 2 : end]) + text[end:]
    return text


def render(case: Case, values: dict[str, str]) -> bytes:
    """The bytes of a case on the wire."""
    if case.raw is not None:
        data = case.raw
        for key, value in values.items():
            data = data.replace(key.encode(), value.encode())
        return data
    raw_length = any(name == "\0RAW-LENGTH" for name, _ in case.headers)
    head = [f"{_substitute(case.method, values)} {_substitute(case.path, values)} HTTP/1.1"]
    given = {name.lower() for name, _ in case.headers}
    defaults = [("Host", "127.0.0.1"), ("Authorization", "Bearer $TOKEN"), ("Accept", JSON_V1)]
    lines = [(n, v) for n, v in defaults if n.lower() not in given] + list(case.headers)
    for name, value in lines:
        if name == "\0RAW-LENGTH" or value == "\0REMOVED":
            continue
        head.append(name if value == "\0NO-COLON" else f"{name}: {_substitute(value, values)}")
    if not raw_length and (case.body or case.method in ("POST", "PUT")):
        head.append(f"Content-Length: {len(case.body)}")
    head.append("Connection: close")
    body = case.body
    if b"$" in body and len(body) < 4096:
        for key, value in values.items():
            body = body.replace(key.encode(), value.encode())
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


def parse_responses(data: bytes) -> tuple[list[Response], bytes]:
    """Complete HTTP responses at the start of ``data`` (1xx included), and what is left over."""
    out: list[Response] = []
    while True:
        end = data.find(b"\r\n\r\n")
        if end < 0:
            return out, data
        lines = data[:end].decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
            return out, data
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        rest = data[end + 4 :]
        status = int(parts[1])
        if status < 200 or status in (204, 304):
            length = 0
        elif "content-length" in headers:
            length = int(headers["content-length"])
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            body, consumed = _dechunk(rest)
            if consumed < 0:
                return out, data
            out.append(Response(status, headers, body))
            data = rest[consumed:]
            continue
        else:
            length = len(rest)  # delimited by the close
        if len(rest) < length:
            return out, data
        out.append(Response(status, headers, rest[:length]))
        data = rest[length:]


def _dechunk(data: bytes) -> tuple[bytes, int]:
    body, pos = b"", 0
    while True:
        eol = data.find(b"\r\n", pos)
        if eol < 0:
            return b"", -1
        size = int(data[pos:eol].split(b";")[0], 16)
        if size == 0:
            end = data.find(b"\r\n", eol + 2)
            return (body, end + 2) if end >= 0 else (b"", -1)
        if len(data) < eol + 2 + size + 2:
            return b"", -1
        body += data[eol + 2 : eol + 2 + size]
        pos = eol + 2 + size + 2


def exchange(port: int, data: bytes, *, close_write: bool = True, timeout: float = CASE_TIMEOUT) -> Exchange:
    """Send ``data`` on a fresh connection while reading the answer (one thread, a selector, a deadline).

    Reading and writing interleave, so a server that answers early (413) and closes is seen answering; the
    exchange ends when the server closes the connection (every rendered request says ``Connection: close``)."""
    deadline = time.monotonic() + timeout
    received = bytearray()
    view = memoryview(data)
    closed = False
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock, selectors.DefaultSelector() as sel:
        sock.setblocking(False)
        sending = True
        if not view:
            sending = False
            if close_write:
                sock.shutdown(socket.SHUT_WR)
        sel.register(sock, selectors.EVENT_READ | (selectors.EVENT_WRITE if sending else 0))
        while time.monotonic() < deadline:
            for _key, mask in sel.select(timeout=max(0.0, deadline - time.monotonic())):
                if mask & selectors.EVENT_WRITE and sending:
                    try:
                        sent = sock.send(view[:65536])
                    except (BrokenPipeError, ConnectionResetError):
                        sent, view = 0, view[:0]
                    view = view[sent:]
                    if not view:
                        sending = False
                        try:
                            if close_write:
                                sock.shutdown(socket.SHUT_WR)
                        except OSError:
                            pass
                        sel.modify(sock, selectors.EVENT_READ)
                if mask & selectors.EVENT_READ:
                    try:
                        chunk = sock.recv(65536)
                    except ConnectionResetError:
                        chunk = b""
                    if not chunk:
                        closed = True
                        break
                    received += chunk
            if closed:
                break
        view.release()
    responses, leftover = parse_responses(bytes(received))
    return Exchange(responses, closed, leftover)


# -- the tests -------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hostile_server() -> Iterator[MockServer]:
    # a short journal: the huge parsed bodies of the corpus do not pile up (each case renders its own entry below)
    with MockServer(admin_token=ADMIN_TOKEN, max_body=MAX_BODY, journal_limit=JOURNAL_LIMIT) as server:
        yield server


@pytest.fixture(scope="module")
def values(hostile_server: MockServer) -> dict[str, str]:
    """Placeholders of the corpus: tokens, the client secret, an existing id."""
    server = hostile_server
    record = server.state.settings.list()[0]
    return {
        "$TOKEN": server.token(),
        "$VIEWER": server.token("viewer", "viewer"),
        "$SECRET": DEFAULT_CLIENT_SECRET,
        "$ADMIN": ADMIN_TOKEN,
        "$ID": str(record.id),
    }


@pytest.fixture(autouse=True)
def _server_side_closed() -> Iterator[None]:
    """Wait (bounded) until cheroot has closed its side of this test's connections: it does so a moment after the
    client sees EOF, and the leak check's fallback (a gc.collect() over this module's large heap) costs ~0.15 s."""
    fd_dir = "/proc/self/fd"
    before = len(os.listdir(fd_dir)) if os.path.isdir(fd_dir) else 0
    yield
    pause = threading.Event()  # never set: its wait() is the bounded pause between polls
    for _ in range(500):
        if not os.path.isdir(fd_dir) or len(os.listdir(fd_dir)) <= before:
            return
        pause.wait(0.002)


def assert_vendor_error(response: Response, case: Case) -> None:
    assert 400 <= response.status < 500, f"{case.name}: {response.status} {response.body[:300]!r}"
    if case.status is not None:
        assert response.status == case.status, f"{case.name}: {response.status} {response.body[:300]!r}"
    assert response.headers.get("content-type", "").startswith("application/json"), response.headers
    body = response.json()
    if case.expect == "oauth":
        assert isinstance(body.get("error"), str) and isinstance(body.get("error_description"), str), body
        return
    assert isinstance(body, dict), body
    # the API: the service's ErrorViewModel; the admin API adds per-field errors
    assert set(body) == {"message"} or (case.path.startswith("/_mock") and set(body) == {"message", "errors"}), body
    assert isinstance(body.get("message"), str) and body["message"], body
    assert "Traceback" not in body["message"]


def assert_still_serving(server: MockServer, values: dict[str, str]) -> None:
    """A normal request succeeds (over a raw socket the server closes first, so no descriptor lingers)."""
    normal = Case("normal", "api", method="GET", path=f"{API}/SMTPSettings/$ID")
    result = exchange(server.http_port, render(normal, values))
    assert [r.status for r in result.responses] == [200], result
    assert result.responses[0].json()["id"] == int(values["$ID"])


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_hostile_request_is_refused_without_a_5xx(
    hostile_server: MockServer, values: dict[str, str], case: Case, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    result = exchange(hostile_server.http_port, render(case, values), close_write=case.close_write)
    final = [r for r in result.responses if r.status >= 200]
    for response in result.responses:
        assert response.status < 500, f"{case.name}: {response.status} {response.body[:300]!r}"
    if case.expect == "wire":
        # a 4xx in the vendor error shape (from the app or the HTTP server itself), or a closed connection
        assert final or result.closed, f"{case.name}: neither an answer nor a close: {result.leftover[:200]!r}"
        assert not result.leftover.startswith(b"HTTP/1.1 5"), result.leftover[:200]
        if case.ok_first:
            assert final and final[0].status == 200, final
            final = final[1:]
        if case.single_response:
            assert len(final) == 1, f"{case.name}: the smuggled request was answered: {[r.status for r in final]}"
        for response in final:
            assert_vendor_error(response, Case(case.name, "api"))
    else:
        assert final, f"{case.name}: no response (closed={result.closed}, got {result.leftover[:200]!r})"
        assert_vendor_error(final[0], case)
    problems = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not problems, f"{case.name}: logged {[r.getMessage() for r in problems]}"
    hostile_server.check()
    assert_still_serving(hostile_server, values)
    assert_journal_renders(hostile_server, values)


def assert_journal_renders(server: MockServer, values: dict[str, str]) -> None:
    """The admin API still renders the newest journal entries (the hostile request's among them) as JSON."""
    request = Case(
        "journal", "api", method="GET", path="/_mock/requests?limit=4", headers=[("X-Cxmock-Admin-Token", ADMIN_TOKEN)]
    )
    result = exchange(server.http_port, render(request, values))
    assert [r.status for r in result.responses] == [200], result.responses[:1]
    assert 1 <= len(result.responses[0].json()) <= 4


def test_the_journal_and_the_admin_api_survive_the_corpus(hostile_server: MockServer, values: dict[str, str]) -> None:
    """After the hostile requests (whatever ran before in this module), the journal still renders as JSON."""
    admin = {"X-Cxmock-Admin-Token": ADMIN_TOKEN}
    paths = ["/_mock/requests", "/_mock/violations", "/_mock/health", "/_mock/messages"]
    paths += [f"/_mock/violations?format={fmt}" for fmt in ("text", "json", "junit")]
    for path in paths:
        with requests.get(hostile_server.base_url + path, headers=admin, timeout=CASE_TIMEOUT) as response:
            assert response.status_code == 200, (path, response.text[:300])
    assert_still_serving(hostile_server, values)


# -- idle and slow clients -------------------------------------------------------------------------------------

IDLE_CONNECTIONS = 20
#: clients stalled mid-request; each holds one of cheroot's worker threads until its 30 s socket timeout, so the
#: server stays available while fewer than ``http_threads`` are stalled (the slowloris takes one more)
STALLED = 3
HTTP_THREADS = STALLED + 3


def _read_response(sock: socket.socket, deadline: float) -> Response:
    data = b""
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
        responses, _ = parse_responses(data)
        if responses:
            return responses[0]
    raise AssertionError(f"no complete response: {data[:200]!r}")


def test_idle_and_slow_clients_do_not_block_a_normal_request(make_server: Any) -> None:
    server: MockServer = make_server(http_threads=HTTP_THREADS)
    token = server.token()
    values = {"$TOKEN": token, "$ID": str(server.state.settings.list()[0].id)}
    request = render(Case("normal", "api", method="GET", path=f"{API}/SMTPSettings/$ID"), values)
    sockets: list[socket.socket] = []
    try:
        for _ in range(IDLE_CONNECTIONS):  # connect and send nothing
            sockets.append(socket.create_connection(("127.0.0.1", server.http_port), timeout=CASE_TIMEOUT))
        stalled = []
        for _ in range(STALLED):  # a request line cut short
            sock = socket.create_connection(("127.0.0.1", server.http_port), timeout=CASE_TIMEOUT)
            sock.sendall(b"GET /cxrestapi/auth/SMTPSett")
            sockets.append(sock)
            stalled.append(sock)
        slow = socket.create_connection(("127.0.0.1", server.http_port), timeout=CASE_TIMEOUT)
        sockets.append(slow)
        # the slowloris sends its request one byte at a time; between bytes, normal clients are served at once
        normal_served = 0
        for index in range(len(request)):
            slow.sendall(request[index : index + 1])
            if index % 8 == 0:
                assert_still_serving(server, values)
                normal_served += 1
        assert normal_served > 20
        deadline = time.monotonic() + CASE_TIMEOUT
        assert _read_response(slow, deadline).status == 200  # the slow client is served too, in the end
        # the idle connections were live all along: each can still make its request now
        for sock in sockets[:IDLE_CONNECTIONS]:
            sock.sendall(request)
            assert _read_response(sock, deadline).status == 200
        for sock in stalled:  # and the stalled ones finish theirs
            sock.sendall(request[len(b"GET /cxrestapi/auth/SMTPSett") :])
            assert _read_response(sock, deadline).status == 200
    finally:
        for sock in sockets:
            sock.close()
    server.check()
