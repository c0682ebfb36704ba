"""testconnection through the HTTP API: real SMTP sessions against the sink (and, in direct mode, elsewhere
on loopback), what was captured, and the 400s that name the failing stage."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable
from typing import Any

import pytest
import requests

from mockserver.runtime.server import MockServer

PASSWORD = "Smtp-Pass-7c2b9e"



def failure(server: MockServer, response: requests.Response) -> dict[str, Any]:
    """The wire's ``{"message"}`` plus the structured facts the journal keeps (stage, transcript, reply)."""
    assert set(response.json()) == {"message"}, response.text
    request_id = int(response.headers["X-Cxmock-Request-Id"])
    (entry,) = [e for e in server.state.journal.entries() if e.id == request_id]
    return {**(entry.error or {}), "message": response.json()["message"]}

def body(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "host": "smtp.corp.example",
        "port": 587,
        "encryptionType": "Tls",
        "fromAddress": "noreply@check.org",
        "recieverEmail": "ops@check.org",
        "useDefaultCredentials": False,
        "username": "mailer",
        "password": PASSWORD,
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def post(server: MockServer, payload: dict[str, Any]) -> requests.Response:
    return requests.post(
        server.api_url + "/SMTPSettings/testconnection",
        data=json.dumps(payload),
        headers={**server.auth_headers(), "Content-Type": "application/json;v=1.0"},
        timeout=30,
    )


@pytest.mark.no_leak_check  # the module-scoped server outlives each test by design
@pytest.mark.parametrize("encryption", ["None", "Tls", "Ssl"])
@pytest.mark.parametrize("default_credentials", [False, True])
def test_each_encryption_and_credentials_sends_one_captured_message(
    mock: MockServer, encryption: str, default_credentials: bool
) -> None:
    payload = body(encryptionType=encryption.upper(), useDefaultCredentials=default_credentials)
    if default_credentials:
        payload.pop("username"), payload.pop("password")
    response = post(mock, payload)
    assert response.status_code == 200, response.text
    assert response.content == b""
    (message,) = mock.sink.messages
    assert message.mail_from == "noreply@check.org" and message.rcpt_tos == ["ops@check.org"]
    assert message.listener == ("smtps" if encryption == "Ssl" else "smtp")
    if encryption == "None":
        assert message.tls is None
    else:
        assert message.tls is not None and message.tls["version"].startswith("TLS")
    assert message.auth_user == (None if default_credentials else "mailer")
    request_id = int(response.headers["X-Cxmock-Request-Id"])
    assert message.testconnection is not None
    assert message.testconnection["host"] == "smtp.corp.example" and message.testconnection["port"] == 587
    assert message.testconnection["requestId"] == request_id
    assert message.transcript and any(line.upper().startswith("C: MAIL FROM") for line in message.transcript)
    dumped = json.dumps(message.to_dict())
    assert PASSWORD not in dumped
    # the admin API shows the same message, filtered by recipient
    listed = requests.get(mock.base_url + "/_mock/messages", params={"to": "ops@"}, timeout=10).json()
    assert [m["id"] for m in listed] == [message.id]
    raw = requests.get(f"{mock.base_url}/_mock/messages/{message.id}/raw", timeout=10)
    assert raw.headers["Content-Type"].startswith("message/rfc822") and b"Subject:" in raw.content


@pytest.mark.no_leak_check
@pytest.mark.parametrize(
    ("stage", "code", "text"),
    [
        ("greeting", 421, "4.3.2 Service not available"),
        ("ehlo", 550, "5.5.0 go away"),
        ("starttls", 454, "4.7.0 TLS not available"),
        ("auth", 535, "5.7.8 Authentication credentials invalid"),
        ("mail", 451, "4.3.0 try later"),
        ("rcpt", 550, "5.1.1 No such user"),
        ("data", 554, "5.6.0 rejected"),
    ],
)
def test_an_smtp_fault_at_each_stage_is_a_400_naming_it(mock: MockServer, stage: str, code: int, text: str) -> None:
    # a refused EHLO makes the client fall back to HELO (as real clients do): refuse both
    times = 2 if stage == "ehlo" else 1
    mock.faults.add(match={"stage": stage}, action={"type": "reply", "code": code, "text": text}, times=times)
    response = post(mock, body())
    assert response.status_code == 400
    error = failure(mock, response)
    assert error["stage"] == stage or (stage == "greeting" and error["stage"] in ("greeting", "connect"))
    assert str(code) in error["message"] and text.split()[0] in error["message"]
    assert error["transcript"] and PASSWORD not in json.dumps(error)
    assert mock.sink.messages == []
    # the rule is spent: the next test connection goes through
    assert post(mock, body()).status_code == 200


@pytest.mark.no_leak_check
def test_a_refused_ehlo_with_a_helo_fallback_explains_the_missing_starttls(mock: MockServer) -> None:
    mock.faults.add(match={"stage": "ehlo"}, action={"type": "reply", "code": 502, "text": "5.5.1 no"}, times=1)
    response = post(mock, body())
    assert response.status_code == 400
    error = failure(mock, response)
    assert error["stage"] == "starttls" and "refused EHLO" in error["message"]
    assert any(line.upper().startswith("C: HELO") for line in error["transcript"])


@pytest.mark.no_leak_check
def test_a_dropped_connection_at_rcpt_is_a_400(mock: MockServer) -> None:
    mock.faults.add(match={"stage": "rcpt"}, action={"type": "drop"}, times=1)
    response = post(mock, body())
    assert response.status_code == 400
    assert failure(mock, response)["stage"] == "rcpt"


def test_wrong_credentials_under_a_fixed_policy(make_server: Callable[..., MockServer]) -> None:
    server = make_server(smtp_auth="fixed", smtp_credentials=("mailer:right-password",))
    response = post(server, body())
    assert response.status_code == 400
    assert failure(server, response)["stage"] == "auth" and "535" in response.json()["message"]
    assert post(server, body(password="right-password")).status_code == 200


def test_auth_required_but_default_credentials(make_server: Callable[..., MockServer]) -> None:
    server = make_server(smtp_require_auth=True)
    response = post(server, body(useDefaultCredentials=True, username=None, password=None))
    assert response.status_code == 400
    error = failure(server, response)
    assert error["stage"] == "mail" and "530" in error["message"]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_direct_mode_to_a_closed_loopback_port(make_server: Callable[..., MockServer]) -> None:
    server = make_server(smtp_mode="direct", smtp_timeout=3.0)
    response = post(server, body(host="127.0.0.1", port=_closed_port(), encryptionType="None"))
    assert response.status_code == 400
    assert failure(server, response)["stage"] == "connect"


def test_direct_mode_refuses_a_host_off_the_allow_list_without_connecting(
    make_server: Callable[..., MockServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    server = make_server(smtp_mode="direct")
    attempts: list[Any] = []
    real = socket.create_connection

    def spy(address: Any, *args: Any, **kwargs: Any) -> socket.socket:
        attempts.append(address)
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", spy)
    response = post(server, body(host="10.11.12.13", port=25, encryptionType="None"))
    assert response.status_code == 400
    details = response.json()["message"]
    assert "not allowed" in details and "--smtp-allow" in details
    assert not [a for a in attempts if a[0] == "10.11.12.13"]


@pytest.mark.slow
def test_direct_mode_starttls_against_a_listener_that_does_not_offer_it(
    make_server: Callable[..., MockServer],
) -> None:
    server = make_server(smtp_mode="direct", smtp_timeout=2.0)
    # the sink's implicit-TLS port never sends a plain greeting, so STARTTLS cannot even be asked for
    response = post(server, body(host="127.0.0.1", port=server.sink.smtps_port, encryptionType="Tls"))
    assert response.status_code == 400
    error = failure(server, response)
    assert error["stage"] in ("greeting", "connect")
    assert "implicit-TLS" in error["message"] and "Ssl" in error["message"]


def test_direct_mode_to_the_sink_with_its_ca_succeeds(make_server: Callable[..., MockServer], tmp_path: Any) -> None:
    probe = make_server()
    ca = tmp_path / "ca.pem"
    ca.write_bytes(requests.get(probe.base_url + "/_mock/smtp/ca.pem", timeout=10).content)
    probe.stop()
    server = make_server(smtp_mode="direct", smtp_ca_file=str(ca))
    # a second server's sink is signed by its own CA; verify against the right one: use --smtp-insecure instead
    insecure = make_server(smtp_mode="direct", smtp_insecure=True)
    response = post(insecure, body(host="localhost", port=server.sink.smtp_port, encryptionType="Tls"))
    assert response.status_code == 200, response.text
    assert len(server.sink.messages) == 1 and insecure.sink.messages == []


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "127.0.0.2", "::1"])
def test_direct_mode_refuses_the_mocks_own_http_port_without_connecting(
    make_server: Callable[..., MockServer], monkeypatch: pytest.MonkeyPatch, host: str
) -> None:
    server = make_server(smtp_mode="direct")
    attempts: list[Any] = []
    real = socket.create_connection

    def spy(address: Any, *args: Any, **kwargs: Any) -> socket.socket:
        attempts.append(address)
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", spy)
    response = post(server, body(host=host, port=server.http_port, encryptionType="None"))
    assert response.status_code == 400
    error = response.json()
    assert "own HTTP listener" in error["message"] and "--smtp-mode sink" in error["message"]
    assert not [a for a in attempts if a[1] == server.http_port]


def test_sixteen_testconnections_to_the_mocks_own_port_leave_it_serving(make_server: Callable[..., MockServer]) -> None:
    """They used to hold all 16 worker threads for the whole --smtp-timeout; now each is a 400 at once."""
    server = make_server(smtp_mode="direct")
    statuses: list[int] = []

    def attack() -> None:
        statuses.append(post(server, body(host="127.0.0.1", port=server.http_port, encryptionType="None")).status_code)

    threads = [threading.Thread(target=attack) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert statuses == [400] * 16
    assert requests.get(server.base_url + "/_mock/health", timeout=10).status_code == 200
