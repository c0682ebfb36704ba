"""The HTTP front end under hostile clients (issue #14), over real sockets on 127.0.0.1: slow and idle clients do
not starve a normal one, a stop (or SIGTERM) is not held by them, every framing error the issue lists is a 4xx,
``100 Continue`` comes only after the head passed the app's checks, keep-alive and pipelining stay in step, and a
fuzzer over the framing layer finds no 5xx. No timing is asserted: every wait is bounded, and only outcomes count.
"""

from __future__ import annotations

import json
import logging
import resource
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mockserver.core.contract import JSON_V1
from mockserver.runtime.http_server import AppHooks, HttpServer, Refusal
from mockserver.runtime.server import MockServer

TIMEOUT = 20.0
LIST = "/cxrestapi/auth/SMTPSettings"


def connect(port: int) -> socket.socket:
    # from 127.0.0.2: a thousand client sockets must not take the ephemeral ports that other tests, running at the
    # same time, picked as free for a listener on 127.0.0.1
    return socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT, source_address=("127.0.0.2", 0))


def read_all(sock: socket.socket, *, until: bytes | None = None) -> bytes:
    """What the server sends until it closes (or until ``until`` appears), bounded by TIMEOUT."""
    data = b""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
        if until is not None and until in data:
            break
    return data


def _final_answer_complete(data: bytes) -> bool:
    """Whether ``data`` holds a whole final (non-1xx) response framed by Content-Length."""
    while True:
        head, sep, rest = data.partition(b"\r\n\r\n")
        if not sep:
            return False
        if head.startswith(b"HTTP/1.1 1"):
            data = rest
            continue
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                return len(rest) >= int(line.split(b":")[1])
        return False


def read_first_answer(sock: socket.socket) -> bytes:
    """Like :func:`read_all`, but stops once the first final response is complete (a keep-alive connection)."""
    data = b""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline and not _final_answer_complete(data):
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
    return data


def statuses(data: bytes) -> list[int]:
    """The status codes of the responses in ``data``, in order (bodies framed by Content-Length)."""
    out = []
    while data.startswith(b"HTTP/1.1 "):
        head, _, data = data.partition(b"\r\n\r\n")
        out.append(int(head.split(b" ")[1]))
        for line in head.split(b"\r\n")[1:]:
            if line.lower().startswith(b"content-length:"):
                data = data[int(line.split(b":")[1]) :]
    return out


def get_request(token: str, path: str = LIST, extra: str = "") -> bytes:
    return (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\nAccept: {JSON_V1}\r\n{extra}\r\n"
    ).encode()


