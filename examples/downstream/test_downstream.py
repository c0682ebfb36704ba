"""A downstream test suite: only the installed cxmock plugin's fixtures, no import of cxmock itself."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from smtp_client import SmtpSettingsClient

SETTINGS = {
    "host": "smtp.example.org",
    "port": 587,
    "encryptionType": "Tls",
    "fromAddress": "noreply@check.org",
    "useDefaultCredentials": False,
    "username": "mailer",
    "password": "app-password",
    "displayName": "Checkmarx",  # the sender's display name (the service's swagger models have it)
}


@pytest.fixture
def client(cxmock) -> Iterator[SmtpSettingsClient]:  # type: ignore[no-untyped-def]
    c = SmtpSettingsClient(cxmock.base_url, "admin", "admin")
    yield c
    c.close()


@pytest.mark.cxmock(seed=[])
def test_create_then_read_back(client, cxmock) -> None:  # type: ignore[no-untyped-def]
    new_id = client.create(SETTINGS)
    assert client.get(new_id)["host"] == "smtp.example.org"
    assert client.get(new_id)["displayName"] == "Checkmarx"
    assert "password" not in client.get(new_id)
    cxmock.assert_called("createSmtpSettings", times=1, status=201)
    cxmock.assert_no_violations()  # the client speaks the vendor contract: versioned media types, cxOrigin


def test_seeded_vendor_sample_is_listed(client) -> None:  # type: ignore[no-untyped-def]
    assert [s["host"] for s in client.list()] == ["pod55017.outlook.com"]


def test_connection_sends_real_mail(client, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    ok, details = client.test_connection(SETTINGS, "ops@check.org")
    assert ok, details
    (message,) = smtp_sink.wait_for(count=1, timeout=5, to="ops@check.org")
    assert message.auth_user == "mailer"
    assert message.tls is not None  # Tls = STARTTLS really happened
    assert message.from_ == "Checkmarx <noreply@check.org>"  # displayName in From:


def test_connection_failure_is_reported(client, cxmock) -> None:  # type: ignore[no-untyped-def]
    cxmock.faults.preset("smtp-auth-rejected")
    ok, details = client.test_connection(SETTINGS, "ops@check.org")
    assert not ok
    assert "auth" in details.lower() and "535" in details  # the error body is {"message": "..."}


@pytest.mark.cxmock(faults=["flaky-5xx"])
def test_client_retries_through_a_flaky_service(client, cxmock) -> None:  # type: ignore[no-untyped-def]
    assert len(client.list()) == 1
    statuses = [entry.status for entry in cxmock.requests(operation_id="getAllSmtpSettings")]
    assert statuses == [503, 503, 200]
