"""Security checks of issue #8 (all on 127.0.0.1, no real DNS, no foreign address ever dialled).

(a) A full scenario with distinctive secrets; every response (body and headers), every journal entry, the captured
    mail (metadata, transcripts, raw source) and every log line is scanned for them.
(b) With an admin token, every ``/_mock/*`` rule of the app's url_map, with each of its methods, refuses without it.
(c) Direct-mode testconnection refuses hosts outside the allow-list, deciding on resolved addresses (the resolver is
    injected), without opening a socket to them.
(d) ``Location`` headers and error messages never echo input unescaped (no raw ``<``/``>``, no CRLF in headers).
"""

from __future__ import annotations

import base64
import json
import logging
import re
import smtplib
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from mockserver.config import Config
from mockserver.core.contract import JSON_V1
from mockserver.core.state import State
from mockserver.http import create_app, ui
from mockserver.runtime.server import MockServer

TIMEOUT = 15.0
FORM = "application/x-www-form-urlencoded"

# -- (a) secrets never leave ------------------------------------------------------------------------------------

ADMIN_TOKEN = "AdminTok-9e1c5a3b7d2f"
CLIENT_SECRET = "ClientSecret-4b8d2e6f0a1c"
WRONG_SECRET = "WrongSecret-6d0e8f1a2b3c"
USER_PASSWORD = "UserPw-7f3a9c1e5b2d"
WRONG_USER_PASSWORD = "WrongUserPw-1c2d3e4f5a6b"
SMTP_PASSWORD_CREATE = "SmtpPwCreate-1a2b3c4d5e6f"
SMTP_PASSWORD_UPDATE = "SmtpPwUpdate-5e6f7a8b9c0d"
SMTP_PASSWORD_INVALID = "SmtpPwInvalid-2b3c4d5e6f7a"
SMTP_PASSWORD_TEST = "SmtpPwTest-9c0d1e2f3a4b"
SMTP_PASSWORD_LOGIN = "SmtpPwLogin-3d4e5f6a7b8c"
SMTP_USER = "smtp-user"
PLAIN_SECRETS = [
    ADMIN_TOKEN,
    CLIENT_SECRET,
    WRONG_SECRET,
    USER_PASSWORD,
    WRONG_USER_PASSWORD,
    SMTP_PASSWORD_CREATE,
    SMTP_PASSWORD_UPDATE,
    SMTP_PASSWORD_INVALID,
    SMTP_PASSWORD_TEST,
    SMTP_PASSWORD_LOGIN,
]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def encoded_forms(secret: str) -> list[str]:
    """The secret as it may travel: plain, AUTH PLAIN/LOGIN base64, JSON-escaped."""
    raw = secret.encode()
    return [
        secret,
        b64(raw),
        b64(b"\0" + SMTP_USER.encode() + b"\0" + raw),
        b64(SMTP_USER.encode() + b"\0" + SMTP_USER.encode() + b"\0" + raw),
        json.dumps(secret)[1:-1],
    ]


USERS_YAML = f"""
roles:
  Admin: [Manage System Settings]
users:
  - username: sec-admin
    password: {USER_PASSWORD}
    roles: [Admin]
clients:
  - client_id: resource_owner_client
    scopes: [access_control_api]
"""


