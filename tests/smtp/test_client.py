"""run_test_connection against real listeners: success per encryption x credentials, each failure's stage."""

from __future__ import annotations

import base64
import json
import socket
import ssl
from collections.abc import Callable
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, Session

from mockserver.core.faults.decisions import SmtpFault
from mockserver.errors import BadRequest, SmtpTestFailed
from mockserver.smtp.client import TEST_SUBJECT, run_test_connection
from mockserver.smtp.protocol import TrackedSMTP
from mockserver.smtp.sink import SmtpSink

PASSWORD = "s3cret-Pa55"
FAIL_TIMEOUT = 1.0


class BareSink(SmtpSink):
    """A plain aiosmtpd server, no STARTTLS, AUTH LOGIN only, accepting anything (no capture)."""

    def factory(self, listener: str) -> TrackedSMTP:
        return TrackedSMTP(
            BareHandler(),
            sink=self,
            listener=listener,
            tls_context=None,
            auth_require_tls=False,
            auth_exclude_mechanism=["PLAIN"],
            authenticator=lambda *args: AuthResult(success=True),
        )


class BareHandler:
    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        return "250 OK"


def run(sink: SmtpSink | None, encryption: str = "None", **overrides: Any) -> Any:
    options: dict[str, Any] = {
        "host": "127.0.0.1",
        "encryption": encryption,
        "from_address": "cxsast@example.com",
        "receiver": "security-team@example.org",
        "username": "alice",
        "password": PASSWORD,
        "use_default_credentials": False,
        "timeout": 5.0,
        "ssl_context": sink.tls.client_context() if sink else None,
        "correlation": "corr-123",
        "requested_target": "smtp.example.com:587",
    }
    if sink is not None:
        options["port"] = sink.smtps_port if encryption == "Ssl" else sink.smtp_port
    options.update(overrides)
    return run_test_connection(**options)


def fail(sink: SmtpSink | None, encryption: str = "None", **overrides: Any) -> SmtpTestFailed:
    overrides.setdefault("timeout", FAIL_TIMEOUT)
    with pytest.raises(SmtpTestFailed) as caught:
        run(sink, encryption, **overrides)
    error = caught.value
    assert error.details.startswith("SMTP test to ")
    assert not any(PASSWORD in line for line in error.transcript)
    return error


def secrets_of(password: str) -> list[str]:
    token = base64.b64encode(f"\0alice\0{password}".encode()).decode()
    return [password, token, base64.b64encode(password.encode()).decode()]


# -- success ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("credentials", [True, False], ids=["credentials", "default-credentials"])
@pytest.mark.parametrize("encryption", ["None", "Tls", "Ssl"])
def test_one_message_per_testconnection_with_the_right_facts(
    sink: SmtpSink, encryption: str, credentials: bool
) -> None:
    result = run(sink, encryption, use_default_credentials=not credentials)
    (message,) = sink.wait_for(count=1, timeout=5)
    assert sink.store.count == 1
    assert message.mail_from == "cxsast@example.com" and message.rcpt_tos == ["security-team@example.org"]
    assert message.subject == TEST_SUBJECT and message.to == "security-team@example.org"
    assert message.text is not None and "smtp.example.com:587" in message.text
    assert message.correlation == "corr-123" == result.correlation
    assert message.listener == ("smtps" if encryption == "Ssl" else "smtp")
    assert message.auth_user == result.auth_user == ("alice" if credentials else None)
    if encryption == "None":
        assert message.tls is None and result.tls is None
    else:
        assert message.tls is not None and message.tls == result.tls
        assert message.tls["version"].startswith("TLSv1.")
    transcript = result.transcript
    assert transcript[0] == f"* connect 127.0.0.1:{result.port}"
    assert "C: ehlo cxmock.localhost" in transcript and transcript[-1] == "S: 221 Bye"
    assert ("C: STARTTLS" in transcript) == (encryption == "Tls")
    assert ("C: AUTH PLAIN ***" in transcript) == credentials
    assert not any(secret in line for line in transcript for secret in secrets_of(PASSWORD))

    info = {"requestId": "req-1", "host": "smtp.example.com", "port": 587, "encryptionType": encryption}
    assert sink.store.attach_testconnection(result.correlation, info, transcript) is message
    data = message.to_dict()
    assert data["testconnection"] == info and data["transcript"] == transcript
    assert PASSWORD not in json.dumps(data)


def test_auth_login_is_redacted_too(make_sink: Callable[..., SmtpSink]) -> None:
    bare = make_sink(BareSink)
    result = run(bare, "None")
    auth = [line for line in result.transcript if line.startswith("C: AUTH") or line == "C: ***"]
    assert auth == ["C: AUTH LOGIN ***", "C: ***"]
    assert not any(secret in line for line in result.transcript for secret in secrets_of(PASSWORD))


def test_utf8_addresses_use_smtputf8(sink: SmtpSink) -> None:
    run(sink, "Tls", receiver="jörg@exämple.org")
    (message,) = sink.wait_for(timeout=5)
    assert message.rcpt_tos == ["jörg@exämple.org"]


# -- failures ------------------------------------------------------------------------------------------------


def test_wrong_credentials_under_a_fixed_policy_fail_at_auth(make_sink: Callable[..., SmtpSink]) -> None:
    sink = make_sink(auth_mode="fixed", credentials=[f"alice:{PASSWORD}"])
    error = fail(sink, "Tls", password="wrong")
    assert error.stage == "auth" and error.reply_code == 535
    assert "authentication as 'alice' failed" in error.details and "535" in error.details
    assert error.facts()["stage"] == "auth" and error.facts()["replyCode"] == 535
    assert set(error.body()) == {"message"}  # the wire: the service's ErrorViewModel
    assert "S: 535 5.7.8 Authentication credentials invalid" in error.transcript
    assert sink.store.count == 0
    run(sink, "Tls")  # the right password works