def raise_fd_limit(wanted: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < wanted:
        if hard != resource.RLIM_INFINITY and hard < wanted:
            pytest.skip(f"needs {wanted} file descriptors, the hard limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


class Trickler:
    """``count`` connections sending a request head one byte per round, ``interval`` seconds apart (a slowloris)."""

    def __init__(self, port: int, count: int, interval: float = 1.0) -> None:
        self.socks = [connect(port) for _ in range(count)]
        self.head = b"GET /cxrestapi/auth/SMTPSettings HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 10_000
        self.interval = interval
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        position = 0
        while not self.stop.is_set() and position < len(self.head):
            for sock in self.socks:
                try:
                    sock.send(self.head[position : position + 1])
                except OSError:
                    pass  # the server closed this one (a deadline): it stays closed
            position += 1
            self.stop.wait(self.interval)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=TIMEOUT)
        for sock in self.socks:
            sock.close()


@pytest.fixture
def trickler() -> Iterator[Callable[[int, int], Trickler]]:
    made: list[Trickler] = []

    def make(port: int, count: int) -> Trickler:
        made.append(Trickler(port, count))
        return made[-1]

    yield make
    for t in made:
        t.close()


def test_trickling_and_idle_connections_do_not_stop_a_normal_client(
    make_server: Callable[..., MockServer], trickler: Callable[[int, int], Trickler]
) -> None:
    raise_fd_limit(4096)
    server: MockServer = make_server(http_threads=4)
    trickler(server.http_port, 100)
    idle = [connect(server.http_port) for _ in range(1000)]
    try:
        with requests.Session() as http:
            for _ in range(10):
                response = http.get(server.api_url + "/SMTPSettings", headers=server.auth_headers(), timeout=TIMEOUT)
                assert response.status_code == 200
        # an idle connection is still usable
        idle[0].sendall(get_request(server.token(), extra="Connection: close\r\n"))
        assert statuses(read_all(idle[0])) == [200]
    finally:
        for sock in idle:
            sock.close()
    server.check()


def test_stop_is_not_held_by_slow_clients(trickler: Callable[[int, int], Trickler]) -> None:
    server = MockServer()
    port = server.http_port
    slow = trickler(port, 50)
    server.stop()
    assert not server.running
    for sock in slow.socks[:5]:  # their connections are closed (EOF or reset), not left open
        assert b"HTTP/1.1 2" not in read_all(sock)


def _serve(*args: str) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "mockserver", "serve", "--port", "0", "--smtp-port", "0", "--smtps-port", "0"]
        + ["--ready-json", "--quiet", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        if not sel.select(timeout=60):
            proc.kill()
            proc.wait(timeout=10)
            pytest.fail("cxmock serve printed no ready line within 60 s")
    return proc, json.loads(proc.stdout.readline())


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_sigterm_with_100_trickling_clients_exits_0_and_answers_the_request_in_flight(
    trickler: Callable[[int, int], Trickler],
) -> None:
    proc, ready = _serve()
    try:
        base = ready["base_url"]
        admin = base + "/_mock/faults"
        rule = {"match": {"method": "GET", "path": LIST}, "action": {"type": "delay", "ms": 60000}, "times": 1}
        assert requests.post(admin, json=rule, timeout=TIMEOUT).status_code in (200, 201)
        trickler(ready["http"], 100)
        token = requests.post(
            base + "/cxrestapi/auth/identity/connect/token",
            data={
                "grant_type": "password",
                "username": "admin",
                "password": "admin",
                "scope": "access_control_api",
                "client_id": "resource_owner_client",
                "client_secret": "014DF517-39D1-4453-B7B3-9930C563627C",
            },
            timeout=TIMEOUT,
        ).json()["access_token"]
        in_flight = connect(ready["http"])
        in_flight.sendall(get_request(token, extra="Connection: close\r\n"))
        deadline = time.monotonic() + TIMEOUT
        while requests.get(admin, timeout=TIMEOUT).json()["rules"][0]["hits"] < 1:  # the request is being delayed
            assert time.monotonic() < deadline, "the delayed request never reached the app"
            threading.Event().wait(0.05)
        proc.send_signal(signal.SIGTERM)
        answer = read_all(in_flight)
        in_flight.close()
        assert proc.wait(timeout=60) == 0
        assert statuses(answer) == [200], answer[:300]  # the request in flight was answered, not lost
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()


# -- framing: each 500 of issue #14 is a 4xx -----------------------------------------------------------------------

H = "POST /cxrestapi/auth/SMTPSettings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json;v=1.0\r\n"
ISSUE_500S = {
    "chunk-size-ffffffffffffffff": H + "Transfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n{}",
    "chunk-size-7fffffffffffffff": H + "Transfer-Encoding: chunked\r\n\r\n7fffffffffffffff\r\n{}",
    "chunk-size-not-hex": H + "Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
    "unterminated-chunked-body": H + "Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n",
    "expect-100-without-a-body": H + "Expect: 100-continue\r\n\r\n",
    "content-length-minus-1": H + "Content-Length: -1\r\n\r\n{}",
    "two-different-content-lengths": H + "Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
    "two-equal-content-lengths": H + "Content-Length: 2\r\nContent-Length: 2\r\n\r\n{}",
    "content-length-and-chunked": H + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "missing-host": "GET /_mock/health HTTP/1.1\r\n\r\n",
    "duplicate-host": "GET /_mock/health HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    "http-2.0": "GET /_mock/health HTTP/2.0\r\nHost: a\r\n\r\n",
}


@pytest.fixture(scope="module")
def shared() -> Iterator[MockServer]:
    with MockServer(http_body_timeout=1.0, http_head_timeout=1.0) as server:
        yield server


@pytest.mark.slow
@pytest.mark.parametrize("keep_open", [False, True], ids=["then-eof", "kept-open"])
@pytest.mark.parametrize("name", list(ISSUE_500S))
def test_each_framing_500_of_the_issue_is_now_a_4xx(shared: MockServer, name: str, keep_open: bool) -> None:
    """Whether the client then closes its side or waits (the body deadline answers 408), the answer is a 4xx."""
    with connect(shared.http_port) as sock:
        sock.sendall(ISSUE_500S[name].encode())
        if not keep_open:
            sock.shutdown(socket.SHUT_WR)
        answer = read_first_answer(sock)
    codes = statuses(answer)
    assert codes and all(400 <= code < 500 for code in codes), answer[:300]
    body = json.loads(answer.partition(b"\r\n\r\n")[2])
    assert isinstance(body, dict) and body, body
    shared.check()


def test_expect_100_continue_comes_only_after_the_head_passed_auth_and_size(shared: MockServer) -> None:
    record = {"host": "smtp.example.org", "port": 25, "encryptionType": "None", "fromAddress": "a@example.org"}
    body = json.dumps({**record, "useDefaultCredentials": True}).encode()
    head = H + f"Expect: 100-continue\r\nContent-Length: {len(body)}\r\n"
    with connect(shared.http_port) as sock:  # no token: 401 at once, no 100
        sock.sendall((head + "\r\n").encode())
        answer = read_all(sock)
    assert statuses(answer) == [401], answer[:300]
    big = H + f"Authorization: Bearer {shared.token()}\r\nExpect: 100-continue\r\nContent-Length: {10**9}\r\n\r\n"
    with connect(shared.http_port) as sock:  # too large: 413 at once, no 100
        sock.sendall(big.encode())
        answer = read_all(sock)
    assert statuses(answer) == [413], answer[:300]
    with connect(shared.http_port) as sock:  # valid head: 100, then the body, then the answer
        sock.sendall((head + f"Authorization: Bearer {shared.token()}\r\nConnection: close\r\n\r\n").encode())
        interim = read_all(sock, until=b"\r\n\r\n")
        assert statuses(interim) == [100], interim
        sock.sendall(body)
        answer = read_all(sock)
    assert statuses(answer) == [201], answer[:300]


def test_an_unread_body_on_a_get_does_not_desync_keep_alive(shared: MockServer) -> None:
    token = shared.token()
    chunked = get_request(token, extra="Transfer-Encoding: chunked\r\n")[:-2] + b"\r\n5\r\nhello\r\n0\r\n\r\n"
    sized = get_request(token, extra="Content-Length: 5\r\n") + b"hello"
    with connect(shared.http_port) as sock:
        sock.sendall(chunked + sized + get_request(token, extra="Connection: close\r\n"))
        answer = read_all(sock)
    assert statuses(answer) == [200, 200, 200], answer[:500]


def test_pipelined_requests_are_answered_in_order(shared: MockServer) -> None:
    token = shared.token()
    paths = [LIST, LIST + "/1", "/cxrestapi/auth/nothing", LIST]
    data = b"".join(get_request(token, path) for path in paths[:-1]) + get_request(token, extra="Connection: close\r\n")
    with connect(shared.http_port) as sock:
        sock.sendall(data)
        answer = read_all(sock)
    assert statuses(answer) == [200, 200, 404, 200], answer[:500]


def test_the_connection_limit_answers_503_with_retry_after(make_server: Callable[..., MockServer]) -> None:
    server: MockServer = make_server(http_max_connections=3)
    held = [connect(server.http_port) for _ in range(3)]
    try:
        with connect(server.http_port) as extra:
            answer = read_all(extra)
        assert statuses(answer) == [503] and b"Retry-After: 1" in answer, answer[:300]
        assert b"http_max_connections" in answer
    finally:
        for sock in held:
            sock.close()


# -- a fuzzer over the framing layer -------------------------------------------------------------------------------

_LINES = st.sampled_from(
    [
        "Host: x",
        "Host: y",
        "Content-Length: 0",
        "Content-Length: 2",
        "Content-Length: -1",
        "Content-Length: 18446744073709551616",
        "Content-Length: 2, 2",
        "Transfer-Encoding: chunked",
        "Transfer-Encoding: gzip",
        "Transfer-Encoding: chunked, chunked",
        "Expect: 100-continue",
        "Expect: 200-ok",
        "Connection: close",
        "Connection: keep-alive",
        "Content-Type: application/json;v=1.0",
        " folded",
        "Bad Name: x",
        "X: \x00",
        "X-Empty:",
    ]
)
_BODIES = st.one_of(
    st.sampled_from(
        ["", "{}", "0\r\n\r\n", "2\r\n{}\r\n0\r\n\r\n", "ffffffffffffffff\r\n{}", "2\r\n{}", "1;x=y\r\na\r\n"]
    ),
    st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=255), max_size=40),
)


