"""The mail index (#26): ``list``/``wait_for`` answer exactly what a scan of every held message answers, in the same
order, through captures, evictions and clears; the index holds only what the store holds."""

from __future__ import annotations

import random
import threading
from typing import Any

from mockserver.core.mail.filters import matcher
from mockserver.core.mail.index import COMMON, MAX_INDEXED_CHARS, MailIndex
from mockserver.core.mail.store import CapturedMessage, MailStore

ADDRESSES = ["bob@example.org", "jimbob@example.org", "Carol@Example.ORG", "straße@example.de", "x@y.z", "ab@c"]
SUBJECTS = ["Hello", "hello world", "SMTP test message", "Grüße", "STRASSE", "", "re: hello"]
NEEDLES = ["bob@example.org", "BOB", "example", "carol@example.org", "ss", "STRASSE", "straße", "hello", "Hello W",
           "smtp test", "@", "nobody", "x@y", "e.org", "", "Grüße"]  # fmt: skip


def mail(to: str, subject: str, header_to: str | None = None) -> bytes:
    return f"Subject: {subject}\r\nFrom: Sender <s@example.com>\r\nTo: {header_to or to}\r\n\r\nbody\r\n".encode()


def scan(store: MailStore, **filters: Any) -> list[int]:
    """What the store answered before the index: every held message through the filter, oldest first."""
    match = matcher(
        to=filters.get("to"), from_=filters.get("from_"), subject=filters.get("subject"), since=filters.get("since")
    )
    return [m.id for m in store._snapshot() if match(m)]


def ids(messages: list[CapturedMessage]) -> list[int]:
    return [m.id for m in messages]


def fill(store: MailStore, rng: random.Random, count: int) -> None:
    for _ in range(count):
        to = rng.choice(ADDRESSES)
        store.add(
            mail(to, rng.choice(SUBJECTS), header_to=rng.choice([None, rng.choice(ADDRESSES)])),
            mail_from=rng.choice(["s@example.com", "bob@example.org"]),
            rcpt_tos=[to, *rng.sample(ADDRESSES, rng.randint(0, 2))],
        )


def test_list_answers_what_a_scan_answers_through_captures_evictions_and_clears() -> None:
    rng = random.Random(26)
    store = MailStore(limit=40)
    for round_ in range(30):
        fill(store, rng, rng.randint(0, 25))
        if round_ % 11 == 10:
            store.clear()
        for _ in range(12):
            keys = rng.sample(["to", "from_", "subject"], rng.randint(1, 3))
            filters: dict[str, Any] = {key: rng.choice(NEEDLES) for key in keys}
            if rng.random() < 0.3:
                filters["since"] = rng.choice([0, 5, 30, 60, "12", "2000-01-01T00:00:00Z"])
            assert ids(store.list(**filters)) == scan(store, **filters), filters


def test_wait_for_answers_what_a_scan_answers() -> None:
    rng = random.Random(7)
    store = MailStore(limit=30)
    fill(store, rng, 80)
    for needle in NEEDLES:
        expected = scan(store, to=needle)
        if expected:
            assert ids(store.wait_for(1, 0.0, to=needle)) == expected


def test_a_recipient_check_is_not_fooled_by_a_longer_address_containing_it() -> None:
    store = MailStore()
    store.add(mail("jimbob@example.org", "one"), mail_from="a@x", rcpt_tos=["jimbob@example.org"])
    store.add(mail("bob@example.org", "two"), mail_from="a@x", rcpt_tos=["bob@example.org"])
    assert [m.subject for m in store.list(to="bob@example.org")] == ["one", "two"]
    assert [m.subject for m in store.list(to="JIMBOB")] == ["one"]


def test_a_value_longer_than_what_is_indexed_still_matches_beyond_it() -> None:
    store = MailStore()
    subject = "x" * (MAX_INDEXED_CHARS + 50) + " the end"
    store.add(mail("a@example.org", subject), mail_from="a@x", rcpt_tos=["a@example.org"])
    store.add(mail("b@example.org", "short"), mail_from="a@x", rcpt_tos=["b@example.org"])
    assert ids(store.list(subject="the end")) == [1]
    assert ids(store.list(subject="short")) == [2]


def test_the_index_holds_only_held_messages() -> None:
    store = MailStore(limit=10)
    for round_ in range(50):
        for i in range(7):
            to = f"user{round_}-{i}@example.org"
            store.add(mail(to, f"round {round_}"), mail_from="a@x", rcpt_tos=[to])
        assert len(store.list(to=f"user{round_}-3@example.org")) == 1
        assert len(store._index) <= store.limit
        # every held message has at most ~40 trigrams here: what is indexed follows what is held
        assert store._index.entries() <= store.limit * 40
    store.clear()
    assert store.list(to="user49") == [] and len(store._index) == 0 and store._index.entries() == 0


def test_a_waiter_sees_each_capture_of_another_thread() -> None:
    store = MailStore(limit=1000)
    total = 300
    errors: list[BaseException] = []

    def sender() -> None:
        try:
            for i in range(total):
                to = f"user{i}@example.org"
                store.add(mail(to, f"n{i}"), mail_from="a@x", rcpt_tos=[to])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    thread = threading.Thread(target=sender)
    thread.start()
    try:
        for i in range(0, total, 7):
            found = store.wait_for(1, 10.0, to=f"user{i}@example.org", since=max(0, i - 40))
            assert [m.subject for m in found] == [f"n{i}"]
    finally:
        thread.join(10)
    assert not errors


def test_index_candidates_are_a_superset_and_none_when_it_cannot_narrow() -> None:
    index = MailIndex()
    index.add(1, {"to": ["bob@example.org"], "subject": ["Hi"]})
    index.add(2, {"to": ["carol@example.org"], "subject": ["Hi there"]})
    assert index.candidates({"to": "BOB@"}) == {1}
    assert index.candidates({"to": "example", "subject": "there"}) == {2}
    assert index.candidates({"to": "zzz"}) == set()
    assert index.candidates({"to": "bo", "subject": None}) is None
    index.remove(1)
    index.remove(1)
    assert index.candidates({"to": "bob"}) == set() and len(index) == 1


def test_trigrams_common_to_many_messages_stop_being_indexed_and_answers_stay_the_scans() -> None:
    store = MailStore(limit=COMMON * 2)
    for i in range(COMMON * 3):  # "example.org" and "test message" in every one, the numbers in few
        to = f"user{i}@example.org"
        store.add(mail(to, f"test message {i}"), mail_from="a@x", rcpt_tos=[to])
        if i % 97 == 0:
            assert ids(store.list(to=f"user{i}@")) == [i + 1]
    assert ("to", "exa") in set(store._index.stop_trigrams())
    for filters in (
        {"to": "user700@example.org"},
        {"to": "example.org"},
        {"to": "EXAMPLE", "subject": "message 7"},
        {"subject": "test message"},
        {"to": "user70", "since": 705},
        {"to": "nobody@example.org"},
    ):
        assert ids(store.list(**filters)) == scan(store, **filters), filters
