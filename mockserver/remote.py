"""``RemoteServer``: the :class:`~mockserver.MockServer` surface over the admin API of a server running elsewhere.

The pytest plugin uses it for ``--cxmock-url`` (the same tests against ``cxmock serve`` or the container). Only
loopback or explicitly given URLs are contacted; everything goes through ``/_mock/*`` and the public API.

What a test reads comes back as the same kind of object as in process: ``requests()`` and ``assert_called()``
return :class:`~mockserver.core.journal_entry.JournalEntry` objects, ``sink.messages`` / ``sink.wait_for()``
:class:`RemoteMessage` objects with the attributes of :class:`~mockserver.core.mail.CapturedMessage`, and
``faults.add()`` / ``faults.preset()`` a :class:`RemoteFaultHandle` usable as a context manager.
"""

from __future__ import annotations

import builtins
import copy
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any

from .config import DEFAULT_CLIENT_SECRET
from .core.contract import JSON_V1
from .core.fault_files import preset_names
from .core.identity import password_grant
from .core.journal_assert import assert_called
from .core.journal_entry import JournalEntry
from .core.lint import Violation
from .core.lint_report import assert_no_violations
from .errors import AssertionHelperError, ConfigError, ServerError

__all__ = ["RemoteFaultHandle", "RemoteFaults", "RemoteMessage", "RemoteServer", "RemoteSink"]


