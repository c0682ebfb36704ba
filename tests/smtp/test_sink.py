"""SmtpSink through real sockets: plain, STARTTLS, implicit TLS, AUTH, policies, limits, faults, lifecycle."""

from __future__ import annotations

import os
import smtplib
import socket
import ssl
import threading
from collections.abc import Callable

import pytest

from mockserver.core.faults.decisions import SmtpFault
from mockserver.core.mail.store import MailStore
from mockserver.errors import ServerError
from mockserver.smtp.sink import SmtpSink
from mockserver.smtp.tls import TlsMaterial

TIMEOUT = 5.0
MESSAGE = b"From: alice@example.com\r\nTo: bob@example.org\r\nSubject: Hello sink\r\n\r\nHi Bob\r\n"


def connect(sink: SmtpSink, listener: str = "smtp") -> smtplib.SMTP:
    if listener == "smtps":
        return smtplib.SMTP_SSL(
            "127.0.0.1", sink.smtps_port, local_hostname="tester", timeout=TIMEOUT, context=sink.tls.client_context()
        )
    return smtplib.SMTP("127.0.0.1", sink.smtp_port, local_hostname="tester", timeout=TIMEOUT)


def login(smtp: smtplib.SMTP, mechanism: str, user: str, password: str) -> tuple[int, bytes]:
    smtp.ehlo_or_helo_if_needed()
    smtp.user, smtp.password = user, password
    auth = {"PLAIN": smtp.auth_plain, "LOGIN": smtp.auth_login}[mechanism]
    return smtp.auth(mechanism, auth)


# -- capture over each transport ---------------------------------------------------------------------------


def test_plain_smtp_is_captured_with_its_facts(sink: SmtpSink) -> None:
    with connect(sink) as smtp:
        assert smtp.sock is not None
        client_address = smtp.sock.getsockname()
        refused = smtp.sendmail("alice@example.com", ["bob@example.org", "carol@example.org"], MESSAGE)
    assert refused == {}
    (message,) = sink.wait_for(count=1, timeout=TIMEOUT)
    assert message.listener == "smtp" and message.tls is None and message.auth_user is None
    assert message.peer == f"{client_address[0]}:{client_address[1]}"
    assert message.mail_from == "alice@example.com"
    assert message.rcpt_tos == ["bob@example.org", "carol@example.org"]
    assert message.subject == "Hello sink" and message.text == "Hi Bob\r\n"
    assert message.raw == MESSAGE and message.size == len(MESSAGE)
    assert sink.messages == [message]


def test_starttls_verifies_the_published_ca_and_records_tls_facts(sink: SmtpSink) -> None:
    with connect(sink) as smtp:
        smtp.ehlo()
        assert smtp.has_extn("starttls")
        context = ssl.create_default_context(cadata=sink.ca_pem.decode())  # what an integrator would do
        smtp.starttls(context=context)
        assert isinstance(smtp.sock, ssl.SSLSocket)
        version = smtp.sock.version()
        cipher = smtp.sock.cipher()[0]  # type: ignore[index]
        smtp.sendmail("alice@example.com", ["bob@example.org"], MESSAGE)
    (message,) = sink.wait_for(timeout=TIMEOUT)
    assert message.listener == "smtp"
    assert message.tls == {"version": version, "cipher": cipher}
    assert version is not None and version.startswith("TLSv1.")


def test_implicit_tls_is_captured_on_the_smtps_listener(sink: SmtpSink) -> None:
    with connect(sink, "smtps") as smtp:
        smtp.ehlo()
        assert not smtp.has_extn("starttls")  # already encrypted
        assert isinstance(smtp.sock, ssl.SSLSocket)
        version = smtp.sock.version()
        smtp.sendmail("alice@example.com", ["bob@example.org"], MESSAGE)
    (message,) = sink.wait_for(timeout=TIMEOUT)
    assert message.listener == "smtps"
    assert message.tls is not None and message.tls["version"] == version


def test_an_untrusting_client_rejects_the_certificate(sink: SmtpSink) -> None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # trusts nothing
    with pytest.raises(ssl.SSLCertVerificationError):
        smtplib.SMTP_SSL("127.0.0.1", sink.smtps_port, local_hostname="t", timeout=TIMEOUT, context=context)
    assert sink.store.count == 0


def test_ca_pem_is_a_pem_certificate(sink: SmtpSink) -> None:
    assert sink.ca_pem.startswith(b"-----BEGIN CERTIFICATE-----")
    assert sink.ca_pem == sink.tls.ca_pem


