"""``cxmock proxy``: every request shape of the real clients goes to the upstream unchanged, and the upstream's
answer comes back unchanged (bytes compared), over real sockets on 127.0.0.1."""

from __future__ import annotations

import base64
import http.client
import json
from collections.abc import Iterator

import pytest
import requests

from mockserver.config import DEFAULT_CLIENT_SECRET, Config
from mockserver.proxy import ProxyServer, UpstreamOptions
from tests.proxy.upstreams import Recorder, Reply, Served, login

#: headers the proxy does not pass on as they came: hop-by-hop ones, Host (the upstream's) and the framing
_NOT_COMPARED = {"host", "connection", "keep-alive", "date", "content-length", "transfer-encoding"}

FORM = (
    "grant_type=password&username=admin&password=admin&scope=sast_rest_api+access_control_api"
    f"&client_id=resource_owner_client&client_secret={DEFAULT_CLIENT_SECRET}"
).encode()
BASIC = "Basic " + base64.b64encode(f"resource_owner_client:{DEFAULT_CLIENT_SECRET}".encode()).decode()
RECORD = (
    b'{"host":"smtp.example.org","port":587,"encryptionType":"Tls","fromAddress":"a@example.org",'
    b'"useDefaultCredentials":false,"username":"u","password":"p4ss","displayName":"A"}'
)

#: (name, method, target, headers, body): the request shapes of CheckmarxPythonSDK, the NSwag C# client
#: (application/json-patch+json bodies) and cxpsemea/CxSASTClientGo (HTTP Basic client authentication)
SHAPES = [
    (
        "sdk token",
        "POST",
        "/cxrestapi/auth/identity/connect/token",
        [("Content-Type", "application/x-www-form-urlencoded"), ("Accept", "application/json")],
        FORM,
    ),
    (
        "go token, Basic",
        "POST",
        "/CxRestAPI/auth/identity/connect/token",
        [("Authorization", BASIC), ("Content-Type", "application/x-www-form-urlencoded")],
        b"grant_type=password&username=admin&password=admin&scope=sast_rest_api%20access_control_api",
    ),
    (
        "sdk list",
        "GET",
        "/cxrestapi/auth/SMTPSettings",
        [("Accept", "application/json;v=1.0"), ("Authorization", "Bearer abc.def.ghi"), ("cxOrigin", "sdk")],
        b"",
    ),
    (
        "nswag create",
        "POST",
        "/cxrestapi/auth/SMTPSettings",
        [
            ("Accept", "application/json"),
            ("Authorization", "Bearer abc.def.ghi"),
            ("Content-Type", "application/json-patch+json; charset=utf-8"),
        ],
        RECORD,
    ),
    (
        "nswag update",
        "PUT",
        "/cxrestapi/auth/SMTPSettings/7",
        [
            ("Accept", "application/json"),
            ("Authorization", "Bearer abc.def.ghi"),
            ("Content-Type", "application/json-patch+json; charset=utf-8"),
        ],
        RECORD,
    ),
    ("delete", "DELETE", "/cxrestapi/auth/SMTPSettings/7", [("Authorization", "Bearer abc.def.ghi")], b""),
    (
        "testconnection",
        "POST",
        "/cxrestapi/auth/SMTPSettings/testconnection",
        [("Content-Type", "application/json;v=1.0"), ("Authorization", "Bearer abc.def.ghi")],
        RECORD[:-1] + b',"recieverEmail":"r@example.org"}',
    ),
    ("go profile", "GET", "/cxrestapi/auth/MyProfile", [("Authorization", "Bearer abc.def.ghi")], b""),
    (
        "query and escapes",
        "GET",
        "/cxrestapi/auth/SMTPSettings?a=%2Fb&c=d%20e",
        [("Authorization", "Bearer abc.def.ghi"), ("X-Repeated", "1"), ("X-Repeated", "2")],
        b"",
    ),
]


@pytest.fixture
def proxy(recorder: Recorder) -> Iterator[ProxyServer]:
    with ProxyServer(UpstreamOptions(recorder.url), Config()) as server:
        yield server


