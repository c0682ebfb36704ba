"""Sandboxes through real sockets: ``/sandbox/<name>`` is an isolated instance of the whole mock (issue #15).

Records, faults (with their ``times``/``after`` counters and seeded probabilities), journal, violations, mail and
resets of one sandbox never show in, or change, another sandbox or the root.
"""

from __future__ import annotations

import http.client
import smtplib
import threading
from collections.abc import Callable
from typing import Any

import pytest
import requests

from mockserver.core.contract import JSON_V1
from mockserver.runtime.sandboxes import MockSandbox
from mockserver.runtime.server import MockServer

NEW = {
    "host": "smtp.a.example",
    "port": 25,
    "encryptionType": "None",
    "fromAddress": "a@check.org",
    "useDefaultCredentials": True,
}
TEST = {
    "host": "smtp.x",
    "port": 587,
    "encryptionType": "Tls",
    "fromAddress": "a@check.org",
    "useDefaultCredentials": False,
    "username": "mailer",
    "password": "pw",
    "recieverEmail": "ops@check.org",
}


def _headers(where: MockServer | MockSandbox) -> dict[str, str]:
    return {**where.auth_headers(), "Content-Type": JSON_V1, "cxOrigin": "tests"}


def _list(where: MockServer | MockSandbox) -> list[dict[str, Any]]:
    response = requests.get(where.api_url + "/SMTPSettings", headers=_headers(where), timeout=10)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()
    return items


def _status(where: MockServer | MockSandbox) -> int:
    return requests.get(where.api_url + "/SMTPSettings", headers=_headers(where), timeout=10).status_code