# -- AUTH ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("listener", ["smtp", "smtps"])
@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_auth_plain_and_login_on_both_listeners(sink: SmtpSink, listener: str, mechanism: str) -> None:
    with connect(sink, listener) as smtp:
        smtp.ehlo()
        assert set(smtp.esmtp_features["auth"].split()) == {"PLAIN", "LOGIN"}
        code, _ = login(smtp, mechanism, "alice", "wonderland")
        assert code == 235
        smtp.sendmail("alice@example.com", ["bob@example.org"], MESSAGE)
    (message,) = sink.wait_for(timeout=TIMEOUT)
    assert message.auth_user == "alice" and message.listener == listener
    assert "wonderland" not in repr(message) and "wonderland" not in str(message.to_dict())


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_fixed_credentials_accept_only_the_configured_pairs(make_sink: Callable[..., SmtpSink], mechanism: str) -> None:
    sink = make_sink(auth_mode="fixed", credentials=["alice:wonderland", "bob:builder"])
    for user, password in [("alice", "wrong"), ("mallory", "wonderland"), ("alice", "builder")]:
        with connect(sink) as smtp, pytest.raises(smtplib.SMTPAuthenticationError) as caught:
            login(smtp, mechanism, user, password)
        assert caught.value.smtp_code == 535
    with connect(sink) as smtp:
        assert login(smtp, mechanism, "bob", "builder")[0] == 235


def test_require_auth_refuses_mail_before_auth(make_sink: Callable[..., SmtpSink]) -> None:
    sink = make_sink(require_auth=True)
    with connect(sink) as smtp:
        smtp.ehlo()
        code, reply = smtp.mail("alice@example.com")
        assert code == 530 and b"Authentication required" in reply
        login(smtp, "PLAIN", "alice", "any")
        smtp.sendmail("alice@example.com", ["bob@example.org"], MESSAGE)
    (message,) = sink.wait_for(timeout=TIMEOUT)
    assert message.auth_user == "alice"


# -- limits --------------------------------------------------------------------------------------------------


def test_message_bigger_than_the_limit_is_refused_with_552(make_sink: Callable[..., SmtpSink]) -> None:
    sink = make_sink(max_message_size=1000)
    big = MESSAGE + b"x" * 900 + b"\r\n" + b"y" * 900 + b"\r\n"
    with connect(sink) as smtp:
        smtp.ehlo()
        assert smtp.esmtp_features["size"] == "1000"
        with pytest.raises(smtplib.SMTPSenderRefused) as sender:  # announced with MAIL FROM SIZE=
            smtp.sendmail("alice@example.com", ["bob@example.org"], big)
        assert sender.value.smtp_code == 552
        smtp.rset()
        assert smtp.mail("alice@example.com")[0] == 250  # unannounced: refused after DATA
        assert smtp.rcpt("bob@example.org")[0] == 250
        assert smtp.data(big)[0] == 552
        smtp.sendmail("alice@example.com", ["bob@example.org"], MESSAGE)  # the session goes on
    assert [m.subject for m in sink.wait_for(timeout=TIMEOUT)] == ["Hello sink"]


# -- faults --------------------------------------------------------------------------------------------------


class Faults:
    """A fault hook that applies ``fault`` at ``stage`` and records every question asked."""

    def __init__(self, stage: str, action: str, code: int | None = None, text: str | None = None) -> None:
        self.stage = stage
        self.fault = SmtpFault("r1", "test", stage, action, code=code, text=text, delay_s=0.01)
        self.calls: list[tuple[str, str | None, str]] = []

    def __call__(self, stage: str, user: str | None, listener: str) -> SmtpFault | None:
        self.calls.append((stage, user, listener))
        return self.fault if stage == self.stage else None


def converse(sink: SmtpSink, context: ssl.SSLContext) -> tuple[str, int | str]:
    """A full session (greeting, EHLO, STARTTLS, AUTH, MAIL, RCPT, DATA); where it stopped and why."""
    smtp = smtplib.SMTP(local_hostname="tester", timeout=TIMEOUT)
    step = "greeting"
    try:
        code, _ = smtp.connect("127.0.0.1", sink.smtp_port)
        smtp._host = "127.0.0.1"  # type: ignore[attr-defined]  # the name STARTTLS verifies
        if code != 220:
            return step, code
        step = "ehlo"
        code, _ = smtp.ehlo()
        if code != 250:
            return step, code
        step = "starttls"
        smtp.starttls(context=context)
        step = "auth"
        login(smtp, "PLAIN", "alice", "pw")
        step = "mail"
        code, _ = smtp.mail("alice@example.com")
        if code != 250:
            return step, code
        step = "rcpt"
        code, _ = smtp.rcpt("bob@example.org")
        if code != 250:
            return step, code
        step = "data"
        code, _ = smtp.data(MESSAGE)
        if code != 250:
            return step, code
        smtp.quit()
        return "done", 250
    except smtplib.SMTPServerDisconnected:
        return step, "dropped"
    except smtplib.SMTPResponseException as exc:
        return step, exc.smtp_code
    finally:
        smtp.close()