class _HttpError(ServerError):
    """A 4xx/5xx answer of the remote server; ``status`` is the code."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class RemoteServer:
    """A running cxmock server reached over HTTP.

    :param base_url: e.g. ``http://127.0.0.1:8080``.
    :param admin_token: the server's ``--admin-token``, if it has one.
    """

    def __init__(
        self,
        base_url: str,
        *,
        admin_token: str | None = None,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        timeout: float = 10.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        if urllib.parse.urlsplit(self.base_url).scheme not in ("http", "https"):
            raise ConfigError(f"base_url must be an http:// or https:// URL, got {base_url!r}")
        self.api_url = self.base_url + "/cxrestapi/auth"
        self.admin_token = admin_token
        self.client_secret = client_secret
        self.timeout = timeout
        self.faults = RemoteFaults(self)
        self.sink = RemoteSink(self)
        self.call("GET", "/_mock/health")

    # -- transport -------------------------------------------------------------------------------------------
    def fetch(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        form: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> bytes:
        """One request; returns the raw body. A 4xx/5xx raises :class:`ServerError` with the details."""
        headers = {}
        data = None
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if self.admin_token and path.startswith("/_mock"):
            headers["X-Cxmock-Admin-Token"] = self.admin_token
        request = urllib.request.Request(self.base_url + path, data=data, method=method, headers=headers)
        try:
            # bandit B310: base_url is http(s), checked in __init__
            with urllib.request.urlopen(request, timeout=timeout or self.timeout) as response:  # noqa: S310  # nosec B310
                payload: bytes = response.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")[:500]
            raise _HttpError(f"{method} {self.base_url}{path} answered HTTP {exc.code}: {detail}", exc.code) from None
        except OSError as exc:
            raise ServerError(f"cannot reach the cxmock server at {self.base_url}: {exc}") from None
        return payload

    def call(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        form: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> Any:
        """One request; returns the decoded JSON (or None). A 4xx/5xx raises :class:`ServerError` with the details."""
        payload = self.fetch(method, path, body=body, form=form, timeout=timeout)
        return json.loads(payload) if payload.strip() else None

    # -- addresses ---------------------------------------------------------------------------------------------
    @property
    def http_port(self) -> int:
        """The port of ``base_url`` (the one this side reaches, e.g. a container's published port)."""
        parts = urllib.parse.urlsplit(self.base_url)
        return parts.port or (443 if parts.scheme == "https" else 80)

    def ports(self) -> dict[str, int]:
        """``{"http": ..., "smtp": ..., "smtps": ...}``: ``http`` is :attr:`http_port`, the SMTP ports are the ones
        the server bound (as its ``GET /_mock/health`` reports them; a container's port mapping may differ)."""
        health = self.call("GET", "/_mock/health")
        reported = health.get("ports") if isinstance(health, dict) else None
        if not isinstance(reported, dict):
            raise ServerError(f"the cxmock server at {self.base_url} does not report its ports in /_mock/health")
        return {**{k: int(v) for k, v in reported.items()}, "http": self.http_port}

    @property
    def ca_pem(self) -> bytes:
        """The PEM CA certificate that signs the sink's certificate (``GET /_mock/smtp/ca.pem``)."""
        return self.fetch("GET", "/_mock/smtp/ca.pem")

    # -- the MockServer surface ------------------------------------------------------------------------------
    # bandit B107: the default fixture user's documented credentials (fixtures/users.yaml)
    def token(  # nosec B107
        self, username: str = "admin", password: str = "admin", *, scope: str = "access_control_api"
    ) -> str:
        form = password_grant(username, password, scope=scope, client_secret=self.client_secret)
        try:
            token: str = self.call("POST", "/cxrestapi/auth/identity/connect/token", form=form)["access_token"]
        except ServerError as exc:
            raise ConfigError(f"cannot get a token for {username!r}: {exc}") from None
        return token

    def auth_headers(self, username: str = "admin", password: str = "admin") -> dict[str, str]:  # nosec B107
        return {"Authorization": f"Bearer {self.token(username, password)}", "Accept": JSON_V1}

    def seed(self, records: Iterable[Mapping[str, Any]], *, persist: bool = True) -> None:
        self.call("POST", "/_mock/seed" + ("" if persist else "?persist=false"), body=list(records))

    def reset(self) -> None:
        self.call("POST", "/_mock/reset")

    def requests(
        self,
        method: str | None = None,
        path: str | None = None,
        operation_id: str | None = None,
        status: int | str | None = None,
    ) -> list[JournalEntry]:
        """The journaled API requests (oldest first), filtered as :meth:`MockServer.requests` does."""
        filters = {"method": method, "path": path, "operationId": operation_id, "status": status}
        query = urllib.parse.urlencode({k: v for k, v in filters.items() if v is not None})
        items = self.call("GET", "/_mock/requests" + (f"?{query}" if query else ""))
        return [journal_entry(item) for item in items]

    def assert_called(self, operation_id: str | None, times: int | None = None, **where: Any) -> list[JournalEntry]:
        """See :meth:`MockServer.assert_called` (checked here, over the journal the server holds)."""
        return assert_called(self.requests(), operation_id, times, **where)

    def assert_no_violations(self, min_severity: str = "warning") -> None:
        assert_no_violations(self.requests(), min_severity)

    def check(self) -> None:
        self.call("GET", "/_mock/health")

    def stop(self) -> None:
        """Nothing to stop: the remote server's lifetime is not ours."""

    def __repr__(self) -> str:
        return f"<RemoteServer {self.base_url}>"


def journal_entry(data: Mapping[str, Any]) -> JournalEntry:
    """A :class:`JournalEntry` from its ``GET /_mock/requests`` form (``JournalEntry.to_dict()``)."""
    return JournalEntry(
        id=int(data["id"]),
        time=data["time"],
        method=data["method"],
        path=data["path"],
        query=data.get("query", {}),
        headers=dict(data.get("headers") or {}),
        body=data.get("body"),
        status=data.get("status"),
        duration_ms=float(data.get("durationMs") or 0.0),
        operation_id=data.get("operationId"),
        faults=[dict(f) for f in data.get("faults") or []],
        violations=[Violation(v["code"], v["severity"], v["message"]) for v in data.get("violations") or []],
        user=data.get("user"),
        remote=data.get("remote") or "",
    )


# -- faults ------------------------------------------------------------------------------------------------------


class RemoteFaultHandle:
    """The rules added by one ``RemoteFaults.add``/``preset`` call; a context manager removing them on exit.

    The counters are read from ``GET /_mock/faults``; after the rules are removed (or a reset dropped them) they
    keep their last known values.
    """

    def __init__(self, faults: RemoteFaults, rules: Iterable[Mapping[str, Any]]) -> None:
        self._faults = faults
        self._last = {str(rule["id"]): dict(rule) for rule in rules}

    @property
    def id(self) -> str:
        """The id of the (first) rule."""
        return self.ids[0]

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(self._last)

    def _refresh(self) -> set[str]:
        """Update the last known infos from the server; the ids still installed."""
        installed = set()
        for rule in self._faults.list():
            rule_id = str(rule.get("id"))
            if rule_id in self._last:
                self._last[rule_id] = dict(rule)
                installed.add(rule_id)
        return installed

    def info(self) -> builtins.list[dict[str, Any]]:
        """The rules as in ``RemoteFaults.list()`` (their last known state once removed)."""
        self._refresh()
        return [dict(rule) for rule in self._last.values()]

    @property
    def hits(self) -> int:
        """How many times the rule(s) fired."""
        return sum(int(rule.get("hits") or 0) for rule in self.info())

    @property
    def seen(self) -> int:
        """How many matching events reached the rule(s)."""
        return sum(int(rule.get("seen") or 0) for rule in self.info())

    @property
    def active(self) -> bool:
        """Whether any of the rules is still installed."""
        return bool(self._refresh())

    def remove(self) -> bool:
        """Remove the rule(s); False if none was still installed."""
        self._refresh()  # the final counters
        removed = False
        for rule_id in self.ids:
            removed = self._faults.remove(rule_id) or removed
        return removed

    def __enter__(self) -> RemoteFaultHandle:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.remove()

    def __repr__(self) -> str:
        return f"<RemoteFaultHandle {', '.join(self.ids)}>"


class RemoteFaults:
    """Fault rules of a remote server (``/_mock/faults``), with the surface of ``MockServer.faults``."""

    def __init__(self, server: RemoteServer) -> None:
        self._server = server

    def _post(self, body: Any) -> RemoteFaultHandle:
        try:
            added = self._server.call("POST", "/_mock/faults", body=body)
        except _HttpError as exc:
            if exc.status == 400:
                raise ConfigError(str(exc)) from None
            raise
        return RemoteFaultHandle(self, added["rules"])

    def add(
        self,
        rule: Any = None,
        /,
        *,
        match: dict[str, Any] | None = None,
        action: dict[str, Any] | str | None = None,
        times: int | None = None,
        after: int | None = None,
        probability: float | None = None,
        name: str | None = None,
    ) -> RemoteFaultHandle:
        """Add one rule (or several: a list or ``{"rules": [...]}`` as ``rule``) after the existing ones; see
        ``MockServer.faults.add``. An invalid rule raises :class:`ConfigError` naming the field."""
        fields = {
            key: value
            for key, value in (
                ("name", name),
                ("match", match),
                ("action", action),
                ("times", times),
                ("after", after),
                ("probability", probability),
            )
            if value is not None
        }
        if rule is not None and fields:
            raise TypeError(
                f"Faults.add() takes a rule or keyword fields, not both (got a rule and {', '.join(fields)})"
            )
        return self._post(rule if rule is not None else fields)

    def preset(self, name: str) -> RemoteFaultHandle:
        """Add the rules of a bundled preset (see :meth:`preset_names`)."""
        return self._post({"preset": name})

    def remove(self, rule: str | RemoteFaultHandle) -> bool:
        """Remove a rule by id (or every rule of a handle); False if it was not installed."""
        if isinstance(rule, RemoteFaultHandle):
            return rule.remove()
        try:
            self._server.call("DELETE", "/_mock/faults/" + urllib.parse.quote(rule, safe=""))
        except _HttpError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def list(self) -> builtins.list[dict[str, Any]]:
        """The rules in evaluation order, with ``hits``, ``seen`` and ``remaining``."""
        rules: builtins.list[dict[str, Any]] = self._server.call("GET", "/_mock/faults")["rules"]
        return rules

    def firings(self) -> builtins.list[dict[str, Any]]:
        """Recent firings (the server answers the last 100), oldest first."""
        firings: builtins.list[dict[str, Any]] = self._server.call("GET", "/_mock/faults")["firings"]
        return firings

    def clear(self) -> None:
        """Remove every rule (the ``--faults`` ones too, until the next reset)."""
        self._server.call("DELETE", "/_mock/faults")

    @staticmethod
    def preset_names() -> builtins.list[str]:
        """The names of the bundled presets (of this installation)."""
        return preset_names()

    def __len__(self) -> int:
        return len(self.list())

    def __repr__(self) -> str:
        return f"<RemoteFaults {self._server.base_url}>"


# -- mail --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class RemoteMessage:
    """One captured message as ``GET /_mock/messages`` gives it, with the attributes of ``CapturedMessage``
    (``raw`` is fetched from ``GET /_mock/messages/<id>/raw`` when read)."""

    id: int
    received_at: str
    mail_from: str
    rcpt_tos: list[str]
    subject: str | None
    from_: str | None
    to: str | None
    date: str | None
    message_id: str | None
    text: str | None
    size: int
    raw_size: int
    raw_truncated: bool
    peer: str
    listener: str
    tls: dict[str, str] | None = None
    auth_user: str | None = None
    testconnection: dict[str, Any] | None = None
    transcript: list[str] | None = None
    _server: RemoteServer | None = field(default=None, compare=False)
    _source: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], server: RemoteServer | None = None) -> RemoteMessage:
        """From the camelCase form of ``CapturedMessage.to_dict()``."""
        return cls(
            id=int(data["id"]),
            received_at=data["receivedAt"],
            mail_from=data["mailFrom"],
            rcpt_tos=list(data.get("rcptTos") or []),
            subject=data.get("subject"),
            from_=data.get("from"),
            to=data.get("to"),
            date=data.get("date"),
            message_id=data.get("messageId"),
            text=data.get("text"),
            size=int(data.get("size") or 0),
            raw_size=int(data.get("rawSize") or 0),
            raw_truncated=bool(data.get("rawTruncated")),
            peer=data.get("peer") or "",
            listener=data.get("listener") or "",
            tls=dict(data["tls"]) if data.get("tls") is not None else None,
            auth_user=data.get("authUser"),
            testconnection=dict(data["testconnection"]) if data.get("testconnection") is not None else None,
            transcript=list(data["transcript"]) if data.get("transcript") is not None else None,
            _server=server,
            _source=dict(data),
        )

    @property
    def raw(self) -> bytes:
        """The message source as kept by the server (see ``raw_truncated``)."""
        if self._server is None:
            raise ServerError("this message is not tied to a server; its raw source cannot be fetched")
        return self._server.fetch("GET", f"/_mock/messages/{self.id}/raw")

    def to_dict(self) -> dict[str, Any]:
        """The same camelCase dict as ``CapturedMessage.to_dict()``: the one the server sent."""
        return copy.deepcopy(self._source)

    def summary(self) -> str:
        """One line for error messages: ``#3 from=<a@x> to=<b@y> subject='Hello'``."""
        return f"#{self.id} from=<{self.mail_from}> to=<{', '.join(self.rcpt_tos)}> subject={self.subject!r}"

    def __repr__(self) -> str:
        return (
            f"RemoteMessage(id={self.id}, mail_from={self.mail_from!r}, rcpt_tos={self.rcpt_tos!r}, "
            f"subject={self.subject!r}, listener={self.listener!r}, size={self.size})"
        )