def _raw_get(server: MockServer, path: str) -> tuple[int, str]:
    """A GET with the path exactly as written (no client-side dot-segment removal or quoting)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.http_port, timeout=10)
    try:
        conn.putrequest("GET", path, skip_accept_encoding=True)
        conn.endheaders()
        response = conn.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    finally:
        conn.close()


def test_records_journal_and_reset_stay_in_their_sandbox(server: MockServer) -> None:
    a, b = server.sandbox("a"), server.sandbox("b")
    created = requests.post(a.api_url + "/SMTPSettings", json=NEW, headers=_headers(a), timeout=10)
    assert created.status_code == 201
    # the Location is the record's URL in the sandbox
    assert created.headers["Location"] == "/sandbox/a/cxrestapi/auth/SMTPSettings/2"
    assert requests.get(server.base_url + created.headers["Location"], headers=_headers(a), timeout=10).ok
    assert [r["host"] for r in _list(a)] == ["pod55017.outlook.com", "smtp.a.example"]
    assert [r["host"] for r in _list(b)] == ["pod55017.outlook.com"]
    assert [r["host"] for r in _list(server)] == ["pod55017.outlook.com"]
    # each journal has its own requests, recorded with the path as the client would write it at the root
    assert [e.operation_id for e in a.requests()] == ["createSmtpSettings", "getSmtpSettingsById", "getAllSmtpSettings"]
    assert a.requests()[0].path == "/cxrestapi/auth/SMTPSettings"
    assert [e.operation_id for e in b.requests()] == ["getAllSmtpSettings"]
    assert [e.operation_id for e in server.requests()] == ["getAllSmtpSettings"]
    # a reset of b (over its admin API) leaves a alone; a reset of the root too
    assert requests.post(b.base_url + "/_mock/reset", timeout=10).ok
    server.reset()
    assert len(_list(a)) == 2
    assert len(a.requests()) == 4
    a.reset()
    assert len(_list(a)) == 1


def test_faults_counters_and_seeded_probabilities_are_per_sandbox(server: MockServer) -> None:
    a, b, c = server.sandbox("a"), server.sandbox("b"), server.sandbox("c")
    a.faults.add(match={"method": "GET"}, action={"type": "status", "status": 503}, times=2, after=1)
    statuses: dict[str, list[int]] = {"a": [], "b": [], "root": []}
    for _ in range(4):  # interleaved: b's and the root's requests must not move a's counters
        statuses["b"].append(_status(b))
        statuses["a"].append(_status(a))
        statuses["root"].append(_status(server))
    assert statuses == {"a": [200, 503, 503, 200], "b": [200] * 4, "root": [200] * 4}
    # the same probabilistic rule in b and c: the same seeded sequence, whatever happens in between elsewhere
    for where in (b, c):
        where.faults.add(match={"method": "GET"}, action={"type": "status", "status": 500}, probability=0.5)
    seq_b = [_status(b) for _ in range(12)]
    server.faults.add(match={"method": "GET"}, action={"type": "status", "status": 500}, probability=0.5)
    for _ in range(5):
        _status(server)  # the root draws from its own generator
    seq_c = [_status(c) for _ in range(12)]
    assert seq_b == seq_c and 500 in seq_b and 200 in seq_b
    assert len(a.faults) == 1 and len(b.faults) == 1 and len(server.faults) == 1


def test_violations_stay_in_their_sandbox(server: MockServer) -> None:
    a, b = server.sandbox("a"), server.sandbox("b")
    sloppy = requests.post(a.api_url + "/SMTPSettings", json=NEW, headers=a.auth_headers(), timeout=10)
    assert sloppy.status_code == 201  # no versioned Content-Type, no cxOrigin: violations
    assert a.requests()[0].violations
    with pytest.raises(AssertionError):
        a.assert_no_violations("info")  # style notes (info) since #22
    _list(b)
    b.assert_no_violations()
    server.assert_no_violations()


def test_testconnection_mail_and_smtp_faults_land_in_the_sandbox_whose_api_was_called(server: MockServer) -> None:
    a, b = server.sandbox("a"), server.sandbox("b")
    ok = requests.post(a.api_url + "/SMTPSettings/testconnection", json=TEST, headers=_headers(a), timeout=15)
    assert ok.status_code == 200, ok.text
    (message,) = a.sink.wait_for(count=1, timeout=5)
    assert message.auth_user == "mailer" and message.testconnection is not None
    assert message.testconnection["requestId"] == a.requests()[-1].id
    assert b.sink.messages == [] and server.sink.messages == []
    # an SMTP fault of a refuses a's sessions only
    a.faults.preset("smtp-auth-rejected")
    refused = requests.post(a.api_url + "/SMTPSettings/testconnection", json=TEST, headers=_headers(a), timeout=15)
    assert refused.status_code == 400 and "535" in refused.text
    accepted = requests.post(b.api_url + "/SMTPSettings/testconnection", json=TEST, headers=_headers(b), timeout=15)
    assert accepted.status_code == 200, accepted.text
    assert len(b.sink.wait_for(count=1, timeout=5)) == 1
    at_root = requests.post(
        server.api_url + "/SMTPSettings/testconnection", json=TEST, headers=_headers(server), timeout=15
    )
    assert at_root.status_code == 200
    assert len(server.sink.messages) == 1 and len(a.sink.messages) == 1


def test_mail_sent_straight_to_the_sink_is_addressed_by_auth_user_or_subaddress(server: MockServer) -> None:
    server.sandbox("ci-7"), server.sandbox("ci-8")  # an SMTP client routes to existing sandboxes only (#23)
    with smtplib.SMTP("127.0.0.1", server.sink.smtp_port, timeout=10) as smtp:
        smtp.login("ci-7/mailer", "secret")
        smtp.sendmail("app@check.org", ["ops@check.org"], b"Subject: by login\r\n\r\nhello\r\n")
    with smtplib.SMTP("127.0.0.1", server.sink.smtp_port, timeout=10) as smtp:
        smtp.sendmail("app@check.org", ["ops+sandbox-ci-8@check.org"], b"Subject: by recipient\r\n\r\nhello\r\n")
    with smtplib.SMTP("127.0.0.1", server.sink.smtp_port, timeout=10) as smtp:
        smtp.sendmail("app@check.org", ["ops@check.org"], b"Subject: unaddressed\r\n\r\nhello\r\n")
    (by_login,) = server.sandbox("ci-7").sink.messages
    assert by_login.subject == "by login" and by_login.auth_user == "mailer"
    assert [m.subject for m in server.sandbox("ci-8").sink.messages] == ["by recipient"]
    assert [m.subject for m in server.sink.messages] == ["unaddressed"]


@pytest.mark.parametrize(
    "path",
    [
        "/sandbox/../_mock/health",
        "/sandbox/%2e%2e/_mock/health",
        "/sandbox/" + "x" * 65 + "/_mock/health",
        "/sandbox/%C3%A9t%C3%A9/_mock/health",
        "/sandbox//_mock/health",
        "/sandbox/",
        "/sandbox",
        "/sandbox/CI/_mock/health",
    ],
)
def test_hostile_sandbox_names_are_a_400_naming_the_rule(server: MockServer, path: str) -> None:
    status, body = _raw_get(server, path)
    assert status == 400, body
    assert "sandbox" in body and ("a-z, 0-9" in body or "name is missing" in body)
    assert len(server.sandboxes.registry) == 0


def test_creating_past_the_maximum_is_a_429_that_says_what_to_do(make_server: Callable[..., MockServer]) -> None:
    server = make_server(max_sandboxes=2)
    assert _status(server.sandbox("a")) == 200
    created = requests.post(server.base_url + "/_mock/sandboxes", json={"name": "b"}, timeout=10)
    assert created.status_code == 201 and created.headers["Location"] == "/sandbox/b"
    posted = requests.post(server.base_url + "/_mock/sandboxes", json={"name": "c"}, timeout=10)
    assert posted.status_code == 429
    details = posted.json()["message"]
    assert "--max-sandboxes" in details and "DELETE /_mock/sandboxes/<name>" in details
    assert requests.delete(server.base_url + "/_mock/sandboxes/a", timeout=10).status_code == 204
    assert requests.post(server.base_url + "/_mock/sandboxes", json={"name": "c"}, timeout=10).status_code == 201
    assert requests.get(server.base_url + "/sandbox/c/_mock/health", timeout=10).status_code == 200


def test_a_request_to_a_sandbox_that_does_not_exist_is_a_404_and_creates_none(server: MockServer) -> None:
    """#23, #25 row 2/10: anonymous requests filled the registry; a dead report link or a mistyped name made one."""
    for path in ("/sandbox/typo/_mock/health", "/sandbox/typo/_mock/ui/", "/sandbox/typo/cxrestapi/auth/SMTPSettings"):
        missing = requests.get(server.base_url + path, timeout=10)
        assert missing.status_code == 404, path
        assert "no sandbox 'typo'" in missing.json()["message"] and "POST /_mock/sandboxes" in missing.json()["message"]
    token = requests.post(
        server.base_url + "/sandbox/typo/cxrestapi/auth/identity/connect/token",
        data={"grant_type": "password", "username": "admin", "password": "admin", "client_id": "resource_owner_client"},
        timeout=10,
    )
    assert token.status_code == 404
    assert requests.get(server.base_url + "/_mock/sandboxes", timeout=10).json()["sandboxes"] == []
    assert len(server.sandboxes.registry) == 0


