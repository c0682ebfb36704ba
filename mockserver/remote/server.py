"""``RemoteServer``: the :class:`~mockserver.MockServer` surface over the admin API of a server running elsewhere.

The pytest plugin uses it for ``--cxmock-url`` (the same tests against ``cxmock serve`` or the container). Only
loopback or explicitly given URLs are contacted; everything goes through ``/_mock/*`` and the public API.

What a test reads comes back as the same kind of object as in process: ``requests()`` and ``assert_called()``
return :class:`~mockserver.core.journal.entry.JournalEntry` objects, ``sink.messages`` / ``sink.wait_for()``
:class:`RemoteMessage` objects with the attributes of :class:`~mockserver.core.mail.store.CapturedMessage`, and
``faults.add()`` / ``faults.preset()`` a :class:`RemoteFaultHandle` usable as a context manager.

It implements :class:`~mockserver.core.surface.MockSurface` as ``MockServer`` does, journal counts included:
``token()`` and ``auth_headers()`` mint through ``POST /_mock/token`` (the admin API is never journaled), and
``auth_headers()`` reuses its token for half the token's lifetime, as in process. Every admin call is built from the
route table the server registers its views from (``mockserver.core.admin_routes``).

Sandboxes: ``RemoteServer(url, sandbox="ci-1")`` (or ``server.sandbox("ci-1")``) is the same surface scoped to the
existing sandbox at ``<url>/sandbox/ci-1`` (a request never creates a sandbox: 404); ``server.create_sandbox()``
makes a fresh one through the admin API (a unique name when none is given), ``server.sandbox("ci-1", create=True)``
creates it when missing, ``delete_sandbox()`` removes it, ``list_sandboxes()`` lists them. The pytest plugin creates a
sandbox of a random name of its own (through the admin API) and deletes it at the end through its own prefix (all its
traffic routes by it).

This module holds the transport and the server surface; the mail side lives in ``mockserver.remote.mail``, the fault
side in ``mockserver.remote.faults`` (both re-exported here).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
import warnings
from collections.abc import Iterable, Mapping
from typing import Any, Unpack

from ..config import DEFAULT_CLIENT_SECRET
from ..core import admin_routes as routes
from ..core.journal.entry import JournalEntry
from ..core.journal.journal import RequestFilters
from ..core.lint.lint import Violation
from ..core.sandboxes.names import is_valid_name
from ..core.surface import HeaderTokens, MockSurface, TokenGrant
from ..errors import ConfigError, ServerError
from .faults import RemoteFaultHandle as RemoteFaultHandle
from .faults import RemoteFaults as RemoteFaults
from .http import AdminTransport, _HttpError, call_all
from .mail import RemoteMessage as RemoteMessage
from .mail import RemoteSink as RemoteSink

__all__ = ["RemoteFaultHandle", "RemoteFaults", "RemoteMessage", "RemoteServer", "RemoteSink"]


class RemoteServer(MockSurface, AdminTransport):
    """A running cxmock server reached over HTTP (a :class:`~mockserver.core.surface.MockSurface`).

    :param base_url: e.g. ``http://127.0.0.1:8080``.
    :param admin_token: the server's ``--admin-token``, if it has one.
    :param sandbox: work in the existing sandbox ``<base_url>/sandbox/<name>`` (see :meth:`create_sandbox`) instead
        of the server's root (the default sandbox).
    """

    def __init__(
        self,
        base_url: str,
        *,
        admin_token: str | None = None,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        timeout: float = 10.0,
        sandbox: str | None = None,
    ) -> None:
        #: the server's root URL (``base_url`` without the sandbox)
        self.server_url = base_url.rstrip("/")
        if urllib.parse.urlsplit(self.server_url).scheme not in ("http", "https"):
            raise ConfigError(f"base_url must be an http:// or https:// URL, got {base_url!r}")
        if sandbox is not None and not is_valid_name(sandbox):
            raise ConfigError(
                f"invalid sandbox name {sandbox[:70]!r}: 1 to 64 characters of a-z, 0-9, '.', '_' and '-', starting "
                "with a letter or digit"
            )
        #: the sandbox this handle works in (None: the root, the default sandbox)
        self._sandbox_name = sandbox
        self._base_url = self.server_url + (f"/sandbox/{sandbox}" if sandbox else "")
        self.admin_token = admin_token
        self.client_secret = client_secret
        self.timeout = timeout
        self._faults = RemoteFaults(self)
        self._sink = RemoteSink(self)
        self._header_tokens = HeaderTokens()
        self._opened = False  # until the health check: opening a missing sandbox does not create it (#23, #25)
        self.admin(routes.HEALTH)
        self._opened = True

    # -- transport -------------------------------------------------------------------------------------------
    def fetch(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        form: Mapping[str, str] | None = None,
        timeout: float | None = None,
        at_root: bool = False,
    ) -> bytes:
        """One request; returns the raw body. A 4xx/5xx raises :class:`ServerError` with the details.

        A handle outlives its sandbox, as in process: when the sandbox it opened was deleted or expired since, it is
        created again (through the admin API) and the request sent once more. Opening a handle on a sandbox that
        does not exist creates nothing (404).

        :param at_root: send it to the server's root, not to this handle's sandbox (``/_mock/sandboxes``)."""
        try:
            return self._fetch_once(method, path, body, form, timeout, at_root)
        except _HttpError as exc:
            name = self.sandbox_name
            gone = exc.status == 404 and f"no sandbox {name!r}" in str(exc)
            if at_root or name is None or not self._opened or not gone:
                raise
            self._ensure(name)
            self._header_tokens.clear()  # the tokens of the old sandbox are unknown to the new one
            return self._fetch_once(method, path, body, form, timeout, at_root)

    def _fetch_once(
        self, method: str, path: str, body: Any, form: Mapping[str, str] | None, timeout: float | None, at_root: bool
    ) -> bytes:
        headers = {}
        data = None
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if self.admin_token and (path.startswith(routes.ADMIN_PREFIX) or path.startswith("/sandbox/")):  # admin API
            headers["X-Cxmock-Admin-Token"] = self.admin_token
        url = (self.server_url if at_root else self.base_url) + path
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            # bandit B310: base_url is http(s), checked in __init__
            with urllib.request.urlopen(request, timeout=timeout or self.timeout) as response:  # noqa: S310  # nosec B310
                payload: bytes = response.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")[:500]
            raise _HttpError(f"{method} {url} answered HTTP {exc.code}: {detail}", exc.code) from None
        except OSError as exc:
            raise ServerError(f"cannot reach the cxmock server at {self.base_url}: {exc}") from None
        return payload

    # -- addresses and parts -----------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return self._base_url

    @property
    def sandbox_name(self) -> str | None:
        """The sandbox this handle works in (None: the root, the default sandbox)."""
        return self._sandbox_name

    @property
    def faults(self) -> RemoteFaults:
        return self._faults

    @property
    def sink(self) -> RemoteSink:
        return self._sink
    @property
    def http_port(self) -> int:
        """The port of ``base_url`` (the one this side reaches, e.g. a container's published port)."""
        parts = urllib.parse.urlsplit(self.base_url)
        return parts.port or (443 if parts.scheme == "https" else 80)

    def ports(self) -> dict[str, int]:
        """``{"http": ..., "smtp": ..., "smtps": ...}``: ``http`` is :attr:`http_port`, the SMTP ports are the ones
        the server bound (as its ``GET /_mock/health`` reports them; a container's port mapping may differ)."""
        health = self.admin(routes.HEALTH)
        reported = health.get("ports") if isinstance(health, dict) else None
        if not isinstance(reported, dict):
            raise ServerError(f"the cxmock server at {self.base_url} does not report its ports in /_mock/health")
        return {**{k: int(v) for k, v in reported.items()}, "http": self.http_port}

    @property
    def ca_pem(self) -> bytes:
        """The PEM CA certificate that signs the sink's certificate (``GET /_mock/smtp/ca.pem``)."""
        pem: bytes = self.admin(routes.SMTP_CA, raw=True)
        return pem

    # -- what MockSurface's token(), auth_headers() and journal helpers act on ---------------------------------
    def _mint(self, grant: TokenGrant) -> tuple[str, float]:
        """Minted by ``POST /_mock/token`` as the token endpoint would (the admin API is never journaled)."""
        body: dict[str, Any] = {
            "username": grant.username,
            "password": grant.password,
            "scope": grant.scope,
            "client_id": grant.client_id,
            "client_secret": self.client_secret,
        }
        if grant.lifetime is not None:
            body["lifetime"] = grant.lifetime
        try:
            minted: dict[str, Any] = self.admin(routes.TOKEN, body=body)
        except _HttpError as exc:
            if exc.status != 400:
                raise
            raise ConfigError(f"cannot issue a token for {grant.username!r}: {exc}") from None
        return str(minted["access_token"]), float(minted.get("expires_in") or 0)

    def _token_cache(self) -> HeaderTokens:
        return self._header_tokens

    def _entries(self, **filters: Unpack[RequestFilters]) -> list[JournalEntry]:
        query = {"operationId" if key == "operation_id" else key: value for key, value in filters.items()}
        return [journal_entry(item) for item in call_all(self, routes.REQUESTS, query)]

    def seed(self, records: Iterable[Mapping[str, Any]], *, persist: bool = True) -> None:
        """Replace the stored settings (``POST /_mock/seed``); ``persist=False`` keeps them until the next reset."""
        self.admin(routes.SEED, query=None if persist else {"persist": "false"}, body=list(records))

    def reset(self) -> None:
        """Back to the seed (``POST /_mock/reset``): settings restored, journal, mail and added fault rules cleared."""
        self.admin(routes.RESET)

    def check(self) -> None:
        """Raise :class:`ServerError` when the server does not answer ``GET /_mock/health``."""
        self.admin(routes.HEALTH)

    # -- sandboxes ---------------------------------------------------------------------------------------------
    def sandbox(self, name: str, *, create: bool = False) -> RemoteServer:
        """The same server's existing sandbox ``name``, as a ``RemoteServer`` scoped to it (a request never creates
        a sandbox: a missing one raises :class:`ServerError`, status 404). With ``create``, it is created first
        when it does not exist (``POST /sandbox/<name>/_mock/sandbox``, the admin API)."""
        if create:
            self._ensure(name)
        return RemoteServer(
            self.server_url,
            admin_token=self.admin_token,
            client_secret=self.client_secret,
            timeout=self.timeout,
            sandbox=name,
        )

    def create_sandbox(self, name: str | None = None) -> RemoteServer:
        """Create a fresh sandbox (through the admin API; a unique generated name when ``name`` is None) and
        return it. Raises :class:`ServerError` when it exists (409) or the server holds its maximum (429)."""
        created = self._create(name)
        return self.sandbox(str(created["name"]))

    def _ensure(self, name: str) -> None:
        """Create sandbox ``name`` unless it exists (409: it does, or another handle created it meanwhile)."""
        try:
            self._create(name)
        except _HttpError as exc:
            if exc.status != 409:
                raise

    def _create(self, name: str | None) -> Any:
        """``POST /sandbox/<name>/_mock/sandbox`` (under its own prefix: a router reaches the replica that will serve
        it), or ``POST /_mock/sandboxes`` at the root for a generated name."""
        if name is None:
            return self.admin(routes.CREATE_SANDBOX, body={}, at_root=True)
        if not is_valid_name(name):
            raise ConfigError(f"invalid sandbox name {name[:70]!r}: 1 to 64 characters of a-z, 0-9, '.', '_' and '-'")
        route = routes.CREATE_THIS_SANDBOX
        prefix = "/sandbox/" + urllib.parse.quote(name, safe="")
        return self.call(route.method, prefix + route.path(), body={}, at_root=True)

    def delete_sandbox(self, name: str | None = None) -> None:
        """Delete sandbox ``name`` (``DELETE /_mock/sandboxes/<name>`` at the root) or, without a name, this handle's
        own sandbox (``DELETE <base_url>/_mock/sandbox``: under its own prefix, so a router reaches its replica)."""
        if name is not None:
            self.admin(routes.DELETE_SANDBOX, at_root=True, name=name)
        elif self.sandbox_name is None:
            raise ConfigError("this RemoteServer works at the server root, not in a sandbox: name the sandbox")
        else:
            self.admin(routes.DELETE_THIS_SANDBOX)
        if name is None or name == self.sandbox_name:
            self._header_tokens.clear()  # as in process: a recreated sandbox starts with fresh tokens

    def list_sandboxes(self) -> list[dict[str, Any]]:
        """``GET /_mock/sandboxes``: each sandbox with its sizes and last use."""
        listing: dict[str, Any] = self.admin(routes.SANDBOXES, at_root=True)
        return list(listing["sandboxes"])

    def sandboxes(self) -> list[dict[str, Any]]:
        """Deprecated: :meth:`list_sandboxes` (the name every cxmock handle shares)."""
        warnings.warn(
            "RemoteServer.sandboxes() is deprecated; use list_sandboxes() (the same on MockServer and its sandboxes)",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.list_sandboxes()

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
        error=data.get("error"),
        response_body=data.get("responseBody"),
    )


def _implements_the_surface(server: RemoteServer) -> MockSurface:
    """Never called: strict mypy checks here that the handles implement the one declared surface."""
    return server