@st.composite
def _requests(draw: st.DrawFn) -> bytes:
    method = draw(st.sampled_from(["GET", "POST", "PUT", "HEAD", "OPTIONS", "FOO", "get", "CONNECT", "PRI"]))
    target = draw(st.sampled_from([LIST, "/_mock/health", "*", "http://x/_mock/health", "x", "/%00", "/a?b#c"]))
    version = draw(st.sampled_from(["HTTP/1.1", "HTTP/1.0", "HTTP/2.0", "HTTP/1.1 ", "HTTP/1", ""]))
    lines = draw(st.lists(_LINES, max_size=6))
    eol = draw(st.sampled_from(["\r\n", "\r\n", "\n"]))
    text = f"{method} {target} {version}{eol}" + "".join(line + eol for line in lines) + eol + draw(_BODIES)
    return text.encode("latin-1") * draw(st.integers(min_value=1, max_value=2))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=_requests())
def test_fuzzed_framing_never_gets_a_5xx(shared: MockServer, data: bytes) -> None:
    with connect(shared.http_port) as sock:
        try:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # answered and closed early
        answer = read_all(sock)
    # 501: a transfer coding other than chunked (RFC 9112 §6.1), the one 5xx a request can earn
    assert all(code < 500 or code == 501 for code in statuses(answer)), answer[:400]
    assert b"Traceback" not in answer
    shared.check()


