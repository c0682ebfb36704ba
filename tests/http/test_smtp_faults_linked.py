"""An SMTP fault that breaks a testconnection is linked to that request (issue #25): in its journal entry's
``faults`` (with the stage), on its request log line (``faults=<rule>:<action>@<stage>``) and in the dashboard's
Notes cell, at the root and in a sandbox, whether it failed the session (a reply) or only slowed it (a delay)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import pytest
import requests

from mockserver.runtime.server import MockServer

BODY = {
    "host": "smtp.corp.example",
    "port": 587,
    "encryptionType": "Tls",
    "fromAddress": "noreply@check.org",
    "recieverEmail": "ops@check.org",
    "useDefaultCredentials": False,
    "username": "mailer",
    "password": "Smtp-Pass-1",
}


def post_testconnection(base_url: str, headers: dict[str, str]) -> requests.Response:
    return requests.post(
        base_url + "/cxrestapi/auth/SMTPSettings/testconnection",
        data=json.dumps(BODY),
        headers={**headers, "Content-Type": "application/json;v=1.0"},
        timeout=30,
    )


def entry_of(base_url: str, response: requests.Response) -> dict[str, Any]:
    request_id = int(response.headers["X-Cxmock-Request-Id"])
    with requests.get(f"{base_url}/_mock/requests", timeout=10) as listing:
        (entry,) = [e for e in listing.json() if e["id"] == request_id]
    found: dict[str, Any] = entry
    return found


def notes_of(base_url: str, response: requests.Response) -> list[str]:
    """The dashboard's Notes cell of that request (its list row's ``faults``)."""
    request_id = int(response.headers["X-Cxmock-Request-Id"])
    with requests.get(f"{base_url}/_mock/ui/api/requests", timeout=10) as listing:
        (row,) = [r for r in listing.json()["rows"] if r["id"] == request_id]
    faults: list[str] = row["faults"]
    return faults


@pytest.mark.parametrize("where", ["root", "sandbox"])
def test_a_rejected_recipient_names_its_rule_in_journal_log_and_dashboard(
    make_server: Callable[..., MockServer], caplog: pytest.LogCaptureFixture, where: str
) -> None:
    server = make_server(log_requests=True)
    target = server if where == "root" else server.sandbox("ci-3")
    target.faults.preset("smtp-recipient-rejected")
    with caplog.at_level(logging.INFO, logger="cxmock.requests"):
        response = post_testconnection(target.base_url, target.auth_headers())
    assert response.status_code == 400 and "550" in response.json()["message"]

    entry = entry_of(target.base_url, response)
    assert entry["faults"] == [
        {"ruleId": entry["faults"][0]["ruleId"], "name": "smtp-recipient-rejected", "action": "reply", "stage": "rcpt"}
    ]
    lines = [r.getMessage() for r in caplog.records if "testconnection" in r.getMessage()]
    assert len(lines) == 1 and " faults=smtp-recipient-rejected:reply@rcpt " in lines[0] + " ", lines
    assert notes_of(target.base_url, response) == ["smtp rcpt: reply"]


def test_a_delay_that_did_not_fail_the_session_is_linked_too(server: MockServer) -> None:
    server.faults.add(match={"stage": "mail"}, action={"type": "delay", "ms": 1}, name="slow-mail", times=1)
    response = post_testconnection(server.base_url, server.auth_headers())
    assert response.status_code == 200
    faults = entry_of(server.base_url, response)["faults"]
    assert [(f["name"], f["action"], f["stage"]) for f in faults] == [("slow-mail", "delay", "mail")]


def test_a_fault_fired_by_mail_sent_straight_to_the_sink_is_on_no_request(server: MockServer) -> None:
    """Only the session a testconnection opened is linked: direct mail has no request to name."""
    import smtplib

    server.faults.preset("smtp-recipient-rejected")
    with smtplib.SMTP("127.0.0.1", server.sink.smtp_port, timeout=10) as smtp:
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            smtp.sendmail("app@check.org", ["ops@check.org"], b"Subject: x\r\n\r\nhello\r\n")
    response = requests.get(server.base_url + "/cxrestapi/auth/SMTPSettings", headers=server.auth_headers(), timeout=10)
    assert entry_of(server.base_url, response)["faults"] == []