def test_an_expired_sandbox_is_recreated_empty_on_next_use(make_server: Callable[..., MockServer]) -> None:
    server = make_server(sandbox_idle_timeout=60)
    now = [0.0]
    server.sandboxes.registry.clock = lambda: now[0]
    a = server.sandbox("a")
    requests.post(a.api_url + "/SMTPSettings", json=NEW, headers=_headers(a), timeout=10)
    now[0] += 59
    assert len(_list(a)) == 2  # used in time: kept (and the idle time starts again)
    now[0] += 61
    listing = requests.get(server.base_url + "/_mock/sandboxes", timeout=10).json()
    assert listing["sandboxes"] == []
    assert len(_list(a)) == 1  # the seed only
    assert [e.operation_id for e in a.requests()] == ["getAllSmtpSettings"]


def test_admin_routes_list_create_and_delete(server: MockServer) -> None:
    base = server.base_url + "/_mock/sandboxes"
    generated = requests.post(base, timeout=10)
    assert generated.status_code == 201
    name = generated.json()["name"]
    assert requests.post(base, json={"name": name}, timeout=10).status_code == 409
    requests.post(
        server.sandbox("a").api_url + "/SMTPSettings", json=NEW, headers=_headers(server.sandbox("a")), timeout=10
    )
    listing = requests.get(base, timeout=10).json()
    assert listing["maxSandboxes"] == 100 and listing["count"] == 2
    entry = {s["name"]: s for s in listing["sandboxes"]}["a"]
    assert (
        entry["settings"] == 2 and entry["requests"] == 1 and entry["messages"] == 0 and entry["path"] == "/sandbox/a"
    )
    assert entry["lastUsedAt"].endswith("Z")
    assert requests.delete(f"{base}/{name}", timeout=10).status_code == 204
    assert requests.delete(f"{base}/{name}", timeout=10).status_code == 404
    assert requests.delete(f"{base}/..", timeout=10).status_code in (400, 404)
    assert requests.post(base, json={"name": "Bad Name"}, timeout=10).status_code == 400
    assert requests.post(base, json=["x"], timeout=10).status_code == 400
    # managed at the root only
    inside = requests.get(server.base_url + "/sandbox/a/_mock/sandboxes", timeout=10)
    assert inside.status_code == 404 and "server root" in inside.text