STAGES = ["connect", "greeting", "ehlo", "starttls", "auth", "mail", "rcpt", "data"]
CLIENT_STEP = {"connect": "greeting"}  # a fault before the greeting shows in the greeting


@pytest.mark.parametrize("stage", STAGES)
def test_fault_reply_answers_instead_of_proceeding(make_sink: Callable[..., SmtpSink], stage: str) -> None:
    hook = Faults(stage, "reply", code=554, text="5.7.1 injected by test")
    sink = make_sink(fault_hook=hook)
    assert hook.calls == []  # the start-up probe is never subject to faults
    assert converse(sink, sink.tls.client_context()) == (CLIENT_STEP.get(stage, stage), 554)
    assert sink.store.count == 0
    assert hook.calls[-1][0] == stage


@pytest.mark.parametrize("stage", STAGES)
def test_fault_drop_closes_the_connection(make_sink: Callable[..., SmtpSink], stage: str) -> None:
    sink = make_sink(fault_hook=Faults(stage, "drop"))
    assert converse(sink, sink.tls.client_context()) == (CLIENT_STEP.get(stage, stage), "dropped")
    assert sink.store.count == 0


@pytest.mark.parametrize("stage", STAGES)
def test_fault_delay_then_proceeds(make_sink: Callable[..., SmtpSink], stage: str) -> None:
    sink = make_sink(fault_hook=Faults(stage, "delay"))
    assert converse(sink, sink.tls.client_context()) == ("done", 250)
    assert sink.store.count == 1


def test_fault_hook_is_told_stage_user_and_listener(make_sink: Callable[..., SmtpSink]) -> None:
    hook = Faults("none", "reply")
    sink = make_sink(fault_hook=hook)
    converse(sink, sink.tls.client_context())
    assert hook.calls == [
        ("connect", None, "smtp"),
        ("greeting", None, "smtp"),
        ("ehlo", None, "smtp"),
        ("starttls", None, "smtp"),
        ("ehlo", None, "smtp"),
        ("auth", "alice", "smtp"),  # from the AUTH initial response, before it is checked
        ("mail", "alice", "smtp"),
        ("rcpt", "alice", "smtp"),
        ("data", "alice", "smtp"),
    ]


def test_refused_greeting_refuses_every_command_but_quit(make_sink: Callable[..., SmtpSink]) -> None:
    sink = make_sink(fault_hook=Faults("greeting", "reply", code=554, text="no service for you"))
    smtp = smtplib.SMTP(local_hostname="tester", timeout=TIMEOUT)
    try:
        assert smtp.connect("127.0.0.1", sink.smtp_port) == (554, b"no service for you")
        assert smtp.ehlo()[0] == 503
        assert smtp.docmd("MAIL", "FROM:<a@b>")[0] == 503
        assert smtp.docmd("QUIT")[0] == 221
    finally:
        smtp.close()


def test_fault_reply_421_closes_the_connection(make_sink: Callable[..., SmtpSink]) -> None:
    sink = make_sink(fault_hook=Faults("mail", "reply", code=421, text="4.3.2 shutting down"))
    with connect(sink) as smtp:
        smtp.ehlo()
        assert smtp.mail("a@example.com") == (421, b"4.3.2 shutting down")
        with pytest.raises(smtplib.SMTPServerDisconnected):
            smtp.noop()


def test_an_error_in_the_sink_thread_is_answered_451_and_re_raised_by_check(
    make_sink: Callable[..., SmtpSink],
) -> None:
    def broken_hook(stage: str, user: str | None, listener: str) -> SmtpFault | None:
        if stage == "mail":
            raise RuntimeError("fault engine exploded")
        return None

    sink = make_sink(fault_hook=broken_hook)
    with connect(sink) as smtp:
        smtp.ehlo()
        code, reply = smtp.mail("a@example.com")
    assert code == 451 and b"RuntimeError" in reply
    with pytest.raises(ServerError, match="fault engine exploded"):
        sink.check()


# -- lifecycle -----------------------------------------------------------------------------------------------


def _fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


