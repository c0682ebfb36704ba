"""``RemoteServer`` against a real ``MockServer``: what a test reads is the same as in process (#6)."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from email.message import EmailMessage

import jwt
import pytest
import requests

from mockserver.core.journal.entry import JournalEntry
from mockserver.core.lint.lint import Violation
from mockserver.core.mail.store import CapturedMessage
from mockserver.errors import AssertionHelperError, ConfigError
from mockserver.remote.server import RemoteFaultHandle, RemoteMessage, RemoteServer
from mockserver.runtime.server import MockServer

TIMEOUT = 10
BODY = {
    "host": "smtp.example.org",
    "port": 587,
    "encryptionType": "Tls",
    "fromAddress": "noreply@check.org",
    "recieverEmail": "ops@check.org",
    "useDefaultCredentials": False,
    "username": "mailer",
    "password": "pw",
}
MESSAGE_FIELDS = (
    "id received_at mail_from rcpt_tos subject from_ to date message_id text size peer listener tls auth_user "
    "testconnection transcript raw raw_truncated"
).split()


@pytest.fixture(scope="module")
def local() -> Iterator[MockServer]:
    with MockServer(host="127.0.0.1") as server:
        yield server


@pytest.fixture
def remote(local: MockServer) -> RemoteServer:
    local.reset()
    return RemoteServer(local.base_url, timeout=TIMEOUT)


def _headers(remote: RemoteServer) -> dict[str, str]:
    return {**remote.auth_headers(), "Content-Type": "application/json;v=1.0", "cxOrigin": "test_remote"}


def test_sink_gives_message_objects_like_the_local_sink(local: MockServer, remote: RemoteServer) -> None:
    url = remote.api_url + "/SMTPSettings/testconnection"
    assert requests.post(url, json=BODY, headers=_headers(remote), timeout=30).status_code == 200
    (mail,) = remote.sink.wait_for(count=1, timeout=5, to="ops@check.org")
    assert isinstance(mail, RemoteMessage)
    assert mail.tls is not None and mail.auth_user == "mailer"  # the README's pytest example
    assert mail.testconnection is not None and mail.transcript
    (captured,) = local.sink.messages
    assert isinstance(captured, CapturedMessage)
    for name in MESSAGE_FIELDS:
        assert getattr(mail, name) == getattr(captured, name), name
    assert mail.to_dict() == captured.to_dict()
    assert mail.summary() == captured.summary()
    assert [m.to_dict() for m in remote.sink.messages] == [captured.to_dict()]


def test_sink_filters_and_timeout(local: MockServer, remote: RemoteServer) -> None:
    for subject, rcpt in (("first", "a@check.org"), ("second", "b@check.org")):
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = "me@check.org", rcpt, subject
        msg.set_content("hello")
        with smtplib.SMTP("127.0.0.1", remote.sink.smtp_port, timeout=TIMEOUT) as smtp:
            smtp.send_message(msg)
    assert [m.subject for m in remote.sink.wait_for(count=2, timeout=5)] == ["first", "second"]
    assert [m.subject for m in remote.sink.wait_for(to="b@check.org")] == ["second"]
    assert [m.subject for m in remote.sink.wait_for(from_="me@", subject="fir")] == ["first"]
    first_id = remote.sink.messages[0].id
    assert [m.subject for m in remote.sink.wait_for(since=first_id)] == ["second"]
    with pytest.raises(AssertionHelperError) as failed:
        remote.sink.wait_for(count=1, timeout=0, to="nobody@check.org")
    assert "to='nobody@check.org'" in str(failed.value) and "subject='first'" in str(failed.value)
    remote.sink.clear()
    assert remote.sink.messages == []


def test_requests_are_journal_entries_and_filters_reach_the_server(local: MockServer, remote: RemoteServer) -> None:
    url = remote.api_url + "/SMTPSettings"
    headers = remote.auth_headers()
    assert requests.get(url, headers=headers, timeout=TIMEOUT).status_code == 200
    assert requests.get(url + "/999", headers=headers, timeout=TIMEOUT).status_code == 404
    assert requests.get(url, headers={"Authorization": headers["Authorization"]}, timeout=TIMEOUT).ok  # no ;v=1.0

    everything = remote.requests()
    assert all(isinstance(e, JournalEntry) for e in everything)
    assert [e.to_dict() for e in everything] == [e.to_dict() for e in local.requests()]
    assert everything == local.requests()  # the same dataclass, field by field
    listed = remote.requests(operation_id="getAllSmtpSettings")
    assert len(listed) == 2 and {e.operation_id for e in listed} == {"getAllSmtpSettings"}
    assert [e.status for e in remote.requests(status="4xx")] == [404]
    assert [e.path for e in remote.requests(method="get", path="/cxrestapi/auth/SMTPSettings/*")] == [
        "/cxrestapi/auth/SMTPSettings/999"
    ]
    violations = [v for e in everything for v in e.violations]
    assert violations and all(isinstance(v, Violation) for v in violations)
    with pytest.raises(AssertionHelperError, match="version-missing"):
        remote.assert_no_violations("info")  # a missing v=1.0 is style (info) since #22


def test_assert_called_fails_like_the_local_one(local: MockServer, remote: RemoteServer) -> None:
    url = remote.api_url + "/SMTPSettings"
    assert requests.get(url, headers=remote.auth_headers(), timeout=TIMEOUT).status_code == 200
    (entry,) = remote.assert_called("getAllSmtpSettings", times=1, status=200)
    assert entry.status == 200
    with pytest.raises(AssertionHelperError) as remote_failure:
        remote.assert_called("getAllSmtpSetting", times=2, status="2xx")
    with pytest.raises(AssertionHelperError) as local_failure:
        local.assert_called("getAllSmtpSetting", times=2, status="2xx")
    message = str(remote_failure.value)
    assert message == str(local_failure.value)
    assert "Did you mean operationId 'getAllSmtpSettings'?" in message
    with pytest.raises(TypeError, match="did you mean 'status'"):
        remote.assert_called("getAllSmtpSettings", stauts=200)


def test_fault_handle_is_a_context_manager(remote: RemoteServer) -> None:
    url = remote.api_url + "/SMTPSettings"
    headers = remote.auth_headers()
    with remote.faults.add(match={"method": "GET"}, action={"type": "status", "status": 503}, times=1) as fault:
        assert isinstance(fault, RemoteFaultHandle) and fault.ids == (fault.id,)
        assert fault.active and fault.hits == 0
        assert [remote.faults.list()[0]["id"]] == [fault.id]
        assert requests.get(url, headers=headers, timeout=TIMEOUT).status_code == 503
        assert fault.hits == 1
    assert remote.faults.list() == [] and not fault.active
    assert fault.hits == 1 and fault.seen == 1  # the last known counters, after removal
    assert fault.remove() is False
    assert requests.get(url, headers=headers, timeout=TIMEOUT).status_code == 200
    assert [f["ruleId"] for f in remote.faults.firings()] == [fault.id]

    flaky = remote.faults.preset("flaky-5xx")
    assert len(remote.faults) == len(flaky.ids) >= 1
    assert remote.faults.remove(flaky.id) is True and remote.faults.remove(flaky.id) is False
    remote.faults.add({"action": "drop", "times": 1})
    remote.faults.clear()
    assert remote.faults.list() == []
    with pytest.raises(ConfigError, match="action"):
        remote.faults.add(action={"type": "status", "status": "x"})
    with pytest.raises(TypeError, match="not both"):
        remote.faults.add({"action": "drop"}, times=1)


def test_addresses_and_ca(local: MockServer, remote: RemoteServer) -> None:
    assert remote.http_port == local.http_port
    assert remote.ports() == local.ports()
    assert remote.sink.ports == local.sink.ports
    assert remote.sink.smtp_port == local.sink.smtp_port and remote.sink.smtps_port == local.sink.smtps_port
    assert remote.ca_pem == local.ca_pem == remote.sink.ca_pem
    assert remote.ca_pem.startswith(b"-----BEGIN CERTIFICATE-----")


def test_token_helpers_mint_jwts_with_a_lifetime(remote: RemoteServer) -> None:
    """``token()`` and ``token(lifetime=...)`` mint through ``POST /_mock/token``: nothing journaled (#21)."""
    plain = jwt.decode(remote.token(), options={"verify_signature": False})
    assert plain["name"] == "admin" and plain["exp"] - plain["iat"] == 3600
    short = jwt.decode(remote.token("viewer", "viewer", lifetime=30), options={"verify_signature": False})
    assert short["name"] == "viewer" and short["exp"] - short["iat"] == 30
    expired = remote.token(lifetime=0)
    auth = {"Authorization": f"Bearer {expired}"}
    with requests.get(remote.api_url + "/SMTPSettings", headers=auth, timeout=TIMEOUT) as response:
        assert response.status_code == 401
    assert remote.auth_headers()["Authorization"].startswith("Bearer ey")
    assert [e.operation_id for e in remote.requests()] == ["getAllSmtpSettings"]  # the one API call above


def test_auth_headers_reuses_its_token_and_journals_nothing_like_in_process(
    local: MockServer, remote: RemoteServer
) -> None:
    """The bug of #21: ``RemoteServer.auth_headers()`` called the token endpoint on every call, and each call landed
    in the journal; a suite counting its journal entries failed with ``--cxmock-url`` only."""
    first = remote.auth_headers()
    assert remote.auth_headers() == first and remote.auth_headers("viewer", "viewer") != first
    assert local.auth_headers() == local.auth_headers()
    assert requests.get(remote.api_url + "/SMTPSettings", headers=first, timeout=TIMEOUT).status_code == 200
    assert [e.operation_id for e in remote.requests()] == ["getAllSmtpSettings"]
    assert len(remote.requests()) == len(local.requests()) == 1
    with pytest.raises(ConfigError, match="cannot issue a token for 'admin'"):
        remote.auth_headers("admin", "wrong")
    assert len(remote.requests()) == 1