def _send(
    base: ProxyServer | str, method: str, target: str, headers: list[tuple[str, str]], body: bytes
) -> tuple[int, str, list[tuple[str, str]], bytes]:
    url = base if isinstance(base, str) else base.base_url
    host, port = url.split("//")[1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", f"{host}:{port}")
        for name, value in headers:
            conn.putheader(name, value)
        if body or method in ("POST", "PUT"):
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body or None)
        response = conn.getresponse()
        return response.status, response.reason, response.getheaders(), response.read()
    finally:
        conn.close()


def _compared(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(k.lower(), v) for k, v in headers if k.lower() not in _NOT_COMPARED]


@pytest.mark.parametrize(("name", "method", "target", "headers", "body"), SHAPES, ids=[s[0] for s in SHAPES])
def test_every_client_request_shape_reaches_the_upstream_unchanged(
    proxy: ProxyServer,
    recorder: Recorder,
    name: str,
    method: str,
    target: str,
    headers: list[tuple[str, str]],
    body: bytes,
) -> None:
    recorder.reply = Reply(201, [("Location", "/cxrestapi/auth/SMTPSettings/9"), ("X-Vendor", "kept")], b"")
    status, _, _, _ = _send(proxy, method, target, headers, body)
    assert status == 201
    got = recorder.received[-1]
    assert (got.method, got.target, got.body) == (method, target, body)
    assert _compared(got.headers) == _compared(headers)
    assert dict((k.lower(), v) for k, v in got.headers)["host"] == recorder.url.split("//")[1]


ANSWERS = [
    Reply(
        200,
        [("Content-Type", "application/json;v=1.0"), ("X-Vendor", "a"), ("Cache-Control", "no-store")],
        b'[ {"id": 1, "host" : "h", "port":25} ]\n',
    ),
    Reply(201, [("Location", "/cxrestapi/auth/SMTPSettings/12")], b""),
    Reply(204, [], b""),
    Reply(400, [("Content-Type", "application/json; charset=utf-8")], '{"message":"é ünïcode"}'.encode()),
    Reply(
        401,
        [("WWW-Authenticate", 'Bearer error="invalid_token"'), ("Content-Type", "application/json")],
        b'{"message":"Unauthorized"}',
    ),
    Reply(503, [("Retry-After", "3"), ("Content-Type", "text/html")], b"<html>maintenance</html>"),
]


@pytest.mark.parametrize("reply", ANSWERS, ids=[str(r.status) for r in ANSWERS])
def test_the_upstreams_answer_comes_back_unchanged(proxy: ProxyServer, recorder: Recorder, reply: Reply) -> None:
    recorder.reply = reply
    direct = _send(recorder.url, "GET", "/cxrestapi/auth/SMTPSettings", [("Accept", "application/json")], b"")
    proxied = _send(proxy, "GET", "/cxrestapi/auth/SMTPSettings", [("Accept", "application/json")], b"")
    assert proxied[:2] == direct[:2]  # status and reason
    assert proxied[3] == direct[3] == reply.body  # the body bytes
    assert _compared(proxied[2]) == _compared(direct[2])
    assert len([v for k, v in proxied[2] if k.lower() == "date"]) == 1