class Recorder:
    """Every response the scenario saw, as text (status, headers, body)."""

    def __init__(self) -> None:
        self.texts: list[tuple[str, str]] = []
        self.token_bodies: list[str] = []

    def hook(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        where = f"{response.request.method} {response.request.url} -> {response.status_code}"
        headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
        body = response.content.decode("utf-8", "replace")
        if response.request.url and response.request.url.endswith("/identity/connect/token") and response.ok:
            self.token_bodies.append(body)  # the one place an access token may appear in full
            self.texts.append((where + " [headers]", headers))
        else:
            self.texts.append((where, headers + "\n\n" + body))


def smtp_fields(password: str | None, **changes: Any) -> dict[str, Any]:
    body = {
        "host": "smtp.example.org",
        "port": 587,
        "encryptionType": "Tls",
        "fromAddress": "noreply@example.org",
        "useDefaultCredentials": False,
        "username": SMTP_USER,
        "password": password,
    }
    body.update(changes)
    return body


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_no_secret_appears_in_any_output(
    make_server: Callable[..., MockServer], tmp_path: Path, caplog: pytest.LogCaptureFixture, log_format: str
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger: cxmock.*, cheroot's error log, the sink, aiosmtpd's mail.log
    users = tmp_path / "users.yaml"
    users.write_text(USERS_YAML, encoding="utf-8")
    server = make_server(
        admin_token=ADMIN_TOKEN,
        client_secret=CLIENT_SECRET,
        users=str(users),
        log_requests=True,
        log_format=log_format,
        smtp_require_auth=True,
    )
    recorder = Recorder()
    admin = {"X-Cxmock-Admin-Token": ADMIN_TOKEN}
    api = server.api_url
    with requests.Session() as http:
        http.hooks["response"].append(recorder.hook)

        def call(method: str, url: str, expected: int, **kwargs: Any) -> requests.Response:
            response = http.request(method, url, timeout=TIMEOUT, **kwargs)
            assert response.status_code == expected, (method, url, response.status_code, response.text[:300])
            return response

        form = {
            "grant_type": "password",
            "username": "sec-admin",
            "password": USER_PASSWORD,
            "scope": "access_control_api",
            "client_id": "resource_owner_client",
            "client_secret": CLIENT_SECRET,
        }
        call("POST", api + "/identity/connect/token", 400, data={**form, "client_secret": WRONG_SECRET})
        call("POST", api + "/identity/connect/token", 400, data={**form, "password": WRONG_USER_PASSWORD})
        token = call("POST", api + "/identity/connect/token", 200, data=form).json()["access_token"]
        assert len(token) >= 32
        headers = {"Authorization": f"Bearer {token}", "Accept": JSON_V1, "Content-Type": JSON_V1, "cxOrigin": "sec"}

        created = call("POST", api + "/SMTPSettings", 201, json=smtp_fields(SMTP_PASSWORD_CREATE), headers=headers)
        item = created.headers["Location"]
        item_url = server.base_url + item if item.startswith("/") else item
        call("GET", item_url, 200, headers=headers)
        call("GET", api + "/SMTPSettings", 200, headers=headers)
        call("PUT", item_url, 204, json=smtp_fields(SMTP_PASSWORD_UPDATE), headers=headers)
        call("PUT", item_url, 204, json=smtp_fields(None), headers=headers)  # keeps the stored password
        call("POST", api + "/SMTPSettings", 400, json=smtp_fields(SMTP_PASSWORD_INVALID, port=0), headers=headers)
        # a NUL in the password is stored, as the service stores it, and linted value-unsendable (#22)
        call(
            "POST", api + "/SMTPSettings", 201, json=smtp_fields(SMTP_PASSWORD_INVALID + "\0", port=25), headers=headers
        )
        call("POST", api + "/SMTPSettings", 400, headers=headers, data=f'{{"password": "{SMTP_PASSWORD_INVALID}"')
        # an SMTP fault rejects the first AUTH: the 400 carries the (redacted) transcript
        call(
            "POST",
            server.base_url + "/_mock/faults",
            201,
            headers=admin,
            json={"match": {"stage": "auth"}, "action": {"type": "reply", "code": 535, "text": "5.7.8 no"}, "times": 1},
        )
        test_body = {**smtp_fields(SMTP_PASSWORD_TEST, encryptionType="None"), "recieverEmail": "admin@example.org"}
        failed = call("POST", api + "/SMTPSettings/testconnection", 400, json=test_body, headers=headers).json()
        assert "failed at stage auth" in failed["message"]
        for encryption in ("None", "Tls", "Ssl"):
            call(
                "POST",
                api + "/SMTPSettings/testconnection",
                200,
                json={**test_body, "encryptionType": encryption},
                headers=headers,
            )
        # an HTTP fault fires and is journaled
        call(
            "POST",
            server.base_url + "/_mock/faults",
            201,
            headers=admin,
            json={"match": {"operationId": "getAllSmtpSettings"}, "action": {"type": "rate_limit"}, "times": 1},
        )
        call("GET", api + "/SMTPSettings", 429, headers=headers)
        call("DELETE", item_url, 204, headers=headers)
        call("GET", api + "/SMTPSettings", 401, headers={**headers, "Authorization": f"Bearer {token}x"})
        # a client of the sink authenticating with LOGIN
        with smtplib.SMTP("127.0.0.1", server.sink.smtp_port, timeout=TIMEOUT) as smtp:
            smtp.ehlo()
            smtp.user, smtp.password = SMTP_USER, SMTP_PASSWORD_LOGIN
            assert smtp.auth("LOGIN", smtp.auth_login)[0] == 235
            smtp.sendmail("a@example.org", ["b@example.org"], "Subject: login\r\n\r\nhello\r\n")
        messages = server.sink.wait_for(4, TIMEOUT)
        # the admin API: journal, mail (list, one, raw), faults, config, violations in every format
        admin_paths = ["/_mock/requests", "/_mock/messages", "/_mock/faults", "/_mock/config", "/_mock/seed"]
        admin_paths += [f"/_mock/violations?format={fmt}" for fmt in ("text", "json", "junit")] + ["/_mock/violations"]
        for message in messages:
            admin_paths += [f"/_mock/messages/{message.id}", f"/_mock/messages/{message.id}/raw"]
        for path in admin_paths:
            call("GET", server.base_url + path, 200, headers=admin)

    assert {m.auth_user for m in messages} == {SMTP_USER}
    assert sum(1 for m in messages if m.transcript) == 3
    seen = list(recorder.texts)
    seen += [(f"journal {e.id}", json.dumps(e.to_dict(), ensure_ascii=False)) for e in server.requests()]
    seen += [(f"mail {m.id}", json.dumps(m.to_dict(), ensure_ascii=False)) for m in server.sink.messages]
    seen += [(f"raw mail {m.id}", m.raw.decode("utf-8", "replace")) for m in server.sink.messages]
    seen.append(("log text (formatted, with tracebacks)", caplog.text))
    seen += [(f"log {r.name}", r.getMessage()) for r in caplog.records]
    assert any(name.startswith("log cxmock.requests") for name, _ in seen), "the request log was not captured"

    forbidden = [form for secret in PLAIN_SECRETS for form in encoded_forms(secret)] + [token]
    leaks = [(where, secret) for where, text in seen for secret in forbidden if secret in text]
    assert not leaks, f"secrets leaked: {leaks[:10]}"
    # the token appears only in the token response, and elsewhere at most as its last four characters
    assert recorder.token_bodies and all(token in body for body in recorder.token_bodies[-1:])
    journal_auth = {e.headers.get("Authorization") for e in server.requests() if e.headers.get("Authorization")}
    assert f"Bearer …{token[-4:]}" in journal_auth
    assert all(value is not None and value.startswith("Bearer …") for value in journal_auth), journal_auth


# -- (b) the admin lock covers every /_mock route ----------------------------------------------------------------

LOCK = "lock-token-8a7b6c5d"
_LOCKED_APP = create_app(State.from_config(Config(admin_token=LOCK)))
_SAMPLE_ARGS = {"rule_id": "r1", "message_id": "1", "request_id": "1", "index": "0"}
#: the dashboard's empty shell and its static files hold no data: a browser must load them to ask for the token
_UNLOCKED_ENDPOINTS = ui.PUBLIC_ENDPOINTS
ADMIN_ROUTES = sorted(
    (rule.rule, method)
    for rule in _LOCKED_APP.url_map.iter_rules()
    if rule.rule.startswith("/_mock") and rule.endpoint not in _UNLOCKED_ENDPOINTS
    for method in sorted(rule.methods or ())
)


def _concrete(rule: str) -> str:
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: _SAMPLE_ARGS.get(m.group(1), "x"), rule)


def test_the_route_table_has_admin_routes() -> None:
    rules = {rule for rule, _ in ADMIN_ROUTES}
    assert {"/_mock/health", "/_mock/config", "/_mock/requests", "/_mock/messages", "/_mock/faults"} <= rules
    assert not [
        r.rule for r in _LOCKED_APP.url_map.iter_rules() if "_mock" in r.rule and not r.rule.startswith("/_mock")
    ]


@pytest.mark.parametrize(("rule", "method"), ADMIN_ROUTES, ids=[f"{m} {r}" for r, m in ADMIN_ROUTES])
def test_every_admin_route_refuses_without_the_admin_token(rule: str, method: str) -> None:
    path = _concrete(rule)
    with _LOCKED_APP.test_client() as client:
        for headers in (
            {},
            {"X-Cxmock-Admin-Token": "wrong"},
            {"Authorization": "Bearer wrong"},
            {"Authorization": LOCK},
        ):
            response = client.open(path, method=method, headers=headers, json={})
            assert response.status_code == 401, (method, path, headers, response.status_code, response.data[:200])
            assert response.headers.get("WWW-Authenticate", "").startswith("Bearer")
            if method != "HEAD":
                body = response.get_json()
                assert set(body) == {"message"} and "--admin-token" in body["message"]
        # the right token opens it (so the 401s above are the lock, not something else)
        response = client.open(path, method=method, headers={"X-Cxmock-Admin-Token": LOCK}, json={})
        assert response.status_code != 401, (method, path, response.data[:200])


# -- (c) direct mode: the allow-list, decided on resolved addresses, no socket to a refused host ----------------

#: the injected resolver: name -> addresses (a name not listed raises, like NXDOMAIN)
RESOLVER = {
    "allowed.example": ["127.0.0.1"],
    "internal.example": ["10.1.2.3"],
    "rebind.example": ["127.0.0.1", "10.0.0.5"],
    "metadata.example": ["169.254.169.254"],
    "v6-private.example": ["fd00::1"],
    "mapped.example": ["::ffff:10.0.0.1"],
    "unspecified.example": ["0.0.0.0"],
    "localhost.evil.example": ["10.0.0.1"],
    "not-an-address.example": ["evil.example.org"],
    "localhost": ["127.0.0.1"],
}
REFUSED = [
    "0.0.0.0",
    "10.0.0.1",
    "169.254.169.254",
    "192.168.1.1",
    "8.8.8.8",
    "::",
    "[::]",
    "::ffff:a00:1",
    "[::ffff:a00:1]",
    "fd00::1",
    "255.255.255.255",
    "224.0.0.1",
    "127.1",
    "2130706433",
    "0x7f000001",
    "0177.0.0.1",
    "internal.example",
    "rebind.example",
    "metadata.example",
    "v6-private.example",
    "mapped.example",
    "unspecified.example",
    "localhost.evil.example",
    "not-an-address.example",
]


class SocketSpy:
    """Records every outgoing connect() of the process; refuses any to an address other than 127.0.0.1 (so even
    a broken allow-list could not reach a foreign host from this test)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[Any] = []
        real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex

        def check(address: Any) -> None:
            self.calls.append(address)
            if not (isinstance(address, tuple) and address[0] == "127.0.0.1"):
                raise ConnectionRefusedError(f"test: connect to {address!r} blocked")

        def connect(sock: socket.socket, address: Any) -> None:
            check(address)
            real_connect(sock, address)

        def connect_ex(sock: socket.socket, address: Any) -> int:
            check(address)
            return real_connect_ex(sock, address)

        monkeypatch.setattr(socket.socket, "connect", connect)
        monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)


@pytest.fixture
def direct(
    make_server: Callable[..., MockServer], monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[MockServer, SocketSpy]]:
    server = make_server(smtp_mode="direct", smtp_timeout=5.0)
    lookups: list[str] = []

    def resolve(host: str) -> list[str]:
        lookups.append(host)
        if host not in RESOLVER:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known (test resolver)")
        return RESOLVER[host]

    monkeypatch.setattr("mockserver.runtime.smtp_path._resolve", resolve)
    spy = SocketSpy(monkeypatch)
    yield server, spy


def _testconnection(server: MockServer, host: str, port: int) -> requests.Response:
    body = {
        "host": host,
        "port": port,
        "encryptionType": "None",
        "fromAddress": "noreply@example.org",
        "useDefaultCredentials": True,
        "recieverEmail": "admin@example.org",
    }
    headers = {**server.auth_headers(), "Content-Type": JSON_V1}
    return requests.post(server.api_url + "/SMTPSettings/testconnection", json=body, headers=headers, timeout=TIMEOUT)


@pytest.mark.parametrize("host", REFUSED)
def test_direct_mode_refuses_hosts_outside_the_allow_list_without_a_socket(
    direct: tuple[MockServer, SocketSpy], host: str
) -> None:
    server, spy = direct
    with _testconnection(server, host, server.sink.smtp_port) as response:
        assert response.status_code == 400, response.text
        body = response.json()
    http_only = [("127.0.0.1", server.http_port)]
    assert [tuple(a[:2]) for a in spy.calls] == http_only, f"a socket was opened: {spy.calls}"
    assert set(body) == {"message"}, body
    assert json.dumps(host)[1:-1] in body["message"] and "--smtp-allow" in body["message"], body
    assert server.sink.messages == []


def test_direct_mode_unresolvable_host_fails_at_connect_without_a_socket(direct: tuple[MockServer, SocketSpy]) -> None:
    server, spy = direct
    with _testconnection(server, "nxdomain.example", 25) as response:
        assert response.status_code == 400
        body = response.json()
    assert set(body) == {"message"} and "cannot resolve host" in body["message"], body
    assert [tuple(a[:2]) for a in spy.calls] == [("127.0.0.1", server.http_port)]


@pytest.mark.parametrize("host", ["127.0.0.1", "allowed.example", "localhost"])
def test_direct_mode_connects_to_allowed_loopback_hosts(direct: tuple[MockServer, SocketSpy], host: str) -> None:
    """The control: an allowed host is dialled (so the refusals above are the allow-list at work)."""
    server, spy = direct
    with _testconnection(server, host, server.sink.smtp_port) as response:
        assert response.status_code == 200, response.text
    assert ("127.0.0.1", server.sink.smtp_port) in [tuple(a[:2]) for a in spy.calls]
    assert len(server.sink.wait_for(1, TIMEOUT)) == 1


# -- (d) no unescaped echo -----------------------------------------------------------------------------------------

MARKUP = "<script>alert('x\"y')</script>"
ENCODED = "%3Cscript%3Ealert('x%22y')%3C%2Fscript%3E"


def _echo_requests(server: MockServer) -> list[tuple[str, str, dict[str, str], Any]]:
    api = server.api_url
    token = server.token()
    auth = {"Authorization": f"Bearer {token}", "Accept": JSON_V1, "Content-Type": JSON_V1}
    admin = {"X-Cxmock-Admin-Token": ADMIN_TOKEN}
    valid = smtp_fields("pw-echo")
    return [
        ("GET", f"{api}/SMTPSettings/{ENCODED}", auth, None),
        ("GET", f"{api}/SMTPSettings/%0d%0aX-Injected:%20yes", auth, None),
        ("DELETE", f"{api}/SMTPSettings/%22%27%3E", auth, None),
        ("GET", f"{api}/{ENCODED}", auth, None),
        ("PATCH", f"{api}/SMTPSettings/{ENCODED}", auth, None),
        ("GET", f"{server.base_url}/{ENCODED}%0d%0aSet-Cookie:%20a=b", auth, None),
        ("POST", f"{api}/SMTPSettings", auth, {**valid, "host": MARKUP}),
        ("POST", f"{api}/SMTPSettings", auth, {**valid, "fromAddress": MARKUP + "@example.org"}),
        ("POST", f"{api}/SMTPSettings", auth, {**valid, "encryptionType": MARKUP}),
        ("POST", f"{api}/SMTPSettings", auth, {**valid, "port": MARKUP}),
        ("POST", f"{api}/SMTPSettings", auth, {**valid, "useDefaultCredentials": MARKUP}),
        ("POST", f"{api}/SMTPSettings", auth, {**valid, "password": MARKUP, "port": 0}),
        ("POST", f"{api}/SMTPSettings", auth, {MARKUP: 1, "hots": MARKUP}),
        ("POST", f"{api}/SMTPSettings", auth, MARKUP.encode()),
        ("POST", f"{api}/SMTPSettings/testconnection", auth, {**valid, "recieverEmail": MARKUP}),
        ("GET", f"{api}/SMTPSettings", {**auth, "Accept": MARKUP}, None),
        ("GET", f"{api}/SMTPSettings", {**auth, "Accept": f"application/json;v={MARKUP}"}, None),
        ("POST", f"{api}/SMTPSettings", {**auth, "Content-Type": MARKUP}, valid),
        ("POST", f"{api}/SMTPSettings", {**auth, "Content-Type": f"application/json;v={MARKUP}"}, valid),
        ("GET", f"{api}/SMTPSettings", {**auth, "Authorization": f"Bearer {MARKUP}"}, None),
        ("GET", f"{api}/SMTPSettings", {**auth, "Authorization": MARKUP}, None),
        ("POST", f"{api}/SMTPSettings", {**auth, "cxOrigin": MARKUP}, valid),
        ("POST", f"{api}/identity/connect/token", {"Content-Type": MARKUP}, b"grant_type=password"),
        ("POST", f"{api}/identity/connect/token", {"Content-Type": FORM}, f"grant_type={ENCODED}".encode()),
        (
            "POST",
            f"{api}/identity/connect/token",
            {"Content-Type": FORM},
            "grant_type=password&username=admin&password=admin&client_id=resource_owner_client"
            f"&client_secret=014DF517-39D1-4453-B7B3-9930C563627C&scope={ENCODED}".encode(),
        ),
        ("POST", f"{api}/identity/connect/token", {"Content-Type": FORM}, f"client_id={ENCODED}".encode()),
        ("GET", f"{server.base_url}/_mock/faults/{ENCODED}", admin, None),
        ("DELETE", f"{server.base_url}/_mock/faults/{ENCODED}", admin, None),
        ("POST", f"{server.base_url}/_mock/faults", admin, {"match": {"path": MARKUP}, "action": {"type": MARKUP}}),
        ("POST", f"{server.base_url}/_mock/faults", admin, {"preset": MARKUP}),
        (
            "POST",
            f"{server.base_url}/_mock/faults",
            admin,
            {"match": {"path": "/x"}, "action": {"type": "status", "status": 418}, MARKUP: 1},
        ),
        ("GET", f"{server.base_url}/_mock/messages/{ENCODED}", admin, None),
        ("GET", f"{server.base_url}/_mock/messages?wait={ENCODED}", admin, None),
        ("GET", f"{server.base_url}/_mock/messages?since={ENCODED}", admin, None),
        ("GET", f"{server.base_url}/_mock/requests?since={ENCODED}", admin, None),
        ("GET", f"{server.base_url}/_mock/violations?format={ENCODED}", admin, None),
        ("GET", f"{server.base_url}/_mock/violations?min_severity={ENCODED}", admin, None),
        ("POST", f"{server.base_url}/_mock/seed?persist=false", admin, [{"host": MARKUP}]),
        ("GET", f"{server.base_url}/_mock/config", {"X-Cxmock-Admin-Token": MARKUP}, None),
        # the journal, the violations and the mail echo the hostile requests above: as data, escaped
        ("GET", f"{server.base_url}/_mock/requests", admin, None),
        ("GET", f"{server.base_url}/_mock/violations", admin, None),
        ("GET", f"{server.base_url}/_mock/messages", admin, None),
    ]


def test_no_response_echoes_input_unescaped(make_server: Callable[..., MockServer]) -> None:
    server = make_server(admin_token=ADMIN_TOKEN)
    problems: list[str] = []
    with requests.Session() as http:
        created = http.post(
            server.api_url + "/SMTPSettings",
            json=smtp_fields("pw"),
            headers={**server.auth_headers(), "Content-Type": JSON_V1, "cxOrigin": MARKUP},
            timeout=TIMEOUT,
        )
        assert created.status_code == 201
        assert re.fullmatch(
            r"(?:http://127\.0\.0\.1:\d+)?/cxrestapi/auth/SMTPSettings/[1-9][0-9]*", created.headers["Location"]
        )
        for method, url, headers, body in _echo_requests(server):
            kwargs: dict[str, Any] = {"data": body} if isinstance(body, bytes) else {"json": body}
            response = http.request(method, url, headers=headers, timeout=TIMEOUT, **kwargs)
            where = f"{method} {url[:100]} -> {response.status_code}"
            if response.status_code >= 500:
                problems.append(f"{where}: a 5xx")
            for name, value in response.headers.items():
                if "\r" in value or "\n" in value or name.lower() in ("x-injected", "set-cookie"):
                    problems.append(f"{where}: header {name}: {value!r}")
                if name.lower() == "location" and not re.fullmatch(r"[A-Za-z0-9/_:.\-]+", value):
                    problems.append(f"{where}: Location {value!r}")
            text = response.content.decode("utf-8", "replace")
            if response.status_code >= 400 or "json" in response.headers.get("Content-Type", ""):
                for raw in ("<", ">", "\r", "\n"):
                    if raw in text:
                        problems.append(f"{where}: raw {raw!r} in the body: {text[:200]!r}")
    assert not problems, "\n".join(problems)
