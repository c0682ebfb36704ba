"""Bounds of the admin API (issue #14): list endpoints page and never answer more than ``--max-page-bytes``; admin
bodies have the API's ``--max-body`` limit (413); JSON nested deeper than 64 levels is a 400, never a 500."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from mockserver.core.contract import JSON_V1, MAX_JSON_DEPTH
from mockserver.core.identity.identity import password_grant
from mockserver.core.state import State
from mockserver.http.paging import DEFAULT_LIMIT, MAX_LIMIT
from mockserver.remote import RemoteServer
from mockserver.runtime.server import MockServer

TIMEOUT = 10.0


def body_of(response: Any) -> Any:
    """The JSON body of a Flask test response (typed ``Any``, where ``response.json`` is ``Any | None``)."""
    assert response.is_json, response.data[:200]
    return response.json


def capture(state: State, n: int, body: str = "hello") -> None:
    for i in range(n):
        raw = f"Subject: mail {i}\r\nTo: b@example.org\r\n\r\n{body}\r\n".encode()
        state.mail.add(raw, mail_from="a@example.org", rcpt_tos=["b@example.org"])


# -- paging --------------------------------------------------------------------------------------------------


def test_messages_page_with_a_default_size_a_total_and_a_next_link(
    make_app: Callable[..., tuple[State, Flask]],
) -> None:
    state, app = make_app()
    capture(state, DEFAULT_LIMIT + 20)
    client = app.test_client()
    first = client.get("/_mock/messages")
    assert first.status_code == 200
    assert [m["subject"] for m in body_of(first)] == [f"mail {i}" for i in range(DEFAULT_LIMIT)]
    assert first.headers["X-Total-Count"] == str(DEFAULT_LIMIT + 20)
    assert first.headers["X-Next-Offset"] == str(DEFAULT_LIMIT)
    link = first.headers["Link"]
    assert link.endswith('>; rel="next"') and f"offset={DEFAULT_LIMIT}" in link
    second = client.get(link[1 : link.index(">")])
    assert [m["subject"] for m in body_of(second)] == [f"mail {i}" for i in range(DEFAULT_LIMIT, DEFAULT_LIMIT + 20)]
    assert "Link" not in second.headers and "X-Next-Offset" not in second.headers


def test_paging_keeps_the_filters_and_since_works_as_a_cursor(make_app: Callable[..., tuple[State, Flask]]) -> None:
    state, app = make_app()
    capture(state, 30)
    client = app.test_client()
    page = client.get("/_mock/messages?subject=mail 2&limit=5")
    assert [m["subject"] for m in body_of(page)] == ["mail 2", *(f"mail {i}" for i in range(20, 24))]
    assert page.headers["X-Total-Count"] == "11" and "subject=mail+2" in page.headers["Link"]
    after = client.get(f"/_mock/messages?since={body_of(page)[-1]['id']}&limit=3")
    assert [m["subject"] for m in body_of(after)] == ["mail 24", "mail 25", "mail 26"]


@pytest.mark.parametrize("path", ["/_mock/messages", "/_mock/requests"])
@pytest.mark.parametrize("query", ["limit=0", f"limit={MAX_LIMIT + 1}", "limit=ten", "offset=-1", "offset=1e3"])
def test_a_bad_page_is_a_400_naming_the_parameter(
    make_app: Callable[..., tuple[State, Flask]], path: str, query: str
) -> None:
    _, app = make_app()
    response = app.test_client().get(f"{path}?{query}")
    assert response.status_code == 400
    assert query.split("=")[0] in response.get_data(as_text=True)


def test_a_page_never_passes_max_page_bytes(make_app: Callable[..., tuple[State, Flask]]) -> None:
    state, app = make_app(max_page_bytes=20_000)
    capture(state, 40, body="x" * 2000)  # ~2.5 KB per message as JSON
    client = app.test_client()
    seen: list[str] = []
    path = "/_mock/messages?limit=1000"
    while True:
        response = client.get(path)
        assert len(response.data) <= 20_000
        seen.extend(m["subject"] for m in body_of(response))
        if "Link" not in response.headers:
            break
        path = response.headers["Link"][1 : response.headers["Link"].index(">")]
    assert seen == [f"mail {i}" for i in range(40)]


def test_one_message_bigger_than_a_page_is_still_answered(make_app: Callable[..., tuple[State, Flask]]) -> None:
    state, app = make_app(max_page_bytes=1000)
    capture(state, 2, body="y" * 5000)
    response = app.test_client().get("/_mock/messages")
    assert len(body_of(response)) == 1 and response.headers["X-Next-Offset"] == "1"


def test_requests_page_like_messages(make_app: Callable[..., tuple[State, Flask]]) -> None:
    _, app = make_app()
    client = app.test_client()
    for _ in range(12):
        client.get("/cxrestapi/auth/SMTPSettings")
    page = client.get("/_mock/requests?limit=5&offset=10")
    assert page.headers["X-Total-Count"] == "12" and len(body_of(page)) == 2
    assert "Link" not in page.headers
    first = client.get("/_mock/requests?limit=5")
    assert [e["id"] for e in body_of(first)] == [1, 2, 3, 4, 5] and first.headers["X-Next-Offset"] == "5"


def test_remote_server_reads_every_page(make_server: Callable[..., MockServer]) -> None:
    server = make_server(max_page_bytes=3000)  # a handful of messages per page
    capture(server.state, 25)
    remote = RemoteServer(server.base_url)
    assert [m.subject for m in remote.sink.messages] == [f"mail {i}" for i in range(25)]
    for _ in range(15):
        with pytest.raises(urllib.error.HTTPError):  # 401: journaled all the same
            urllib.request.urlopen(server.api_url + "/SMTPSettings", timeout=TIMEOUT)  # nosec B310
    assert [e.id for e in remote.requests()] == [e.id for e in server.requests()] and len(server.requests()) == 15


# -- admin bodies ----------------------------------------------------------------------------------------------


def raw_request(server: MockServer, head: str, body: bytes = b"") -> tuple[int, bytes]:
    """Send a request head (and at most ``body``) over a real socket; return the status and body of the answer."""
    with socket.create_connection(("127.0.0.1", server.http_port), timeout=TIMEOUT) as sock:
        sock.sendall(head.encode() + body)
        data = b""
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
                if b"\r\n\r\n" in data:
                    headers, _, rest = data.partition(b"\r\n\r\n")
                    length = [line for line in headers.split(b"\r\n") if line.lower().startswith(b"content-length:")]
                    if length and len(rest) >= int(length[0].split(b":")[1]):
                        break
        except ConnectionResetError:
            pass
    status = int(data.split(b" ", 2)[1])
    return status, data.partition(b"\r\n\r\n")[2]


@pytest.mark.parametrize("path", ["/_mock/seed", "/_mock/faults", "/_mock/reset"])
def test_a_32_mb_admin_body_is_refused_with_413(make_server: Callable[..., MockServer], path: str) -> None:
    server = make_server()
    size = 32 * 1024 * 1024
    head = (
        f"POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {size}\r\n"
        "Connection: close\r\n\r\n"
    )
    status, body = raw_request(server, head, b"[" * 65536)
    assert status == 413
    message = json.loads(body)
    assert "--max-body" in json.dumps(message)


def test_a_chunked_admin_body_over_the_limit_is_refused_with_413(make_server: Callable[..., MockServer]) -> None:
    server = make_server(max_body=1000)
    chunk = b"x" * 500
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(4)) + b"0\r\n\r\n"
    head = (
        "POST /_mock/seed HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n"
        "Connection: close\r\n\r\n"
    )
    status, _ = raw_request(server, head, body)
    assert status == 413


def test_an_admin_body_within_the_limit_still_works(make_server: Callable[..., MockServer]) -> None:
    server = make_server()
    records = [
        {"host": "h", "port": 25, "fromAddress": "a@b.org", "encryptionType": "None", "useDefaultCredentials": True}
    ]
    request = urllib.request.Request(
        server.base_url + "/_mock/seed", data=json.dumps(records).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # nosec B310
        assert json.load(response)["count"] == 1


# -- nesting ---------------------------------------------------------------------------------------------------

FIELDS = ["host", "port", "fromAddress", "encryptionType", "useDefaultCredentials", "password", "zzz"]


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def post(server: MockServer, path: str, body: str, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(server.base_url + path, data=body.encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # nosec B310
            return response.status, {}
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


@pytest.mark.slow
@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 970, 100_000 // 2])
def test_deep_nesting_in_any_field_is_a_400(server: MockServer, field: str, depth: int) -> None:
    body: dict[str, Any] = {"host": "h", "port": 25, "fromAddress": "a@b.org", "recieverEmail": "r@b.org"}
    text = json.dumps({**body, field: "@@"}).replace('"@@"', nested(depth))
    headers = {**server.auth_headers(), "Content-Type": JSON_V1}
    for path in ["/cxrestapi/auth/SMTPSettings", "/cxrestapi/auth/SMTPSettings/testconnection"]:
        status, error = post(server, path, text, headers)
        expected = 413 if len(text) > server.config.max_body else 400
        assert status == expected, (path, status, error)
        if status == 400:
            assert f"more than {MAX_JSON_DEPTH} levels" in json.dumps(error)


@pytest.mark.parametrize("path", ["/_mock/seed", "/_mock/faults"])
def test_deep_nesting_in_an_admin_body_is_a_400(server: MockServer, path: str) -> None:
    status, error = post(server, path, '{"a": ' + nested(970) + "}", {"Content-Type": "application/json"})
    assert status == 400 and f"more than {MAX_JSON_DEPTH} levels" in json.dumps(error)


@pytest.mark.slow
def test_deep_yaml_fault_rules_are_a_400(server: MockServer) -> None:
    status, _ = post(server, "/_mock/faults", "a: " + nested(5000), {"Content-Type": "application/yaml"})
    assert status == 400


def test_nesting_up_to_the_limit_is_parsed(server: MockServer) -> None:
    body = json.dumps({"host": "h", "port": 25, "fromAddress": "a@b.org", "encryptionType": "None"})
    text = body[:-1] + ', "extra": ' + nested(MAX_JSON_DEPTH - 1) + "}"
    status, error = post(
        server, "/cxrestapi/auth/SMTPSettings", text, {**server.auth_headers(), "Content-Type": JSON_V1}
    )
    # parsed and validated as usual: stored (the deep member is an ignored unknown one; no credentials: a lint)
    assert status == 201 and "levels" not in json.dumps(error)


# -- other stores ----------------------------------------------------------------------------------------------


def test_settings_past_the_limit_are_a_400_naming_the_option(make_app: Callable[..., tuple[State, Flask]]) -> None:
    state, app = make_app(seed="none", settings_limit=2)
    client = app.test_client()
    form = password_grant("admin", "admin", scope="access_control_api", client_secret=state.config.client_secret)
    token = state.identity.issue(form)["access_token"]
    headers = {"Authorization": f"Bearer {token}", "Accept": JSON_V1, "Content-Type": JSON_V1}
    record = {
        "host": "h",
        "port": 25,
        "fromAddress": "a@b.org",
        "encryptionType": "None",
        "useDefaultCredentials": True,
    }
    assert [
        client.post("/cxrestapi/auth/SMTPSettings", json=record, headers=headers).status_code for _ in range(2)
    ] == [
        201,
        201,
    ]
    refused = client.post("/cxrestapi/auth/SMTPSettings", json=record, headers=headers)
    assert refused.status_code == 400 and "--settings-limit" in refused.get_data(as_text=True)
    client.delete("/cxrestapi/auth/SMTPSettings/1", headers=headers)
    assert client.post("/cxrestapi/auth/SMTPSettings", json=record, headers=headers).status_code == 201


def test_fault_rules_past_the_limit_are_refused_whole(make_app: Callable[..., tuple[State, Flask]]) -> None:
    from mockserver.core.faults.engine import RULES_LIMIT

    _, app = make_app()
    client = app.test_client()
    rule = {"match": {"method": "GET", "path": "/nowhere"}, "action": {"type": "status", "status": 503}}
    for size in [100] * (RULES_LIMIT // 100 - 1) + [99]:  # in bodies under --max-body
        assert client.post("/_mock/faults", json=[rule] * size).status_code == 201
    refused = client.post("/_mock/faults", json=[rule, rule])
    assert refused.status_code == 400 and f"at most {RULES_LIMIT}" in refused.get_data(as_text=True)
    assert client.post("/_mock/faults", json=rule).status_code == 201