def test_the_admin_token_locks_every_sandboxs_admin_api(make_server: Callable[..., MockServer]) -> None:
    server = make_server(admin_token="s3cret")
    wrong = {"X-Cxmock-Admin-Token": "guess"}
    for path in ("/sandbox/a/_mock/requests", "/sandbox/a/_mock/reset", "/sandbox/a/cxrestapi/auth/SMTPSettings"):
        # a request without the admin token (or with a wrong one) does not create the sandbox (#23)
        assert requests.post(server.base_url + path, headers=wrong, timeout=10).status_code == 404
        assert requests.get(server.base_url + path, timeout=10).status_code == 404
    assert requests.post(server.base_url + "/_mock/sandboxes", timeout=10).status_code == 401
    assert len(server.sandboxes.registry) == 0
    # the admin token's holder creates it by using it
    unlocked = requests.get(
        server.base_url + "/sandbox/a/_mock/requests", headers={"X-Cxmock-Admin-Token": "s3cret"}, timeout=10
    )
    assert unlocked.status_code == 200
    locked = requests.get(server.base_url + "/sandbox/a/_mock/requests", timeout=10)
    assert locked.status_code == 401
    assert requests.post(server.base_url + "/sandbox/a/_mock/reset", timeout=10).status_code == 401


def test_a_token_works_only_in_the_sandbox_that_issued_it(server: MockServer) -> None:
    a, b = server.sandbox("a"), server.sandbox("b")
    token_a = {"Authorization": a.auth_headers()["Authorization"], "Accept": JSON_V1}
    assert requests.get(a.api_url + "/SMTPSettings", headers=token_a, timeout=10).status_code == 200
    assert requests.get(b.api_url + "/SMTPSettings", headers=token_a, timeout=10).status_code == 401
    at_root = requests.get(server.api_url + "/SMTPSettings", headers=token_a, timeout=10)
    assert at_root.status_code == 401 and "issued by sandbox 'a'" in at_root.text
    root_token = {"Authorization": server.auth_headers()["Authorization"], "Accept": JSON_V1}
    assert requests.get(a.api_url + "/SMTPSettings", headers=root_token, timeout=10).status_code == 401
    # one key for the whole server: every sandbox publishes the same JWKS
    jwks = "/cxrestapi/auth/identity/.well-known/openid-configuration/jwks"
    assert requests.get(a.base_url + jwks, timeout=10).json() == requests.get(server.base_url + jwks, timeout=10).json()


