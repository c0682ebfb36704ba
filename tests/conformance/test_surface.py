"""One set of tests over every kind of cxmock handle (#21): each public member of :class:`mockserver.MockSurface`
behaves the same in process, in an in-process sandbox, against ``cxmock serve`` and in one of its sandboxes, journal
counts included. The ``surface`` and ``mode`` fixtures are in ``conftest.py``.
"""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests

from mockserver import AssertionHelperError, ConfigError, CxMockError, JournalEntry, MockSurface
from mockserver.core.contract import JSON_V1
from mockserver.core.surface import FaultRules, FaultRulesHandle, MailMessage, MailSink

TIMEOUT = 30
DEFAULT_HOST = "pod55017.outlook.com"  # the default seed's record
RECORD = {
    "host": "mx.check.org",
    "port": 2525,
    "encryptionType": "None",
    "fromAddress": "a@check.org",
    "useDefaultCredentials": True,
}
TESTCONNECTION = {
    "host": "smtp.example.org",
    "port": 587,
    "encryptionType": "Tls",
    "fromAddress": "noreply@check.org",
    "recieverEmail": "ops@check.org",
    "useDefaultCredentials": False,
    "username": "mailer",
    "password": "pw",
}
SANDBOX_LISTING_KEYS = {
    "name",
    "path",
    "createdAt",
    "lastUsedAt",
    "expiresInSeconds",
    "settings",
    "requests",
    "messages",
    "faultRules",
}


def _get(surface: MockSurface, path: str = "/SMTPSettings", headers: dict[str, str] | None = None) -> Any:
    response = requests.get(surface.api_url + path, headers=headers or surface.auth_headers(), timeout=TIMEOUT)
    return response


def _hosts(surface: MockSurface) -> list[str]:
    response = _get(surface)
    assert response.status_code == 200, response.text
    return [record["host"] for record in response.json()]


def _send(surface: MockSurface, subject: str, local_part: str = "ops") -> None:
    """Mail straight to the sink, addressed to the handle's sandbox (a ``+sandbox-<name>`` sub-address)."""
    tag = f"+sandbox-{surface.sandbox_name}" if surface.sandbox_name else ""
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "app@check.org", f"{local_part}{tag}@check.org", subject
    message.set_content("hello")
    with smtplib.SMTP("127.0.0.1", surface.sink.smtp_port, timeout=TIMEOUT) as smtp:
        smtp.send_message(message)


def test_every_handle_is_a_mock_surface(surface: MockSurface) -> None:
    assert isinstance(surface, MockSurface)
    assert isinstance(surface.sink, MailSink) and isinstance(surface.faults, FaultRules)


def test_addresses_ports_and_ca(surface: MockSurface, mode: str) -> None:
    assert (surface.sandbox_name is not None) == mode.endswith("sandbox")
    if surface.sandbox_name is not None:
        assert surface.base_url.endswith("/sandbox/" + surface.sandbox_name)
    assert surface.api_url == surface.base_url + "/cxrestapi/auth"
    assert surface.base_url.startswith(f"http://127.0.0.1:{surface.http_port}")
    ports = surface.ports()
    assert set(ports) == {"http", "smtp", "smtps"} and ports["http"] == surface.http_port
    assert surface.sink.ports == {"smtp": ports["smtp"], "smtps": ports["smtps"]}
    assert (surface.sink.smtp_port, surface.sink.smtps_port) == (ports["smtp"], ports["smtps"])
    assert surface.ca_pem.startswith(b"-----BEGIN CERTIFICATE-----") and surface.sink.ca_pem == surface.ca_pem
    surface.check()  # a server that answers: nothing to raise
    assert surface.requests() == []


