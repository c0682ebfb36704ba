"""``Journal.record_later``: the request thread keeps raw facts, the entry is redacted when read (#14).

What a reader sees must be what ``record`` gives; no raw secret may show through any way of looking at the journal.
"""

from __future__ import annotations

import json

from mockserver.core.journal.journal import REDACTED, Journal
from mockserver.core.journal.pending import RAW_BODY_LIMIT

SECRET = "s3cr3t-value-xyz"
FACTS = {
    "method": "post",
    "path": "/cxrestapi/auth/SMTPSettings",
    "query": f"access_token={SECRET}&page=1",
    "headers": [("Authorization", f"Bearer {SECRET}"), ("Accept", "application/json")],
    "body": json.dumps({"host": "smtp.example.com", "password": SECRET}).encode(),
    "content_type": "application/json",
    "status": 201,
    "operation_id": "createSmtpSettings",
    "response_body": json.dumps({"access_token": SECRET, "id": 3}).encode(),
    "response_content_type": "application/json",
}


def test_an_entry_recorded_later_reads_as_one_recorded_at_once() -> None:
    later, now = Journal(), Journal()
    later.record_later(**FACTS)
    eager = now.record(**FACTS)
    (lazy,) = later.entries()
    assert lazy.to_dict() | {"time": ""} == eager.to_dict() | {"time": ""}
    assert lazy.headers["Authorization"] != f"Bearer {SECRET}"
    assert lazy.body["password"] == REDACTED
    assert lazy.response_body["access_token"] == REDACTED
    assert later.entries()[0] is lazy  # built once


def test_no_way_of_looking_at_the_journal_shows_a_raw_secret() -> None:
    journal = Journal()
    request_id = journal.record_later(**FACTS)
    assert request_id == 1
    assert SECRET not in repr(list(journal._entries))
    assert SECRET not in repr(journal.entries())
    assert SECRET not in json.dumps([e.to_dict() for e in journal.entries()])
    assert SECRET not in repr(list(journal._entries))


def test_a_large_body_is_redacted_at_once_not_kept_raw() -> None:
    journal = Journal()
    big = json.dumps({"password": SECRET, "pad": "x" * RAW_BODY_LIMIT}).encode()
    journal.record_later(**{**FACTS, "body": big, "response_body": big})
    (pending,) = journal._entries
    assert pending._build is not None
    closure = [c.cell_contents for c in pending._build.__closure__ or ()]
    assert big not in closure
    assert journal.entries()[0].body["password"] == REDACTED
    assert journal.entries()[0].response_body["truncated"] is True


def test_filters_select_entries_before_they_are_built() -> None:
    journal = Journal()
    for status in (200, 404, 200):
        journal.record_later(**{**FACTS, "status": status})
    assert [e.id for e in journal.entries(status="4xx")] == [2]
    built = [p._entry is not None for p in journal._entries]
    assert built == [False, True, False]