def _scenario(where: MockSandbox) -> None:
    """One test's worth of traffic: token, list, create, read back, a faulted call, update, delete."""
    where.faults.add(
        match={"method": "GET", "path": "/cxrestapi/auth/SMTPSettings"},
        action={"type": "status", "status": 503},
        times=1,
        after=1,
    )
    session = requests.Session()
    headers = {**where.auth_headers(), "Content-Type": JSON_V1, "cxOrigin": "tests"}
    session.get(where.api_url + "/SMTPSettings", headers=headers, timeout=30)
    session.get(where.api_url + "/SMTPSettings", headers=headers, timeout=30)
    location = session.post(where.api_url + "/SMTPSettings", json=NEW, headers=headers, timeout=30).headers["Location"]
    record = where.base_url.rsplit("/sandbox/", 1)[0] + location
    session.get(record, headers=headers, timeout=30)
    session.put(record, json={**NEW, "port": 2525}, headers=headers, timeout=30)
    session.delete(record, headers=headers, timeout=30)
    session.get(where.api_url + "/SMTPSettings", headers=headers, timeout=30)
    session.close()


def test_the_same_scenario_in_eight_sandboxes_from_eight_threads_gives_eight_identical_journals(
    server: MockServer,
) -> None:
    sandboxes = [server.sandbox(f"worker-{i}") for i in range(8)]
    errors: list[BaseException] = []

    def run(where: MockSandbox) -> None:
        try:
            _scenario(where)
        except BaseException as exc:  # noqa: BLE001 - re-raised below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(s,)) for s in sandboxes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    journals = [[(e.method, e.path, e.status, e.operation_id, len(e.faults)) for e in s.requests()] for s in sandboxes]
    expected = [
        ("GET", "/cxrestapi/auth/SMTPSettings", 200, "getAllSmtpSettings", 0),
        ("GET", "/cxrestapi/auth/SMTPSettings", 503, "getAllSmtpSettings", 1),
        ("POST", "/cxrestapi/auth/SMTPSettings", 201, "createSmtpSettings", 0),
        ("GET", "/cxrestapi/auth/SMTPSettings/2", 200, "getSmtpSettingsById", 0),
        ("PUT", "/cxrestapi/auth/SMTPSettings/2", 204, "updateSmtpSettings", 0),
        ("DELETE", "/cxrestapi/auth/SMTPSettings/2", 204, "deleteSmtpSettings", 0),
        ("GET", "/cxrestapi/auth/SMTPSettings", 200, "getAllSmtpSettings", 0),
    ]
    assert journals == [expected] * 8
    assert server.requests() == []
    for where in sandboxes:
        where.assert_no_violations()


def test_a_sandbox_handle_survives_its_sandboxs_deletion(server: MockServer) -> None:
    a = server.sandbox("a")
    requests.post(a.api_url + "/SMTPSettings", json=NEW, headers=_headers(a), timeout=10)
    a.delete_sandbox()
    assert len(_list(a)) == 1  # the next use starts a fresh one
    assert a.ports()["http"] == server.http_port and a.ca_pem == server.ca_pem
    with pytest.raises(Exception, match="invalid sandbox name"):
        server.sandbox("../etc")


def test_delete_is_a_deprecated_alias_of_delete_sandbox(server: MockServer) -> None:
    a = server.sandbox("a")
    with pytest.deprecated_call(match="use delete_sandbox"):
        a.delete()
    assert server.list_sandboxes() == []


