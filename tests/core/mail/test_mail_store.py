"""MailStore: parsing, filters, bounds, the event-driven wait_for and its failure message."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest

from mockserver.core.mail.store import CORRELATION_HEADER, MailStore
from mockserver.errors import AssertionHelperError, BadRequest, NotFound

MULTIPART = (
    b"From: =?utf-8?q?J=C3=BCrgen?= <jurgen@example.com>\r\n"
    b"To: Bob <bob@example.org>, carol@example.org\r\n"
    b"Subject: =?utf-8?b?R3LDvMOfZQ==?= from the test\r\n"
    b"Date: Mon, 06 May 2024 10:00:00 +0000\r\n"
    b"Message-ID: <abc@example.com>\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/alternative; boundary="b1"\r\n'
    b"\r\n"
    b"--b1\r\n"
    b"Content-Type: text/html; charset=utf-8\r\n\r\n"
    b"<p>html</p>\r\n"
    b"--b1\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
    b"Hall=C3=B6chen\r\n"
    b"--b1--\r\n"
)


def simple(subject: str = "hello", extra: str = "") -> bytes:
    return f"Subject: {subject}\r\nFrom: a@example.com\r\nTo: team@example.org\r\n{extra}\r\nbody\r\n".encode()


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2024, 5, 6, 10, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def test_add_parses_headers_and_text_body() -> None:
    store = MailStore()
    message = store.add(
        MULTIPART,
        mail_from="jurgen@example.com",
        rcpt_tos=["bob@example.org", "carol@example.org"],
        peer="127.0.0.1:50000",
        listener="smtps",
        tls={"version": "TLSv1.3", "cipher": "TLS_AES_256_GCM_SHA384"},
        auth_user="jurgen",
    )
    assert message.id == 1
    assert message.subject == "Grüße from the test"
    assert message.from_ == "Jürgen <jurgen@example.com>"
    assert message.to == "Bob <bob@example.org>, carol@example.org"
    assert message.date == "Mon, 06 May 2024 10:00:00 +0000"
    assert message.message_id == "<abc@example.com>"
    assert message.text is not None and message.text.strip() == "Hallöchen"
    assert message.raw == MULTIPART and not message.raw_truncated and message.size == len(MULTIPART)
    assert datetime.fromisoformat(message.received_at).tzinfo is not None


def test_to_dict_is_camel_case_without_raw() -> None:
    store = MailStore()
    message = store.add(simple(), mail_from="a@example.com", rcpt_tos=["b@example.org"], peer="127.0.0.1:1")
    data = message.to_dict()
    assert "raw" not in data
    assert data["rawSize"] == len(simple()) and data["rawTruncated"] is False
    assert data["mailFrom"] == "a@example.com" and data["rcptTos"] == ["b@example.org"]
    assert data["from"] == "a@example.com" and data["authUser"] is None and data["tls"] is None
    assert set(data) >= {"id", "receivedAt", "subject", "to", "date", "messageId", "text", "size", "peer"}
    assert data["testconnection"] is None and data["transcript"] is None


def test_raw_is_capped_but_size_and_parsing_use_the_whole_message() -> None:
    store = MailStore(raw_limit=10)
    raw = simple(subject="a long one")
    message = store.add(raw, mail_from="a@x", rcpt_tos=["b@y"])
    assert message.raw == raw[:10] and message.raw_truncated
    assert message.size == len(raw) and message.subject == "a long one"
    assert message.to_dict()["rawSize"] == 10


def test_a_big_message_keeps_at_most_raw_limit_of_text_and_says_it_was_cut() -> None:
    store = MailStore(raw_limit=100_000)
    raw = b"Subject: big\r\nContent-Type: text/plain\r\n\r\n" + b"z" * 998 + b"\r\n"
    raw = raw + (b"z" * 998 + b"\r\n") * 5000  # 5 MB of text
    message = store.add(raw, mail_from="a@x", rcpt_tos=["b@y"])
    assert message.subject == "big" and message.raw_truncated and len(message.raw) == 100_000
    assert message.text is not None and 90_000 < len(message.text) <= 100_000
    assert message.text_truncated and message.to_dict()["textTruncated"] is True


def test_text_is_cut_to_raw_limit_characters_even_when_parsed_from_a_longer_start() -> None:
    store = MailStore(raw_limit=1000)  # parsed from the first 64 KiB (headers survive), text still at most 1000
    raw = b"Subject: cut\r\n\r\n" + b"a" * 50_000
    message = store.add(raw, mail_from="a@x", rcpt_tos=["b@y"])
    assert message.subject == "cut" and message.text == "a" * 1000 and message.text_truncated


def test_a_text_part_before_a_cut_attachment_is_whole() -> None:
    attachment = b"QUFB" * 200_000
    raw = (
        b'Subject: report\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
        b"--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n" + attachment + b"\r\n--b--\r\n"
    )
    message = MailStore(raw_limit=10_000).add(raw, mail_from="a@x", rcpt_tos=["b@y"])
    assert message.raw_truncated and message.text == "see attached" and not message.text_truncated


def test_a_big_html_body_is_bounded_and_marked_too() -> None:
    raw = b"Subject: page\r\nContent-Type: text/html\r\n\r\n<p>" + b"h" * 3_000_000 + b"</p>\r\n"
    message = MailStore(raw_limit=200_000).add(raw, mail_from="a@x", rcpt_tos=["b@y"])
    assert message.html is not None and len(message.html) <= 200_000 and message.html_truncated
    assert message.text is None and not message.text_truncated
    assert message.to_dict()["htmlTruncated"] is True


def test_a_whole_message_is_not_marked_truncated() -> None:
    message = MailStore().add(MULTIPART, mail_from="a@x", rcpt_tos=["b@y"])
    assert not message.text_truncated and message.to_dict()["textTruncated"] is False


@pytest.mark.parametrize(
    "raw",
    [b"", b"\xff\xfe garbage without headers", b"Subject: =?bogus?x?zz?=\r\nTo: <<<\r\n\r\n\xff", b"\r\n\r\n"],
)
def test_bad_mail_never_raises(raw: bytes) -> None:
    message = MailStore().add(raw, mail_from="", rcpt_tos=["b@y"])
    assert message.size == len(raw)


def test_ids_increase_and_are_never_reused_after_clear() -> None:
    store = MailStore()
    first = store.add(simple(), mail_from="a@x", rcpt_tos=["b@y"])
    store.clear()
    assert store.count == 0 and store.list() == []
    second = store.add(simple(), mail_from="a@x", rcpt_tos=["b@y"])
    assert (first.id, second.id) == (1, 2)


def test_store_stays_bounded_under_5000_messages() -> None:
    store = MailStore(limit=1000)
    for index in range(5000):
        store.add(simple(subject=f"m{index}"), mail_from="a@x", rcpt_tos=["b@y"])
    kept = store.list()
    assert store.count == len(store) == 1000 == len(kept)
    assert [m.id for m in kept] == list(range(4001, 5001))
    assert kept[0].subject == "m4000"
    with pytest.raises(NotFound, match="holds ids 4001-5000"):
        store.get(1)


def test_get() -> None:
    store = MailStore()
    message = store.add(simple(), mail_from="a@x", rcpt_tos=["b@y"])
    assert store.get(message.id) is message
    with pytest.raises(NotFound, match="no captured message with id 99"):
        store.get(99)


def test_filters_are_case_insensitive_substrings_of_envelope_and_headers() -> None:
    store = MailStore()
    one = store.add(simple("Quarterly Report"), mail_from="Alice@Example.com", rcpt_tos=["ops@corp.example"])
    two = store.add(MULTIPART, mail_from="bounce@lists.example", rcpt_tos=["carol@example.org"])
    assert store.list(to="OPS@corp") == [one]
    assert store.list(to="TEAM@example") == [one]  # the To header of `one`
    assert store.list(to="bob@") == [two]  # only in the To header of `two`
    assert store.list(from_="alice") == [one]
    assert store.list(from_="jurgen") == [two]  # From header, envelope differs
    assert store.list(subject="report") == [one]
    assert store.list(subject="grüße") == [two]
    assert store.list(to="example", subject="report") == [one]
    assert store.list(to="nobody") == []


def test_since_takes_a_message_id_or_an_iso_time() -> None:
    clock = Clock()
    store = MailStore(clock=clock)
    first = store.add(simple(), mail_from="a@x", rcpt_tos=["b@y"])
    clock.now += timedelta(minutes=5)
    second = store.add(simple(), mail_from="a@x", rcpt_tos=["b@y"])
    assert store.list(since=first.id) == [second]
    assert store.list(since=str(first.id)) == [second]
    assert store.list(since=0) == [first, second]
    assert store.list(since="2024-05-06T10:01:00Z") == [second]
    assert store.list(since="2024-05-06T10:00:00") == [first, second]  # naive means UTC
    assert store.list(since=datetime(2024, 5, 6, 12, 4, tzinfo=timezone(timedelta(hours=2)))) == [second]
    with pytest.raises(BadRequest, match="since must be a message id"):
        store.list(since="yesterday")


def test_wait_for_returns_at_once_when_enough_matches_exist() -> None:
    store = MailStore()
    store.add(simple("a"), mail_from="a@x", rcpt_tos=["b@y"])
    store.add(simple("b"), mail_from="a@x", rcpt_tos=["b@y"])
    assert [m.subject for m in store.wait_for(count=2, timeout=0)] == ["a", "b"]
    assert [m.subject for m in store.wait_for(subject="b", timeout=0)] == ["b"]


def test_wait_for_is_woken_by_a_capture_from_another_thread() -> None:
    store = MailStore()
    waiting = threading.Event()
    result: list[object] = []

    def waiter() -> None:
        waiting.set()
        result.extend(store.wait_for(count=2, timeout=10, to="target"))

    thread = threading.Thread(target=waiter)
    thread.start()
    assert waiting.wait(5)
    store.add(simple(), mail_from="a@x", rcpt_tos=["other@y"])
    store.add(simple(), mail_from="a@x", rcpt_tos=["target@y"])
    store.add(simple(), mail_from="a@x", rcpt_tos=["target@z"])
    thread.join(10)
    assert not thread.is_alive()
    assert [m.rcpt_tos for m in result] == [["target@y"], ["target@z"]]  # type: ignore[attr-defined]


class _SignallingCondition(threading.Condition):
    """A Condition that says when a waiter is about to sleep (still holding the lock, so no notify is missed)."""

    def __init__(self) -> None:
        super().__init__()
        self.sleeping = threading.Event()

    def wait(self, timeout: float | None = None) -> bool:
        self.sleeping.set()
        return super().wait(timeout)


def _wait_in_thread(store: MailStore, **kwargs: object) -> tuple[threading.Thread, list[object]]:
    outcome: list[object] = []

    def waiter() -> None:
        try:
            outcome.append(store.wait_for(**kwargs))  # type: ignore[arg-type]
        except AssertionHelperError as exc:
            outcome.append(exc)

    thread = threading.Thread(target=waiter)
    thread.start()
    return thread, outcome


def test_interrupt_waiters_wakes_a_pending_wait_and_a_later_wait_is_normal() -> None:
    store = MailStore()
    cond = store._cond = _SignallingCondition()
    thread, outcome = _wait_in_thread(store, count=1, timeout=30, to="target")
    assert cond.sleeping.wait(10)
    store.interrupt_waiters()
    thread.join(10)
    assert not thread.is_alive()
    (error,) = outcome
    assert isinstance(error, AssertionHelperError) and "interrupted (the server is stopping)" in str(error)
    # only pending waits are interrupted: the next one waits for its message
    cond.sleeping.clear()
    thread, outcome = _wait_in_thread(store, count=1, timeout=30, to="target")
    assert cond.sleeping.wait(10)
    store.add(simple(), mail_from="a@x", rcpt_tos=["target@y"])
    thread.join(10)
    assert not thread.is_alive()
    assert [[m.rcpt_tos for m in found] for found in outcome] == [[["target@y"]]]  # type: ignore[attr-defined]


def test_a_set_cancel_event_ends_a_wait_before_or_during_it() -> None:
    store = MailStore()
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(AssertionHelperError, match="interrupted"):
        store.wait_for(count=1, timeout=30, cancel=cancel)
    cond = store._cond = _SignallingCondition()
    cancel.clear()
    thread, outcome = _wait_in_thread(store, count=1, timeout=30, cancel=cancel)
    assert cond.sleeping.wait(10)
    cancel.set()
    store.interrupt_waiters()
    thread.join(10)
    assert not thread.is_alive() and isinstance(outcome[0], AssertionHelperError)


def test_wait_for_timeout_lists_what_was_captured_and_the_filters() -> None:
    store = MailStore()
    store.add(simple("Welcome"), mail_from="noreply@example.com", rcpt_tos=["bob@example.org"])
    store.add(simple("Reset"), mail_from="noreply@example.com", rcpt_tos=["eve@example.org"])
    with pytest.raises(AssertionHelperError) as caught:
        store.wait_for(count=1, timeout=0.05, to="alice", subject="Invoice")
    text = str(caught.value)
    assert "to='alice'" in text and "subject='Invoice'" in text and "0 matched" in text
    assert "#1 from=<noreply@example.com> to=<bob@example.org> subject='Welcome'" in text
    assert "#2 from=<noreply@example.com> to=<eve@example.org> subject='Reset'" in text
    assert isinstance(caught.value, AssertionError)


def test_wait_for_timeout_on_an_empty_store_says_so() -> None:
    with pytest.raises(AssertionHelperError, match="Nothing was captured"):
        MailStore().wait_for(timeout=0)


def test_concurrent_adds_get_unique_ids() -> None:
    store = MailStore(limit=10_000)
    barrier = threading.Barrier(4)

    def add_many() -> None:
        barrier.wait(5)
        for _ in range(250):
            store.add(simple(), mail_from="a@x", rcpt_tos=["b@y"])

    threads = [threading.Thread(target=add_many) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    ids = [m.id for m in store.list()]
    assert ids == sorted(set(ids)) and len(ids) == 1000


def test_attach_testconnection_by_correlation() -> None:
    store = MailStore()
    store.add(simple(extra=f"{CORRELATION_HEADER}: tok-1\r\n"), mail_from="a@x", rcpt_tos=["b@y"])
    other = store.add(simple(), mail_from="a@x", rcpt_tos=["b@y"])
    info = {"requestId": "r1", "host": "smtp.example.com", "port": 587, "encryptionType": "Tls"}
    message = store.attach_testconnection("tok-1", info, ["C: EHLO x", "S: 250 ok"])
    assert message is not None and message is store.find_by_correlation("tok-1")
    assert message.testconnection == info and message.transcript == ["C: EHLO x", "S: 250 ok"]
    assert message.to_dict()["testconnection"]["host"] == "smtp.example.com"
    assert other.testconnection is None
    assert store.attach_testconnection("missing", info, []) is None
    assert store.find_by_correlation("missing") is None


def test_invalid_limits() -> None:
    with pytest.raises(ValueError):
        MailStore(limit=0)
    with pytest.raises(ValueError):
        MailStore().wait_for(count=0)


def test_find_by_correlation_uses_the_capture_index_and_forgets_evicted_mail() -> None:
    from mockserver.core.mail.store import MailStore

    store = MailStore(limit=2)
    for n in range(3):
        store.add(
            f"X-Cxmock-Correlation: c{n}\r\nSubject: s{n}\r\n\r\nbody".encode(),
            mail_from="a@x.org",
            rcpt_tos=["b@x.org"],
        )
    assert store.find_by_correlation("c0") is None  # evicted with its index entry
    found = store.find_by_correlation("c2")
    assert found is not None and found.subject == "s2"
    store.clear()
    assert store.find_by_correlation("c2") is None