class RemoteSink:
    """Captured mail of a remote server (``/_mock/messages``), with the surface of ``MockServer.sink``."""

    def __init__(self, server: RemoteServer) -> None:
        self._server = server

    def _list(self, query: Mapping[str, Any], timeout: float | None = None) -> list[RemoteMessage]:
        encoded = urllib.parse.urlencode({k: v for k, v in query.items() if v is not None})
        items = self._server.call("GET", "/_mock/messages" + (f"?{encoded}" if encoded else ""), timeout=timeout)
        return [RemoteMessage.from_dict(item, self._server) for item in items]

    @property
    def messages(self) -> list[RemoteMessage]:
        """Every captured message, oldest first."""
        return self._list({})

    def clear(self) -> None:
        self._server.call("DELETE", "/_mock/messages")

    def wait_for(
        self,
        count: int = 1,
        timeout: float = 5.0,
        *,
        to: str | None = None,
        from_: str | None = None,
        subject: str | None = None,
        since: int | str | datetime | None = None,
    ) -> list[RemoteMessage]:
        """Block (server-side, event-driven) until ``count`` messages match; return all that match, oldest first.

        After ``timeout`` seconds raises :class:`AssertionHelperError` listing the filters and what was captured.
        """
        if count < 1:
            raise ValueError(f"count must be at least 1, got {count}")
        since_arg = since.isoformat() if isinstance(since, datetime) else since
        filters = {"to": to, "from": from_, "subject": subject, "since": since_arg}
        deadline = time.monotonic() + max(timeout, 0.0)
        while True:
            wait = max(deadline - time.monotonic(), 0.0)
            try:
                found = self._list({**filters, "wait": round(wait, 3), "count": count}, wait + self._server.timeout)
                break
            except _HttpError as exc:  # 429: the server's long-poll slots are taken; it asks to retry in 1 s
                if exc.status != 429 or wait <= 0:
                    raise
                time.sleep(min(1.0, wait))
        if len(found) < count:
            wanted = ", ".join(f"{k}={v!r}" for k, v in filters.items() if v is not None) or "no filter"
            seen = "\n".join(f"  {m.summary()}" for m in self.messages)
            raise AssertionHelperError(
                f"expected {count} message(s) matching {wanted} within {timeout} s, got {len(found)}; "
                f"captured:\n{seen or '  (nothing)'}"
            )
        return found

    @property
    def ports(self) -> dict[str, int]:
        """``{"smtp": port, "smtps": port}`` as the server bound them."""
        return {k: v for k, v in self._server.ports().items() if k != "http"}

    @property
    def smtp_port(self) -> int:
        return self.ports["smtp"]

    @property
    def smtps_port(self) -> int:
        return self.ports["smtps"]

    @property
    def ca_pem(self) -> bytes:
        """The CA certificate (PEM) that verifies both listeners."""
        return self._server.ca_pem

    def __repr__(self) -> str:
        return f"<RemoteSink {self._server.base_url}>"