def test_tokens_and_auth_headers_journal_nothing(surface: MockSurface) -> None:
    """The bug of #21: remote ``auth_headers()`` called the token endpoint each time, journaled."""
    claims = jwt.decode(surface.token(), options={"verify_signature": False})
    assert claims["name"] == "admin" and claims["exp"] - claims["iat"] == 3600
    assert claims["iss"] == surface.base_url + "/cxrestapi/auth/identity"
    assert claims.get("cxmock_sandbox") == surface.sandbox_name
    viewer = jwt.decode(surface.token("viewer", "viewer", lifetime=30), options={"verify_signature": False})
    assert viewer["name"] == "viewer" and viewer["exp"] - viewer["iat"] == 30
    with pytest.raises(ConfigError, match="cannot issue a token for 'admin'"):
        surface.token("admin", "wrong")
    with pytest.raises(ConfigError, match="cannot issue a token for 'admin'"):
        surface.auth_headers("admin", "wrong")

    headers = surface.auth_headers()
    assert headers == surface.auth_headers()  # reused
    assert headers["Accept"] == JSON_V1 and headers["Authorization"].startswith("Bearer ey")
    assert surface.auth_headers("viewer", "viewer") != headers
    assert surface.requests() == []  # minting is never journaled

    expired = {"Authorization": f"Bearer {surface.token(lifetime=0)}", "Accept": JSON_V1}
    assert _get(surface, headers=expired).status_code == 401
    assert _get(surface).status_code == 200
    assert [(e.operation_id, e.status) for e in surface.requests()] == [
        ("getAllSmtpSettings", 401),
        ("getAllSmtpSettings", 200),
    ]


def test_journal_requests_filters_and_assertions(surface: MockSurface) -> None:
    headers = surface.auth_headers()
    assert _get(surface, headers=headers).status_code == 200
    assert _get(surface, "/SMTPSettings/999", headers=headers).status_code == 404
    assert _get(surface, headers={"Authorization": headers["Authorization"]}).status_code == 200  # no v=1.0

    everything = surface.requests()
    assert len(everything) == 3 and all(isinstance(e, JournalEntry) for e in everything)
    assert [e.path for e in everything] == [  # without the sandbox prefix, in every mode
        "/cxrestapi/auth/SMTPSettings",
        "/cxrestapi/auth/SMTPSettings/999",
        "/cxrestapi/auth/SMTPSettings",
    ]
    assert [e.user for e in everything] == ["admin"] * 3
    assert len(surface.requests(operation_id="getAllSmtpSettings")) == 2
    assert [e.status for e in surface.requests(status="4xx")] == [404]
    assert [e.path for e in surface.requests(method="get", path="/cxrestapi/auth/SMTPSettings/*")] == [
        "/cxrestapi/auth/SMTPSettings/999"
    ]
    (entry,) = surface.assert_called("getSmtpSettingsById", times=1, status=404)
    assert entry.status == 404
    with pytest.raises(AssertionHelperError, match="Did you mean operationId 'getAllSmtpSettings'"):
        surface.assert_called("getAllSmtpSetting", times=2)
    with pytest.raises(AssertionHelperError, match="version-missing"):
        surface.assert_no_violations("info")  # a missing v=1.0 is style (info) since #22
    surface.reset()
    assert surface.requests() == []
    surface.assert_no_violations()


def test_seed_and_reset(surface: MockSurface) -> None:
    assert _hosts(surface) == [DEFAULT_HOST]
    surface.seed([RECORD], persist=False)
    assert _hosts(surface) == ["mx.check.org"]
    surface.reset()
    assert _hosts(surface) == [DEFAULT_HOST]
    surface.seed([RECORD, {**RECORD, "host": "mx2.check.org"}])  # persist: the new seed of every reset
    surface.reset()
    assert _hosts(surface) == ["mx.check.org", "mx2.check.org"]
    assert len(surface.requests()) == 1  # the reset cleared the journal before it
    with pytest.raises(CxMockError):
        surface.seed([{"host": 5}])


def test_fault_rules_and_handles(surface: MockSurface, tmp_path: Path) -> None:
    headers = surface.auth_headers()
    faults = surface.faults
    with faults.add(match={"method": "GET"}, action={"type": "status", "status": 503}, times=1) as fault:
        assert isinstance(fault, FaultRulesHandle) and fault.ids == (fault.id,)
        assert fault.active and fault.hits == 0 and len(faults) == 1
        assert [rule["id"] for rule in faults.list()] == [fault.id]
        assert _get(surface, headers=headers).status_code == 503
        assert fault.hits == 1 and fault.seen == 1 and fault.info()[0]["remaining"] == 0
    assert faults.list() == [] and not fault.active and fault.hits == 1
    assert fault.remove() is False
    assert _get(surface, headers=headers).status_code == 200
    assert [f["ruleId"] for f in faults.firings()] == [fault.id]
    assert [len(e.faults) for e in surface.requests()] == [1, 0]

    assert "flaky-5xx" in faults.preset_names()
    flaky = faults.preset("flaky-5xx")
    assert len(faults) == len(flaky.ids) >= 1
    assert faults.remove(flaky.id) is True and faults.remove(flaky.id) is False
    dropped = faults.add({"action": "drop", "times": 1})
    assert faults.remove(dropped) is True and len(faults) == 0
    rules = tmp_path / "rules.yaml"
    rules.write_text("- match: {method: PUT}\n  action: {type: status, status: 500}\n", encoding="utf-8")
    loaded = faults.load(str(rules), "flaky-5xx")
    assert len(loaded.ids) == len(faults) == 1 + len(flaky.ids)
    faults.clear()
    assert len(faults) == 0
    with pytest.raises(ConfigError, match="action"):
        faults.add(action={"type": "status", "status": "x"})
    with pytest.raises(TypeError, match="not both"):
        faults.add({"action": "drop"}, times=1)
    faults.add(action="drop", times=1)
    surface.reset()  # removes the rules added here
    assert len(faults) == 0 and faults.list() == []