def test_the_dashboard_is_served_per_sandbox(server: MockServer) -> None:
    server.sandbox("a")
    base = server.base_url + "/sandbox/a/_mock/ui/"
    page = requests.get(base, timeout=10)
    assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
    # its URLs are relative: under the prefix they reach the sandbox's own assets
    for asset in ("static/app.css", "static/app.js"):
        assert f'"{asset}"' in page.text
        assert requests.get(base + asset, timeout=10).status_code == 200


def test_direct_mail_to_a_sandbox_that_does_not_exist_is_refused_with_452_and_creates_none(
    make_server: Callable[..., MockServer],
) -> None:
    server = make_server(max_sandboxes=1)
    with smtplib.SMTP("127.0.0.1", server.sink.smtp_port, timeout=10) as smtp:
        smtp.login("other/mailer", "secret")
        with pytest.raises(smtplib.SMTPDataError) as info:
            smtp.sendmail("app@check.org", ["ops@check.org"], b"Subject: x\r\n\r\nhello\r\n")
    assert info.value.smtp_code == 452 and b"no sandbox 'other'" in info.value.smtp_error
    with smtplib.SMTP("127.0.0.1", server.sink.smtp_port, timeout=10) as smtp:  # #23: a sub-address neither
        with pytest.raises(smtplib.SMTPDataError) as info:
            smtp.sendmail("app@check.org", ["ops+sandbox-ghost@check.org"], b"Subject: x\r\n\r\nhello\r\n")
    assert info.value.smtp_code == 452 and b"no sandbox 'ghost'" in info.value.smtp_error
    assert server.sink.messages == [] and len(server.sandboxes.registry) == 0
    server.sandbox("only")  # the admin's own create still has room
    assert len(server.sandboxes.registry) == 1


def test_a_sandboxs_smtp_faults_meet_direct_mail_that_names_it(server: MockServer) -> None:
    server.sandbox("ci-7").faults.preset("smtp-recipient-rejected")
    with smtplib.SMTP("127.0.0.1", server.sink.smtp_port, timeout=10) as smtp:
        smtp.login("ci-7/mailer", "secret")
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            smtp.sendmail("app@check.org", ["ops@check.org"], b"Subject: x\r\n\r\nhello\r\n")
    with smtplib.SMTP("127.0.0.1", server.sink.smtp_port, timeout=10) as smtp:  # the root: no such fault
        smtp.login("mailer", "secret")
        smtp.sendmail("app@check.org", ["ops@check.org"], b"Subject: x\r\n\r\nhello\r\n")
    assert len(server.sink.messages) == 1 and server.sandbox("ci-7").sink.messages == []


def test_a_sandbox_is_created_under_its_own_prefix_by_the_admin_api(make_server: Callable[..., MockServer]) -> None:
    server = make_server(admin_token="s3cret")
    admin = {"X-Cxmock-Admin-Token": "s3cret"}
    url = server.base_url + "/sandbox/ci-3/_mock/sandbox"
    # behind the admin API's lock and doors: no token, a form, another origin create nothing
    assert requests.post(url, json={}, timeout=10).status_code == 401
    form = requests.post(url, data={"a": "1"}, headers={**admin}, timeout=10)
    assert form.status_code == 415 and "JSON" in form.json()["message"]
    other = requests.post(url, json={}, headers={**admin, "Origin": "http://evil.example"}, timeout=10)
    assert other.status_code == 403
    assert len(server.sandboxes.registry) == 0
    created = requests.post(url, json={}, headers=admin, timeout=10)
    assert created.status_code == 201 and created.headers["Location"] == "/sandbox/ci-3"
    assert created.json() == {"name": "ci-3", "path": "/sandbox/ci-3"}
    again = requests.post(url, json={}, headers=admin, timeout=10)
    assert again.status_code == 409 and "exists already" in again.json()["message"]
    at_root = requests.post(server.base_url + "/_mock/sandbox", json={}, headers=admin, timeout=10)
    assert at_root.status_code == 404 and "POST /_mock/sandboxes" in at_root.json()["message"]
