"""``cxmock proxy --shadow``: each proxied request is also answered by an in-process mock, never sent to the
client; where its answer differs from the service's (status, members, types, headers that matter:
``core/drift/shapes.py``) a ``shadow`` finding goes to the drift list.

The shadow has its own state, kept in step with what the proxy saw, so that a difference means the contract, not
the data: a list or a record the service returned is loaded into it first (so reading them agrees), a record the
service updated or deleted exists in it, one the service does not know does not, and a record both created is
renumbered to the service's id. Its users are not the service's: it authenticates as its ``admin`` user when the
client sent a token, and as its ``viewer`` (no 'Manage System Settings') when the service answered 403; the
token endpoint is not shadowed (the mock does not know the service's users). testconnection really talks SMTP at
the service; the shadow's succeeds without a session, and 200 against 400 there is the network, not the contract.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from typing import Any

from ..config import Config
from ..core import contract
from ..core.drift.shapes import Answer, compare
from ..core.state import State
from ..errors import ConfigError
from ..http import create_app
from .upstream import UpstreamAnswer

__all__ = ["Shadow"]

_ITEM = re.compile(r"/cxrestapi/auth/smtpsettings/([0-9]{1,10})\Z", re.IGNORECASE)
_COLLECTION = re.compile(r"/cxrestapi/auth/smtpsettings\Z", re.IGNORECASE)
_KNOWN = ("host", "port", "encryptionType", "fromAddress", "useDefaultCredentials", "username", "displayName")
#: a record the service has and the shadow never saw: enough to answer PUT/DELETE as the service would
_PLACEHOLDER = {"host": "unknown.invalid", "port": 25, "fromAddress": "unknown@unknown.invalid"}


def _no_smtp(fields: dict[str, Any], *, on_fault: Callable[[dict[str, Any]], None] | None = None) -> None:
    """The shadow's testconnection: succeeds without an SMTP session (the service's session is the real one)."""
    return None


class Shadow:
    """The in-process mock that answers beside the service."""

    def __init__(self, config: Config) -> None:
        self.config = config.replace(seed="none", log_requests=False, validate_responses=False, faults=())
        self.state = State.from_config(self.config)
        self.app = create_app(self.state, smtp_test=_no_smtp)
        self._client = self.app.test_client()
        #: one request at a time: the test client and the records' sync are not meant for concurrent use
        self._lock = threading.Lock()

    def _token(self, username: str) -> str:
        form = {
            "grant_type": "password",
            "username": username,
            "password": username,
            "scope": "sast_rest_api access_control_api",
            "client_id": "resource_owner_client",
            "client_secret": self.config.client_secret,
        }
        token: str = self.state.identity.issue(form)["access_token"]
        return token

    def differences(
        self, method: str, path: str, query: str, headers: list[tuple[str, str]], body: bytes, service: UpstreamAnswer
    ) -> list[str]:
        """Answer the request in the shadow and return where its answer differs from the service's."""
        if "/identity/" in path.casefold():
            return []
        with self._lock:
            return self._differences(method, path, query, headers, body, service)

    def _differences(
        self, method: str, path: str, query: str, headers: list[tuple[str, str]], body: bytes, service: UpstreamAnswer
    ) -> list[str]:
        self._before(method, path, service)
        sent = [(k, v) for k, v in headers if k.lower() not in ("authorization", "host", "content-length")]
        if any(k.lower() == "authorization" for k, _ in headers):
            user = "viewer" if service.status == 403 else "admin"
            sent.append(("Authorization", f"Bearer {self._token(user)}"))
        response = self._client.open(path, method=method, query_string=query, headers=sent, data=body)
        mine = Answer.of(response.status_code, list(response.headers.items()), response.get_data())
        response.close()
        self._after(method, path, service, mine)
        theirs = Answer.of(service.status, service.headers, service.body)
        if path.casefold().endswith("/testconnection") and {theirs.status, mine.status} <= {200, 400}:
            return []
        return compare(theirs, mine)

    # -- keeping the shadow's records in step with the service's ---------------------------------------------
    def _before(self, method: str, path: str, service: UpstreamAnswer) -> None:
        store = self.state.settings
        if method == "GET" and _COLLECTION.search(path) and service.status == 200:
            records = _records(service.body, many=True)
            if records is not None:
                store.load(records)
            return
        item = _ITEM.search(path)
        if item is None:
            return
        record_id = int(item.group(1))
        present = {r.id for r in store.list()}
        if service.status == 404 and record_id in present:
            store.delete(record_id)
        elif 200 <= service.status < 300 and record_id not in present:
            fetched = _records(service.body, many=False) if method == "GET" else None
            record = fetched[0] if fetched else {**_parse_one(_PLACEHOLDER), "id": record_id}
            store.load([*(_fields(r) for r in store.list()), {**record, "id": record_id}])

    def _after(self, method: str, path: str, service: UpstreamAnswer, mine: Answer) -> None:
        if method != "POST" or not _COLLECTION.search(path) or service.status != 201 or mine.status != 201:
            return
        theirs, ours = _id_of(service.header("Location")), _id_of(mine.headers.get("location"))
        if theirs is None or ours is None or theirs == ours:
            return
        store = self.state.settings
        store.load([{**_fields(r), "id": theirs if r.id == ours else r.id} for r in store.list()])


def _id_of(location: str | None) -> int | None:
    match = re.search(r"/([0-9]{1,10})\Z", location or "")
    return int(match.group(1)) if match else None


def _fields(record: Any) -> dict[str, Any]:
    return {
        "id": record.id,
        "host": record.host,
        "port": record.port,
        "encryption_type": record.encryption_type,
        "from_address": record.from_address,
        "use_default_credentials": record.use_default_credentials,
        "username": record.username,
        "password": record.password,
        "display_name": record.display_name,
    }


def _parse_one(record: dict[str, Any]) -> dict[str, Any]:
    parsed: dict[str, Any] = contract.parse_seed([{k: v for k, v in record.items() if k in _KNOWN}])[0]
    return parsed


def _records(body: bytes, *, many: bool) -> list[dict[str, Any]] | None:
    """The service's records in the store's form (ids kept, unknown members dropped), or None if they do not
    parse as records."""
    try:
        data = json.loads(body)
        items = data if many else [data]
        if not isinstance(items, list):
            return None
        out = []
        for item in items:
            if not isinstance(item, dict) or not isinstance(item.get("id"), int):
                return None
            out.append({**_parse_one(item), "id": item["id"]})
        return out
    except (ValueError, ConfigError, IndexError, TypeError):
        return None
