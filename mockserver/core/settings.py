"""SMTP settings records and their thread-safe in-memory store.

Ids are assigned by the store, increase, and are never reused within a run (not even after ``reset``).
The password is kept in the record but never part of ``public()``: no endpoint can return it.
"""

from __future__ import annotations

import builtins
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from ..errors import BadRequest, NotFound
from .jsonnames import camel_fields

#: ids are the service's ``int`` (Int32)
INT32_MAX = 2_147_483_647

__all__ = ["SettingsRecord", "SettingsStore"]


#: the members the API returns of a record, in the order it shows them (never the password)
PUBLIC_FIELDS = (
    "id",
    "host",
    "port",
    "encryption_type",
    "from_address",
    "use_default_credentials",
    "username",
    "display_name",
)


@dataclass(frozen=True)
class SettingsRecord:
    id: int
    host: str
    port: int
    encryption_type: str
    from_address: str
    use_default_credentials: bool
    username: str | None
    password: str | None
    display_name: str | None = None

    def public(self) -> dict[str, Any]:
        """The record as the API returns it: vendor JSON names, no password."""
        return camel_fields(self, *PUBLIC_FIELDS)

    @property
    def has_password(self) -> bool:
        return self.password is not None


class SettingsStore:
    """Thread-safe repository of :class:`SettingsRecord`.

    :param seed: records (canonical field dicts, see :func:`mockserver.core.contract.parse_seed`) restored by
        :meth:`reset`.
    :param limit: how many records :meth:`create` lets the store hold (``None``: no limit); one more is a 400.
    """

    def __init__(self, seed: Iterable[Mapping[str, Any]] = (), *, limit: int | None = None) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._records: dict[int, SettingsRecord] = {}
        self._next_id = 1
        self._seed: list[dict[str, Any]] = []
        self.set_seed(seed)

    # -- seed -----------------------------------------------------------------------------------------------
    def set_seed(self, seed: Iterable[Mapping[str, Any]]) -> None:
        """Replace the seed (applied now and by every later :meth:`reset`).

        When every Int32 id was issued (a seed near 2147483647, then creates), a new seed starts the ids again
        above its own: the one way, short of a restart, to create records again (#23)."""
        with self._lock:
            if self._next_id > INT32_MAX:
                self._next_id = 1
        self._seed = self._with_ids(seed)
        self.reset()

    def reset(self) -> None:
        """Restore the seed exactly, ids included: the vendor sample is ``/SMTPSettings/1`` after every reset.

        Records created at run time always get ids above every id issued or seeded so far, so a reset never
        makes an id of a created record valid again.
        """
        self.load(self._seed)

    def load(self, records: Iterable[Mapping[str, Any]]) -> None:
        """Replace the current records with ``records`` (until the next :meth:`reset`; the seed is unchanged).

        A record's ``id`` is kept when given; records without one get fresh ids.
        """
        with_ids = self._with_ids(records)
        built = {fields["id"]: _record(fields["id"], fields) for fields in with_ids}  # readers need not wait for it
        with self._lock:
            self._records = built

    def _with_ids(self, records: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Copies of ``records``, each with an id; fresh ids come after every id seen so far."""
        out = [dict(r) for r in records]
        with self._lock:
            self._next_id = max([self._next_id] + [r["id"] + 1 for r in out if isinstance(r.get("id"), int)])
            taken = {r["id"] for r in out if isinstance(r.get("id"), int)}
            for fields in out:
                if not isinstance(fields.get("id"), int):
                    while self._next_id in taken:
                        self._next_id += 1
                    fields["id"] = self._next_id
                    self._next_id += 1
        return out

    # -- CRUD -----------------------------------------------------------------------------------------------
    def list(self) -> list[SettingsRecord]:
        with self._lock:
            return [self._records[k] for k in sorted(self._records)]

    def list_at_most(self, limit: int) -> builtins.list[SettingsRecord] | None:
        """:meth:`list` when it holds at most ``limit`` records, else None (one look under the lock)."""
        with self._lock:
            if len(self._records) > limit:
                return None
            return [self._records[k] for k in sorted(self._records)]

    def get(self, record_id: int) -> SettingsRecord:
        with self._lock:
            try:
                return self._records[record_id]
            except KeyError:
                raise _not_found(record_id) from None

    def create(self, fields: Mapping[str, Any]) -> SettingsRecord:
        with self._lock:
            if self.limit is not None and len(self._records) >= self.limit:
                raise BadRequest(
                    f"this mock holds at most {self.limit} SMTP settings records (--settings-limit); delete some, "
                    "or reset the mock (POST /_mock/reset)"
                )
            new_id = self._next_id
            self._next_id += 1
            if new_id > INT32_MAX:
                raise BadRequest(
                    f"no more ids: ids are Int32 and {INT32_MAX} was issued; POST /_mock/reset does not reuse ids, "
                    "a new seed (POST /_mock/seed) or a restart starts them again"
                )
            record = _record(new_id, fields)
            self._records[new_id] = record
            return record

    def update(self, record_id: int, fields: Mapping[str, Any]) -> SettingsRecord:
        """Replace the whole record; a ``password`` of ``None`` keeps the stored password."""
        with self._lock:
            old = self._records.get(record_id)
            if old is None:
                raise _not_found(record_id)
            record = _record(record_id, fields)
            if record.password is None:
                record = replace(record, password=old.password)
            self._records[record_id] = record
            return record

    def delete(self, record_id: int) -> None:
        with self._lock:
            if self._records.pop(record_id, None) is None:
                raise _not_found(record_id)

    def __len__(self) -> int:
        with self._lock:
            return len(self._records)


def _record(record_id: int, fields: Mapping[str, Any]) -> SettingsRecord:
    return SettingsRecord(
        id=record_id,
        host=fields["host"],
        port=fields["port"],
        encryption_type=fields["encryption_type"],
        from_address=fields["from_address"],
        use_default_credentials=fields["use_default_credentials"],
        username=fields.get("username"),
        password=fields.get("password"),
        display_name=fields.get("display_name"),
    )


def _not_found(record_id: int) -> NotFound:
    return NotFound(
        f"SMTP settings with id {record_id} were not found; GET /cxrestapi/auth/SMTPSettings lists the existing ids."
    )
