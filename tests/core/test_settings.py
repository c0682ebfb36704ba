"""The settings store (mockserver/core/settings.py): ids, seed and reset, write-only password, thread safety."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from mockserver.core.settings import SettingsRecord, SettingsStore
from mockserver.errors import NotFound

FIELDS: dict[str, Any] = {
    "host": "smtp.example.org",
    "port": 25,
    "encryption_type": "Tls",
    "from_address": "a@example.org",
    "use_default_credentials": False,
    "username": "user",
    "password": "store-secret",
}


def test_ids_start_at_one_and_increase() -> None:
    store = SettingsStore()
    ids = [store.create(FIELDS).id for _ in range(3)]
    assert ids == [1, 2, 3]


def test_deleted_ids_are_not_reused() -> None:
    store = SettingsStore()
    first = store.create(FIELDS).id
    second = store.create(FIELDS).id
    store.delete(second)
    assert store.create(FIELDS).id == second + 1
    store.delete(first)
    assert store.create(FIELDS).id > first


def test_reset_restores_the_seed_without_reusing_created_ids() -> None:
    store = SettingsStore([{**FIELDS, "host": "seed.example.org"}])
    assert [r.host for r in store.list()] == ["seed.example.org"]
    created = store.create(FIELDS).id
    store.reset()
    assert [r.host for r in store.list()] == ["seed.example.org"]
    assert created not in [r.id for r in store.list()]
    assert store.create(FIELDS).id > created


def test_seed_ids_are_honoured_when_free() -> None:
    store = SettingsStore([{**FIELDS, "id": 10}, FIELDS])
    assert [r.id for r in store.list()] == [10, 11]
    assert store.create(FIELDS).id == 12


def test_set_seed_replaces_the_records() -> None:
    store = SettingsStore([FIELDS])
    store.set_seed([{**FIELDS, "host": "a.org"}, {**FIELDS, "host": "b.org"}])
    assert [r.host for r in store.list()] == ["a.org", "b.org"]
    store.set_seed([])
    assert store.list() == [] and len(store) == 0


def test_get_update_delete_unknown_id_raise_not_found() -> None:
    store = SettingsStore()
    for action in (lambda: store.get(7), lambda: store.update(7, FIELDS), lambda: store.delete(7)):
        with pytest.raises(NotFound, match="7"):
            action()


def test_update_replaces_the_record_and_keeps_a_missing_password() -> None:
    store = SettingsStore()
    record = store.create(FIELDS)
    updated = store.update(record.id, {**FIELDS, "host": "new.org", "password": None})
    assert updated.host == "new.org" and updated.password == "store-secret"
    no_key = {k: v for k, v in FIELDS.items() if k != "password"}
    assert store.update(record.id, {**no_key, "port": 26}).password == "store-secret"
    assert store.update(record.id, {**FIELDS, "password": "new"}).password == "new"
    assert store.get(record.id).port == 25


def test_public_view_never_has_the_password() -> None:
    record = SettingsStore().create(FIELDS)
    view = record.public()
    assert "password" not in view
    assert "store-secret" not in repr(view)
    assert view == {
        "id": 1,
        "host": "smtp.example.org",
        "port": 25,
        "encryptionType": "Tls",
        "fromAddress": "a@example.org",
        "useDefaultCredentials": False,
        "username": "user",
        "displayName": None,
    }
    assert record.has_password


def test_records_are_immutable() -> None:
    record = SettingsStore().create(FIELDS)
    with pytest.raises(AttributeError):
        record.host = "x"  # type: ignore[misc]
    assert isinstance(record, SettingsRecord)


def test_concurrent_creates_get_unique_ids() -> None:
    store = SettingsStore()
    per_thread, threads = 200, 8
    results: list[list[int]] = [[] for _ in range(threads)]
    start = threading.Barrier(threads)

    def work(slot: list[int]) -> None:
        start.wait(timeout=10)
        for _ in range(per_thread):
            slot.append(store.create(FIELDS).id)

    workers = [threading.Thread(target=work, args=(results[i],), name=f"store-{i}") for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)
        assert not worker.is_alive()
    ids = [i for slot in results for i in slot]
    assert len(ids) == len(set(ids)) == per_thread * threads
    assert len(store) == per_thread * threads
    assert sorted(ids) == list(range(1, per_thread * threads + 1))


def test_concurrent_updates_and_resets_never_lose_or_duplicate() -> None:
    store = SettingsStore([FIELDS])
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def updater() -> None:
        start.wait(timeout=10)
        for i in range(300):
            for record in store.list():
                try:
                    store.update(record.id, {**FIELDS, "port": i + 1})
                except NotFound:
                    pass  # reset meanwhile: the old id is gone, as it must be
                except BaseException as exc:  # noqa: BLE001
                    errors.append(exc)

    def resetter() -> None:
        start.wait(timeout=10)
        for _ in range(100):
            store.reset()

    workers = [threading.Thread(target=updater) for _ in range(3)] + [threading.Thread(target=resetter)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)
    assert not errors
    assert len(store) == 1
    ids = [r.id for r in store.list()]
    assert len(ids) == len(set(ids))


def test_seed_ids_are_stable_across_resets_and_created_ids_never_come_back() -> None:
    from mockserver.core.settings import SettingsStore

    sample = {
        "host": "pod55017.outlook.com",
        "port": 521,
        "encryption_type": "Tls",
        "from_address": "noreply@check.org",
        "use_default_credentials": True,
    }
    store = SettingsStore([{**sample, "id": 1}, sample])
    assert [r.id for r in store.list()] == [1, 2]
    created = store.create(sample).id
    store.delete(1)
    store.reset()
    assert [r.id for r in store.list()] == [1, 2]  # the seed, exactly: GET /SMTPSettings/1 works after every reset
    assert store.create(sample).id > created  # a created record's id is never handed out again
    store.load([sample])  # a per-test seed without ids: fresh ids
    assert [r.id for r in store.list()] == [created + 2]