@pytest.mark.slow  # a cxmock serve child
def test_a_whole_client_flow_through_the_proxy_matches_the_direct_one(upstream: Served) -> None:
    """Against a real ``cxmock serve``: the same calls, directly and through the proxy, give the same answers."""
    with ProxyServer(UpstreamOptions(upstream.base_url), Config()) as proxy:
        token = login(proxy.api_url)
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json;v=1.0", "cxOrigin": "t"}
        for path in ("/SMTPSettings", "/SMTPSettings/1", "/MyProfile", "/SMTPSettings/999999"):
            with (
                requests.get(proxy.api_url + path, headers=headers, timeout=10) as via,
                requests.get(upstream.base_url + "/cxrestapi/auth" + path, headers=headers, timeout=10) as direct,
            ):
                assert (via.status_code, via.content) == (direct.status_code, direct.content), path
                assert via.headers["Content-Type"] == direct.headers["Content-Type"]
        body = {"host": "smtp.example.org", "port": 25, "fromAddress": "a@example.org", "useDefaultCredentials": True}
        with requests.post(proxy.api_url + "/SMTPSettings", json=body, headers=headers, timeout=10) as created:
            assert created.status_code == 201
            location = created.headers["Location"]
        with requests.delete(proxy.base_url + location, headers=headers, timeout=10) as deleted:
            assert deleted.status_code == 204
        with requests.get(proxy.base_url + "/_mock/requests", timeout=10) as journal:
            entries = journal.json()
        assert [(e["operationId"], e["status"]) for e in entries] == [
            ("getToken", 200),
            ("getAllSmtpSettings", 200),
            ("getSmtpSettingsById", 200),
            ("getMyProfile", 200),
            ("getSmtpSettingsById", 404),
            ("createSmtpSettings", 201),
            ("deleteSmtpSettings", 204),
        ]
        assert entries[1]["responseBody"] == json.loads(
            requests.get(upstream.base_url + "/cxrestapi/auth/SMTPSettings", headers=headers, timeout=10).content
        )
        with requests.get(proxy.base_url + "/_mock/drift", timeout=10) as drift:
            assert drift.json() == []  # a cxmock serve answers as the document says


def test_the_client_requests_are_linted_as_cxmock_serve_would(proxy: ProxyServer, recorder: Recorder) -> None:
    recorder.reply = Reply(201, [("Location", "/cxrestapi/auth/SMTPSettings/3")], b"")
    body = json.dumps({"host": "h", "port": 25, "fromAdress": "a@example.org", "fromAddress": "a@example.org"})
    with requests.post(
        proxy.api_url.replace("/cxrestapi/", "/CxRestAPI/") + "/smtpsettings",
        data=body,
        headers={"Content-Type": "application/json", "Authorization": "Bearer x"},
        timeout=10,
    ) as response:
        assert response.status_code == 201
    with requests.get(proxy.base_url + "/_mock/violations", timeout=10) as report:
        codes = {row["code"] for row in report.json()}
    assert {
        "unknown-member-near-miss",
        "path-case",
        "version-missing",
        "cxorigin-missing",
        "credentials-missing",
    } <= codes
    with requests.get(proxy.base_url + "/_mock/violations?format=text", timeout=10) as text:
        assert "did you mean 'fromAddress'" in text.text


def test_paths_outside_the_api_are_the_proxys_own(proxy: ProxyServer, recorder: Recorder) -> None:
    with requests.get(proxy.base_url + "/_mock/health", timeout=10) as health:
        assert health.status_code == 200
    with requests.get(proxy.base_url + "/cxrestapi/authx", timeout=10) as other:
        assert other.status_code == 404
    assert recorder.received == []


def test_a_chunked_request_body_reaches_the_upstream_whole_with_its_length(
    proxy: ProxyServer, recorder: Recorder
) -> None:
    """Transfer-Encoding is hop-by-hop: the body arrives as the same bytes, framed by Content-Length."""
    recorder.reply = Reply(204, [], b"")
    host, port = proxy.base_url.split("//")[1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        headers = {"Content-Type": "application/json;v=1.0", "Transfer-Encoding": "chunked"}
        conn.request(
            "PUT",
            "/cxrestapi/auth/SMTPSettings/3",
            body=iter([RECORD[:10], RECORD[10:]]),
            headers=headers,
            encode_chunked=True,
        )
        response = conn.getresponse()
        response.read()
        assert response.status == 204
    finally:
        conn.close()
    got = recorder.received[-1]
    assert got.body == RECORD
    sent = {k.lower(): v for k, v in got.headers}
    assert sent["content-length"] == str(len(RECORD)) and "transfer-encoding" not in sent


def test_head_gets_the_upstreams_head(proxy: ProxyServer, recorder: Recorder) -> None:
    recorder.reply = Reply(200, [("Content-Type", "application/json;v=1.0")], b"[1, 2, 3]")
    status, _, headers, body = _send(proxy, "HEAD", "/cxrestapi/auth/SMTPSettings", [], b"")
    assert (status, body) == (200, b"")
    assert dict((k.lower(), v) for k, v in headers)["content-length"] == "9"
    assert recorder.received[-1].method == "HEAD"
