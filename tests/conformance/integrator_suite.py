"""A downstream suite that counts its journal entries (#21), as an integrator writes one.

Not collected here (its name is not ``test_*.py``): ``test_integrator_suite.py`` copies it into a fresh directory
and runs it with ``pytest -n 4``, in process and with ``--cxmock-url``; it must pass both ways. Before #21,
``RemoteServer.auth_headers()`` journaled a ``getToken`` per call and these counts failed under ``--cxmock-url``.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests

from mockserver import MockSurface

TIMEOUT = 30
RECORD = {
    "host": "smtp.example.org",
    "port": 25,
    "encryptionType": "None",
    "fromAddress": "a@check.org",
    "useDefaultCredentials": True,
}


def _headers(cxmock: MockSurface, user: str = "admin") -> dict[str, str]:
    return {**cxmock.auth_headers(user, user), "Content-Type": "application/json;v=1.0"}


def _list(cxmock: MockSurface) -> list[dict[str, Any]]:
    response = requests.get(cxmock.api_url + "/SMTPSettings", headers=_headers(cxmock), timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    records: list[dict[str, Any]] = response.json()
    return records


@pytest.mark.parametrize("creates", [1, 2, 3, 1, 2, 3, 1, 2])
def test_create_then_count_every_entry(cxmock: MockSurface, creates: int) -> None:
    for _ in range(creates):
        url = cxmock.api_url + "/SMTPSettings"
        assert requests.post(url, json=RECORD, headers=_headers(cxmock), timeout=TIMEOUT).status_code == 201
    assert len(_list(cxmock)) == 1 + creates
    assert len(cxmock.requests()) == creates + 1  # every entry: no token request among them
    cxmock.assert_called("createSmtpSettings", times=creates, status=201)


def test_tokens_add_no_entry(cxmock: MockSurface) -> None:
    cxmock.token()
    cxmock.token("viewer", "viewer", lifetime=60)
    for user in ("admin", "viewer", "admin"):
        cxmock.auth_headers(user, user)
    assert cxmock.requests() == []


def test_a_viewer_is_refused_and_counted_once(cxmock: MockSurface) -> None:
    url = cxmock.api_url + "/SMTPSettings"
    assert requests.post(url, json=RECORD, headers=_headers(cxmock, "viewer"), timeout=TIMEOUT).status_code == 403
    assert [(e.operation_id, e.status, e.user) for e in cxmock.requests()] == [("createSmtpSettings", 403, "viewer")]


def test_a_fault_and_the_retry_are_two_entries(cxmock: MockSurface) -> None:
    with cxmock.faults.add(match={"method": "GET"}, action={"type": "status", "status": 503}, times=1) as fault:
        url = cxmock.api_url + "/SMTPSettings"
        assert requests.get(url, headers=_headers(cxmock), timeout=TIMEOUT).status_code == 503
        assert len(_list(cxmock)) == 1
    assert fault.hits == 1
    assert [e.status for e in cxmock.requests()] == [503, 200]


def test_testconnection_is_one_entry_and_one_mail(cxmock: MockSurface, smtp_sink: Any) -> None:
    body = {**RECORD, "port": 587, "encryptionType": "Tls", "recieverEmail": "ops@check.org"}
    body.update(useDefaultCredentials=False, username="mailer", password="pw")
    url = cxmock.api_url + "/SMTPSettings/testconnection"
    assert requests.post(url, json=body, headers=_headers(cxmock), timeout=TIMEOUT).status_code == 200
    (mail,) = smtp_sink.wait_for(count=1, timeout=10, to="ops@check.org")
    assert mail.testconnection is not None
    assert len(cxmock.requests()) == 1 and len(smtp_sink.messages) == 1


@pytest.mark.parametrize("n", range(3))
def test_the_previous_tests_left_nothing(cxmock: MockSurface, n: int) -> None:
    assert cxmock.requests() == [] and len(_list(cxmock)) == 1
    assert len(cxmock.requests(operation_id="getAllSmtpSettings")) == 1