def test_a_refusal_of_the_front_end_is_finished_like_any_answer(
    make_server: Callable[..., MockServer], caplog: pytest.LogCaptureFixture
) -> None:
    """An answer the front end makes itself (here: HTTP/1.1 without Host) goes through the app's finishing step: an
    API request is journaled (in the sandbox its path names), every one gets its request log line."""
    caplog.set_level(logging.INFO, logger="cxmock.requests")
    server: MockServer = make_server(log_requests=True)
    sandbox = server.sandbox("sb")
    for path in (LIST, "/sandbox/sb" + LIST + "/1", "/_mock/health"):
        with connect(server.http_port) as sock:
            sock.sendall(f"GET {path} HTTP/1.1\r\nAccept: {JSON_V1}\r\n\r\n".encode())
            answer = read_all(sock)
        assert statuses(answer) == [400], answer[:300]
        assert b"missing Host header" in answer
    (root,) = server.requests()
    assert (root.method, root.path, root.status, root.operation_id) == ("GET", LIST, 400, None)
    assert root.headers.get("Accept") == JSON_V1
    assert "missing Host header" in json.dumps(root.to_dict())
    (inside,) = sandbox.requests()
    assert (inside.path, inside.status) == (LIST + "/1", 400)
    lines = [r.getMessage() for r in caplog.records if r.name == "cxmock.requests"]
    refused = [line for line in lines if "-> 400" in line]
    # a sandbox's line shows its path with the /sandbox/<name> prefix (#25)
    expected = [f"GET {LIST}", f"GET /sandbox/sb{LIST}/1", "GET /_mock/health"]
    assert [line.split(" -> ")[0] for line in refused] == expected
    assert all("missing Host header" in line for line in refused)