def test_auth_required_but_default_credentials_fail_at_mail(make_sink: Callable[..., SmtpSink]) -> None:
    sink = make_sink(require_auth=True)
    error = fail(sink, "None", use_default_credentials=True)
    assert error.stage == "mail" and error.reply_code == 530
    assert "useDefaultCredentials" in error.details
    assert sink.store.count == 0


def test_closed_loopback_port_fails_at_connect() -> None:
    with socket.socket() as bound:  # bound, not listening: the port is ours and refuses connections
        bound.bind(("127.0.0.1", 0))
        port = bound.getsockname()[1]
        error = fail(None, "None", port=port)
    assert error.stage == "connect" and "connection refused" in error.details
    assert error.transcript[0] == f"* connect 127.0.0.1:{port}"


@pytest.mark.slow
@pytest.mark.parametrize("encryption", ["Tls", "None"])
def test_plain_client_against_the_implicit_tls_port_hints_ssl(sink: SmtpSink, encryption: str) -> None:
    error = fail(sink, encryption, port=sink.smtps_port)
    assert error.stage == "greeting"
    assert "no SMTP greeting within 1 s; is this an implicit-TLS port? try encryptionType Ssl" in error.details


def test_tls_against_a_server_without_starttls_fails_at_starttls(make_sink: Callable[..., SmtpSink]) -> None:
    bare = make_sink(BareSink)
    error = fail(bare, "Tls")
    assert error.stage == "starttls" and "does not offer STARTTLS" in error.details
    assert "C: STARTTLS" not in error.transcript


def test_ssl_against_the_plain_port_hints_tls_or_none(sink: SmtpSink) -> None:
    error = fail(sink, "Ssl", port=sink.smtp_port)
    assert error.stage == "tls"
    assert "is this a plain/STARTTLS port? try encryptionType Tls or None" in error.details


@pytest.mark.parametrize(("encryption", "stage"), [("Ssl", "tls"), ("Tls", "starttls")])
def test_untrusted_certificate_is_named(sink: SmtpSink, encryption: str, stage: str) -> None:
    error = fail(sink, encryption, ssl_context=ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT))
    assert error.stage == stage and "certificate is not trusted" in error.details


def test_server_name_is_verified_against_tls_server_name(sink: SmtpSink) -> None:
    error = fail(sink, "Ssl", tls_server_name="mail.example.com")
    assert error.stage == "tls" and "certificate is not trusted" in error.details
    run(sink, "Ssl", tls_server_name="localhost")


class Fault:
    def __init__(self, stage: str, action: str, delay_s: float = 0.0) -> None:
        self.fault = SmtpFault("r", None, stage, action, code=554, text="5.7.1 injected", delay_s=delay_s)

    def __call__(self, stage: str, user: str | None, listener: str) -> SmtpFault | None:
        return self.fault if stage == self.fault.stage else None


STAGES = ["connect", "greeting", "ehlo", "starttls", "auth", "mail", "rcpt", "data"]


@pytest.mark.parametrize("stage", STAGES)
def test_a_refusal_at_each_stage_is_reported_with_the_reply(make_sink: Callable[..., SmtpSink], stage: str) -> None:
    sink = make_sink(fault_hook=Fault(stage, "reply"))
    error = fail(sink, "Tls")
    assert error.stage == ("greeting" if stage == "connect" else stage)
    assert (error.reply_code, error.reply_text) == (554, "5.7.1 injected")
    assert "the server replied 554 5.7.1 injected" in error.details
    assert "S: 554 5.7.1 injected" in error.transcript


@pytest.mark.parametrize("stage", STAGES)
def test_a_dropped_connection_at_each_stage_is_reported(make_sink: Callable[..., SmtpSink], stage: str) -> None:
    sink = make_sink(fault_hook=Fault(stage, "drop"))
    error = fail(sink, "Tls")
    assert error.stage == ("greeting" if stage == "connect" else stage)
    assert "closed the connection" in error.details and error.reply_code is None


@pytest.mark.slow
def test_a_silent_server_costs_no_more_than_the_budget(make_sink: Callable[..., SmtpSink]) -> None:
    sink = make_sink(fault_hook=Fault("rcpt", "delay", delay_s=30))
    error = fail(sink, "None", timeout=0.5)
    assert error.stage == "rcpt" and "no reply within the 0.5 s time budget" in error.details


@pytest.mark.parametrize("field", ["from_address", "receiver", "username"])
def test_line_breaks_in_addresses_are_a_bad_request(sink: SmtpSink, field: str) -> None:
    with pytest.raises(BadRequest, match="must not contain line breaks"):
        run(sink, "None", **{field: "a@example.com\r\nRCPT TO:<victim@example.org>"})
    assert sink.store.count == 0


@pytest.mark.parametrize(("stage", "action"), [("connect", "drop"), ("greeting", "reply"), ("mail", "reply")])
def test_faults_apply_on_the_implicit_tls_listener_too(
    make_sink: Callable[..., SmtpSink], stage: str, action: str
) -> None:
    sink = make_sink(fault_hook=Fault(stage, action))
    error = fail(sink, "Ssl")
    assert error.stage == ("greeting" if stage == "connect" else stage)
    assert error.reply_code == (554 if action == "reply" else None)