def test_mail_sink_messages_wait_for_and_clear(surface: MockSurface) -> None:
    body = {**TESTCONNECTION}
    headers = {**surface.auth_headers(), "Content-Type": "application/json;v=1.0"}
    url = surface.api_url + "/SMTPSettings/testconnection"
    assert requests.post(url, json=body, headers=headers, timeout=TIMEOUT).status_code == 200
    (mail,) = surface.sink.wait_for(count=1, timeout=10, to="ops@check.org")
    assert isinstance(mail, MailMessage)
    assert mail.testconnection is not None and mail.tls is not None and mail.auth_user == "mailer"
    assert mail.raw_truncated is False and mail.size > 0 and mail.raw.startswith(b"") and mail.listener
    assert mail.to_dict()["id"] == mail.id and mail.summary().startswith(f"#{mail.id} ")
    assert len(surface.requests()) == 1  # the testconnection; no token request

    _send(surface, "first")
    _send(surface, "second", local_part="b")
    assert [m.subject for m in surface.sink.wait_for(count=2, timeout=10, from_="app@")] == ["first", "second"]
    assert [m.subject for m in surface.sink.wait_for(subject="sec")] == ["second"]
    first_id = surface.sink.messages[1].id
    assert [m.subject for m in surface.sink.wait_for(since=first_id)] == ["second"]
    assert len(surface.sink.messages) == 3
    with pytest.raises(AssertionHelperError) as failed:
        surface.sink.wait_for(count=1, timeout=0, to="nobody@check.org")
    assert "to='nobody@check.org'" in str(failed.value) and "subject='first'" in str(failed.value)
    with pytest.raises(ValueError, match="count"):
        surface.sink.wait_for(count=0)
    surface.sink.clear()
    assert list(surface.sink.messages) == []
    _send(surface, "again")
    surface.reset()
    assert list(surface.sink.messages) == [] and surface.requests() == []


def test_sandbox_management(surface: MockSurface) -> None:
    fresh = surface.create_sandbox()
    name = fresh.sandbox_name
    assert name is not None and name.startswith("sb-") and isinstance(fresh, MockSurface)
    assert type(fresh) is type(surface.sandbox(name))
    assert fresh.base_url.endswith("/sandbox/" + name) and fresh.requests() == []
    listed = {s["name"]: s for s in surface.list_sandboxes()}
    assert set(listed[name]) == SANDBOX_LISTING_KEYS and listed[name]["path"] == "/sandbox/" + name
    with pytest.raises(CxMockError, match="exists already"):
        surface.create_sandbox(name)

    named = surface.create_sandbox("conformance-x")
    assert named.sandbox_name == "conformance-x"
    assert _get(named).status_code == 200
    assert len(named.requests()) == 1 and fresh.requests() == []  # isolated from each other
    named.delete_sandbox()  # its own
    surface.delete_sandbox(name)  # by name
    remaining = {s["name"] for s in surface.list_sandboxes()}
    assert name not in remaining and "conformance-x" not in remaining
    with pytest.raises(CxMockError, match="no sandbox"):
        surface.delete_sandbox(name)
    with pytest.raises(CxMockError, match="invalid sandbox name"):
        surface.sandbox("../etc")

    if surface.sandbox_name is None:
        with pytest.raises(ConfigError, match="server root"):
            surface.delete_sandbox()
    else:  # a handle outlives its sandbox: the next use works on a fresh one, with fresh tokens
        assert _get(surface).status_code == 200
        surface.delete_sandbox()
        assert surface.sandbox_name not in {s["name"] for s in surface.list_sandboxes()}
        assert _get(surface).status_code == 200
        assert len(surface.requests()) == 1