def test_a_sandbox_name_refused_before_any_app_is_logged(
    make_server: Callable[..., MockServer], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="cxmock.requests")
    server: MockServer = make_server(log_requests=True)
    answer = requests.get(server.base_url + "/sandbox/No_Such!/cxrestapi/auth/SMTPSettings", timeout=TIMEOUT)
    assert answer.status_code == 400
    lines = [r.getMessage() for r in caplog.records if r.name == "cxmock.requests"]
    assert [line for line in lines if line.startswith("GET /sandbox/No_Such!/") and "-> 400" in line], lines
    assert server.requests() == []  # not an API path of any sandbox: logged, not journaled


def test_without_hooks_the_front_end_serves_any_wsgi_app_with_plain_errors() -> None:
    """The front end knows no app: given none of cxmock's hooks it adds no extension key to the environ and writes
    its own answers as plain text."""
    seen: list[dict[str, Any]] = []

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        seen.append(environ)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"hi"]

    server = HttpServer(app)
    server.start()
    try:
        with connect(server.port) as sock:
            sock.sendall(b"GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
            assert read_all(sock).endswith(b"\r\n\r\nhi")
        with connect(server.port) as sock:
            sock.sendall(b"GET /x HTTP/1.1\r\n\r\n")
            answer = read_all(sock)
    finally:
        server.stop()
    assert statuses(answer) == [400]
    assert b"Content-Type: text/plain; charset=utf-8" in answer
    assert answer.partition(b"\r\n\r\n")[2].startswith(b"missing Host header")
    assert not [key for environ in seen for key in environ if key.startswith("cxmock.")]


def test_the_app_hands_in_its_error_body_and_finishing_hook() -> None:
    """With hooks, the front end writes its own answers with the app's error body and hands each one (a refusal,
    or the 500 of an app that failed) to the app's finishing hook, with the head as read."""
    finished: list[Refusal] = []

    def failing(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        raise RuntimeError("a bug")

    hooks = AppHooks(
        error_body=lambda status, details: ("application/x-test", details.encode()), refused=finished.append
    )
    server = HttpServer(failing, hooks=hooks)
    server.start()
    try:
        answers = []
        for raw in (b"GET /broken?q=1 HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n\r\n", b"GET /no-host HTTP/1.1\r\n\r\n"):
            with connect(server.port) as sock:
                sock.sendall(raw)
                answers.append(read_all(sock))
    finally:
        server.stop()
    assert [statuses(a) for a in answers] == [[500], [400]]
    assert all(b"Content-Type: application/x-test" in a for a in answers)
    probe, *finished = finished  # the start-up probe's answer came first (the app fails on every request)
    assert probe.path == "/" and ("X-Probe", "start-up") in probe.headers
    assert [(f.status, f.method, f.path, f.content_type) for f in finished] == [
        (500, "GET", "/broken", "application/x-test"),
        (400, "GET", "/no-host", "application/x-test"),
    ]
    assert finished[0].query == "q=1" and ("X-A", "1") in finished[0].headers
    assert finished[0].remote == "127.0.0.2"
