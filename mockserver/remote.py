"""``RemoteServer``: the :class:`~mockserver.MockServer` surface over the admin API of a server running elsewhere.

The pytest plugin uses it for ``--cxmock-url`` (the same tests against ``cxmock serve`` or the container). Only
loopback or explicitly given URLs are contacted; everything goes through ``/_mock/*`` and the public API.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping
from typing import Any

from .config import DEFAULT_CLIENT_SECRET
from .core.contract import JSON_V1
from .core.lint_report import assert_no_violations
from .errors import AssertionHelperError, ConfigError, ServerError

__all__ = ["RemoteServer", "RemoteSink", "RemoteFaults"]


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
                payload = response.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")[:500]
            raise ServerError(f"{method} {self.base_url}{path} answered HTTP {exc.code}: {detail}") from None
        except OSError as exc:
            raise ServerError(f"cannot reach the cxmock server at {self.base_url}: {exc}") from None
        return json.loads(payload) if payload.strip() else None

    # -- the MockServer surface ------------------------------------------------------------------------------
    # bandit B107: the default fixture user's documented credentials (fixtures/users.yaml)
    def token(  # nosec B107
        self, username: str = "admin", password: str = "admin", *, scope: str = "access_control_api"
    ) -> str:
        form = {
            "grant_type": "password",
            "username": username,
            "password": password,
            "scope": scope,
            "client_id": "resource_owner_client",
            "client_secret": self.client_secret,
        }
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

    def requests(self, **filters: Any) -> list[dict[str, Any]]:
        """Journal entries as dicts (filters: method, path, operationId, status)."""
        query = urllib.parse.urlencode({k: v for k, v in filters.items() if v is not None})
        entries: list[dict[str, Any]] = self.call("GET", "/_mock/requests" + (f"?{query}" if query else ""))
        return entries

    def assert_no_violations(self, min_severity: str = "warning") -> None:
        assert_no_violations(self.requests(), min_severity)

    def check(self) -> None:
        self.call("GET", "/_mock/health")

    def stop(self) -> None:
        """Nothing to stop: the remote server's lifetime is not ours."""

    def __repr__(self) -> str:
        return f"<RemoteServer {self.base_url}>"


class RemoteFaults:
    """Fault rules of a remote server (``/_mock/faults``)."""

    def __init__(self, server: RemoteServer) -> None:
        self._server = server

    def add(self, rule: Any = None, /, **fields: Any) -> list[str]:
        ids: list[str] = self._server.call("POST", "/_mock/faults", body=rule if rule is not None else fields)["ids"]
        return ids

    def preset(self, name: str) -> list[str]:
        ids: list[str] = self._server.call("POST", "/_mock/faults", body={"preset": name})["ids"]
        return ids

    def list(self) -> list[dict[str, Any]]:
        listing = self._server.call("GET", "/_mock/faults")
        rules: list[dict[str, Any]] = listing["rules"] if isinstance(listing, dict) else listing
        return rules

    def clear(self) -> None:
        self._server.call("DELETE", "/_mock/faults")


class RemoteSink:
    """Captured mail of a remote server (``/_mock/messages``)."""

    def __init__(self, server: RemoteServer) -> None:
        self._server = server

    @property
    def messages(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self._server.call("GET", "/_mock/messages")
        return items

    def clear(self) -> None:
        self._server.call("DELETE", "/_mock/messages")

    def wait_for(self, count: int = 1, timeout: float = 5.0, **filters: Any) -> list[dict[str, Any]]:
        """Block (server-side) until ``count`` messages match ``filters`` (to, from, subject); else raise."""
        query = {k.rstrip("_"): v for k, v in filters.items() if v is not None}
        query.update(wait=timeout, count=count)
        items: list[dict[str, Any]] = self._server.call(
            "GET", "/_mock/messages?" + urllib.parse.urlencode(query), timeout=timeout + self._server.timeout
        )
        if len(items) < count:
            seen = "\n".join(f"  #{m.get('id')} to {m.get('rcptTos')}: {m.get('subject')!r}" for m in self.messages)
            raise AssertionHelperError(
                f"expected {count} message(s) matching {query} within {timeout} s, got {len(items)}; "
                f"captured:\n{seen or '  (nothing)'}"
            )
        return items