def test_start_stop_20_times_leaks_no_thread_or_descriptor(tls: TlsMaterial) -> None:
    store = MailStore()
    sink = SmtpSink(store=store, tls=tls)
    sink.start()  # warm-up: first use of ssl, asyncio, aiosmtpd
    sink.stop()
    threads, fds = threading.active_count(), len(_fds())
    ports = set()
    for _ in range(20):
        sink.start()
        assert sink.running
        ports.add((sink.smtp_port, sink.smtps_port))
        with connect(sink) as smtp:
            smtp.sendmail("a@example.com", ["b@example.org"], MESSAGE)
        sink.stop()
        assert not sink.running
    assert threading.active_count() == threads
    assert len(_fds()) == fds
    assert store.count == 20 and all(0 not in pair for pair in ports)


def test_stop_closes_open_sessions_and_pending_handshakes(make_sink: Callable[..., SmtpSink]) -> None:
    fds = len(_fds())
    sink = make_sink()
    idle = connect(sink)  # an SMTP session in the middle of nothing
    idle.ehlo()
    half_open = socket.create_connection(("127.0.0.1", sink.smtps_port), timeout=TIMEOUT)  # no ClientHello
    tls_session = connect(sink, "smtps")
    try:
        sink.stop()
        assert half_open.recv(1) == b""  # the sink closed it
        with pytest.raises(smtplib.SMTPServerDisconnected):
            idle.noop()
        with pytest.raises((smtplib.SMTPServerDisconnected, ssl.SSLError, ConnectionError)):
            tls_session.noop()
    finally:
        idle.close()
        half_open.close()
        tls_session.close()
    assert len(_fds()) == fds


def test_start_fails_clearly_when_the_port_is_taken(tls: TlsMaterial) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        sink = SmtpSink(store=MailStore(), tls=tls, smtps_port=port)
        with pytest.raises(ServerError, match=rf"cannot listen on 127.0.0.1:{port} for smtps.*--smtps-port"):
            sink.start()
        assert not sink.running and sink.smtps_port == port


def test_start_twice_is_an_error_and_stop_is_idempotent(sink: SmtpSink) -> None:
    with pytest.raises(ServerError, match="already running"):
        sink.start()
    sink.stop()
    sink.stop()


def test_context_manager_and_ipv6_loopback(tls: TlsMaterial) -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        pytest.skip("no IPv6 loopback")
    with SmtpSink(store=MailStore(), tls=tls, host="::1") as sink:
        with smtplib.SMTP("::1", sink.smtp_port, local_hostname="t", timeout=TIMEOUT) as smtp:
            smtp.starttls(context=sink.tls.client_context())
            smtp.sendmail("a@example.com", ["b@example.org"], MESSAGE)
        (message,) = sink.wait_for(timeout=TIMEOUT)
        assert message.peer.startswith("[::1]:") and message.tls is not None


def test_help_still_lists_the_overridden_commands(sink: SmtpSink) -> None:
    with connect(sink) as smtp:
        reply = smtp.help()
    assert reply.startswith(b"Supported commands:")
    for command in (b"EHLO", b"HELO", b"MAIL", b"RCPT", b"AUTH", b"STARTTLS", b"DATA"):
        assert command in reply


# -- DATA reading (smtp/data.py) -------------------------------------------------------------------------------


def _read(data: bytes, limit: int | None = 1000, line_limit: int = 1001) -> tuple[str, bytes]:
    import asyncio

    from mockserver.smtp.data import read_data

    async def run() -> tuple[str, bytes]:
        reader = asyncio.StreamReader(limit=line_limit)
        reader.feed_data(data)
        reader.feed_eof()
        outcome, unstuffed = await read_data(reader, limit, line_limit)
        return outcome, bytes(unstuffed)

    return asyncio.run(run())


def test_data_is_unstuffed_and_ends_at_the_lone_dot() -> None:
    assert _read(b"a\r\n..b\r\n.c\r\n\r\n.\r\nQUIT\r\n") == ("ok", b"a\r\n.b\r\nc\r\n\r\n")


def test_data_over_the_size_limit_is_too_much_and_read_to_the_dot() -> None:
    assert _read(b"x" * 98 + b"\r\n" * 1 + (b"y" * 98 + b"\r\n") * 20 + b".\r\n") == ("too_much", b"")


def test_a_data_line_over_the_reader_limit_is_too_long_and_its_tail_is_not_the_end() -> None:
    # the rest of the long line is ".\r\n": not the end of DATA, the next lone dot is
    assert _read(b"z" * 3000 + b".\r\nafter\r\n.\r\n", limit=None) == ("too_long", b"")
