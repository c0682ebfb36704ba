"""The named sandboxes of one ``MockServer``: their registry, how one is built, and ``MockSandbox``, the handle.

A sandbox is a fresh :class:`~mockserver.core.state.State` (``root.fresh()``: the configured seed and ``--faults``
rules, nothing else) and its own Flask app from ``create_app``, so everything the root serves (API, admin API,
whatever later blueprints add) is served per sandbox with no code of its own. The apps share the server's HTTP
worker threads (and so its long-poll slots), SMTP sink and TLS material. ``Sandboxes.wsgi`` is what the HTTP server
runs: the root app, or a sandbox's under ``/sandbox/<name>`` (``mockserver.http.sandboxes``).

:class:`SandboxManagement` is the sandbox half of the test surface (``sandbox``, ``create_sandbox``,
``delete_sandbox``, ``list_sandboxes``), the same on ``MockServer`` and on every ``MockSandbox`` (as on
``RemoteServer``: ``mockserver.core.surface.MockSurface``).
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask

from ..config import Config
from ..core.mail.store import CapturedMessage, MailStore
from ..core.sandboxes.names import check_name, generated_name
from ..core.sandboxes.registry import SandboxRegistry
from ..core.state import State
from ..core.surface import HeaderTokens, MailSink
from ..errors import ConfigError, NotFound
from ..http import create_app
from ..http.admin import holds_admin_token
from ..http.admin_mail import share_long_poll_slots
from ..http.admin_sandboxes import CREATE_KEY, OWNER_KEY, REGISTRY_KEY, listing
from ..http.sandboxes import PREFIX, SandboxDispatcher
from ..smtp import SmtpSink, TlsMaterial
from .smtp_path import SmtpPath
from .surface import StateSurface

__all__ = ["MockSandbox", "Sandbox", "SandboxManagement", "SandboxSink", "Sandboxes"]


@dataclass
class Sandbox:
    """One named sandbox: its state and the app serving it."""

    name: str
    state: State
    app: Flask


class Sandboxes:
    """The registry of a server's named sandboxes (``--max-sandboxes``, ``--sandbox-idle-timeout``) and the WSGI
    app that dispatches to them.

    :param root_app: the default sandbox's app; gets the registry (``/_mock/sandboxes`` answers there).
    :param ports: what ``GET /_mock/health`` reports in every sandbox.
    :param root_url: the server's base URL, for the handles of :meth:`handle`.
    """

    def __init__(
        self,
        config: Config,
        root: State,
        root_app: Flask,
        smtp: SmtpPath,
        ports: Callable[[], dict[str, int]],
        root_url: Callable[[], str],
    ) -> None:
        self._config, self._root, self._root_app, self._smtp, self._ports = config, root, root_app, smtp, ports
        self._root_url = root_url
        self.registry: SandboxRegistry[Sandbox] = SandboxRegistry(
            self._build, limit=config.max_sandboxes, idle_timeout=config.sandbox_idle_timeout, on_drop=_dropped
        )
        root_app.extensions[REGISTRY_KEY] = self.registry
        smtp.sandbox_state = self.existing_state
        self.wsgi = SandboxDispatcher(root_app, self._app, root)

    def state_for(self, path: str) -> tuple[State, str]:
        """Whose request ``path`` is, and the path its app sees: an existing sandbox's (never created here), else
        the root's."""
        if path[: len(PREFIX)].lower() == PREFIX:
            name, slash, rest = path[len(PREFIX) :].partition("/")
            sandbox = self.registry.existing(name)
            if sandbox is not None and slash:
                return sandbox.state, slash + rest
        return self._root, path

    def state(self, name: str) -> State:
        """The state of sandbox ``name``, created when it does not exist (the in-process ``MockServer.sandbox``:
        the code that owns the server is authorized)."""
        return self.registry.get(name).state

    def handle(self, name: str) -> MockSandbox:
        """The test handle of sandbox ``name`` (created now if it does not exist)."""
        return MockSandbox(name, config=self._config, sandboxes=self, root_url=self._root_url, sink=self._smtp.sink)

    def existing_state(self, name: str) -> State:
        """The state of the existing sandbox ``name`` (the SMTP sub-address and ``<sandbox>/<user>`` login routes):
        an SMTP client never creates a sandbox. :raises NotFound: there is none."""
        found = self.registry.existing(name)
        if found is None:
            raise NotFound(_missing(name, "mail addressed to it is refused until it exists"))
        return found.state

    def _app(self, name: str, environ: dict[str, Any]) -> Flask:
        """The app of sandbox ``name`` for a request: an existing sandbox's, or a new one when the request holds the
        admin token (``--admin-token``); else 404. A request answered 401, a GET of a mistyped name or a page
        that opens a deleted sandbox's link never creates one."""
        found = self.registry.existing(name)
        if found is not None:
            return found.app
        check_name(name)  # a hostile name is a 400 naming the rule, before anything else
        path = environ.get("PATH_INFO") or ""
        if environ.get("REQUEST_METHOD") == "POST" and path[len(PREFIX) + len(name) :] == "/_mock/sandbox":
            # "create this sandbox", under its own prefix (a router that hashes the prefix reaches its replica):
            # the root's admin API answers it, behind the same doors and lock as POST /_mock/sandboxes
            environ[CREATE_KEY] = name
            return self._root_app
        token = self._config.admin_token
        if token and holds_admin_token(
            token, environ.get("HTTP_X_CXMOCK_ADMIN_TOKEN"), environ.get("HTTP_AUTHORIZATION")
        ):
            return self.registry.get(name).app
        raise NotFound(_missing(name, "a request to it does not create it"))

    def _build(self, name: str) -> Sandbox:
        state = self._root.fresh(name)
        app = create_app(
            state,
            smtp_test=functools.partial(self._smtp.test, state=state),
            reset=state.reset,
            ca_pem=self._smtp.ca_pem,
            ports=self._ports,
        )
        share_long_poll_slots(app, self._root_app)
        app.extensions[OWNER_KEY] = (self.registry, name)
        return Sandbox(name, state, app)

    def interrupt_waiters(self) -> None:
        """End every sandbox's pending mail long-polls (the server is stopping)."""
        for sandbox in self.registry.values():
            sandbox.state.mail.interrupt_waiters()


def _missing(name: str, consequence: str) -> str:
    return (
        f"no sandbox {name!r} (never created, deleted, or expired after --sandbox-idle-timeout s unused), and "
        f'{consequence}; create it first: POST /_mock/sandboxes {{"name": "{name}"}} at the server root '
        "(RemoteServer.create_sandbox, the pytest plugin and MockServer.sandbox do), or send the request with the "
        "admin token (--admin-token); GET /_mock/sandboxes lists the sandboxes"
    )


def _dropped(sandbox: Sandbox) -> None:
    sandbox.state.mail.interrupt_waiters()  # a long-poll of a deleted sandbox answers now


class SandboxSink(MailSink[CapturedMessage]):
    """The SMTP sink as one sandbox sees it: the server's listeners and TLS, the sandbox's mailbox."""

    def __init__(self, sink: SmtpSink, state: Callable[[], State]) -> None:
        self._sink = sink
        self._state = state

    def _mailbox(self) -> MailStore:
        """The sandbox's mailbox (for ``messages``, ``clear()``, ``wait_for()``)."""
        return self._state().mail

    @property
    def ports(self) -> dict[str, int]:
        return self._sink.ports

    @property
    def tls(self) -> TlsMaterial:
        return self._sink.tls

    @property
    def ca_pem(self) -> bytes:
        return self._sink.ca_pem


class SandboxManagement:
    """The sandboxes of the server a handle belongs to: the same four methods on ``MockServer`` and ``MockSandbox``
    (and ``RemoteServer``). Subclasses provide ``sandbox_name`` and ``_sandbox_set()``."""

    sandbox_name: str | None

    def _sandbox_set(self) -> Sandboxes:
        raise NotImplementedError

    def sandbox(self, name: str) -> MockSandbox:
        """The same server's sandbox ``name`` (created now if it does not exist), as a :class:`MockSandbox`.

        :raises BadRequest: ``name`` is not ``[a-z0-9][a-z0-9._-]{0,63}``.
        :raises TooManySandboxes: ``max_sandboxes`` sandboxes exist already.
        """
        return self._sandbox_set().handle(name)

    def create_sandbox(self, name: str | None = None) -> MockSandbox:
        """Create a fresh sandbox (a unique generated name when ``name`` is None) and return its handle.

        :raises SandboxExists: it exists (409). :raises TooManySandboxes: the server holds its maximum (429).
        """
        name = generated_name() if name is None else name
        self._sandbox_set().registry.create(name)
        return self.sandbox(name)

    def delete_sandbox(self, name: str | None = None) -> None:
        """Delete sandbox ``name`` or, without a name, this handle's own sandbox (the next use of its name creates
        a fresh one).

        :raises ConfigError: no name, on the server root (the default sandbox cannot be deleted).
        :raises NotFound: there is no sandbox ``name`` (404).
        """
        if name is None:
            if self.sandbox_name is None:
                raise ConfigError("this MockServer works at the server root, not in a sandbox: name the sandbox")
            name = self.sandbox_name
        self._sandbox_set().registry.delete(name)

    def list_sandboxes(self) -> list[dict[str, Any]]:
        """The server's sandboxes as ``GET /_mock/sandboxes`` lists them: ``name``, ``path``, ``createdAt``,
        ``lastUsedAt``, ``expiresInSeconds``, ``settings``, ``requests``, ``messages``, ``faultRules``."""
        sandboxes: list[dict[str, Any]] = listing(self._sandbox_set().registry)["sandboxes"]
        return sandboxes


class MockSandbox(SandboxManagement, StateSurface):
    """One named sandbox of a running :class:`~mockserver.MockServer` (``server.sandbox("ci-1")``), with the
    server's test surface scoped to it (``mockserver.core.surface.MockSurface``): ``base_url``
    (``<server>/sandbox/ci-1``), ``api_url``, ``token``, ``auth_headers``, ``seed``, ``reset``, ``faults``,
    ``requests``, ``assert_called``, ``assert_no_violations``, ``sink`` (the sandbox's mailbox), ``ports()``,
    ``ca_pem``, ``delete_sandbox()``, and the server's other sandboxes (``sandbox``, ``create_sandbox``,
    ``list_sandboxes``).

    The sandbox is created on first use; each call finds it by name, so after it expired or was deleted the next
    call works on a fresh, empty one.
    """

    def __init__(
        self, name: str, *, config: Config, sandboxes: Sandboxes, root_url: Callable[[], str], sink: SmtpSink
    ) -> None:
        self.name = check_name(name)
        self.config = config
        self._sandboxes = sandboxes
        self._root_url = root_url
        self._sink = sink
        self._header_tokens = HeaderTokens()
        self._seen: State | None = None
        self._current_state()  # created now: a full registry fails here, not at the first request

    @property
    def sandbox_name(self) -> str:  # type: ignore[override]  # always set on a sandbox
        """The sandbox's name (``server.sandbox_name`` is None: the root)."""
        return self.name

    def _sandbox_set(self) -> Sandboxes:
        return self._sandboxes

    def _current_state(self) -> State:
        state = self._sandboxes.state(self.name)
        if state is not self._seen:  # recreated (deleted or expired): the tokens of the old one are unknown there
            self._seen = state
            self._header_tokens.clear()
        return state

    @property
    def base_url(self) -> str:
        """``<server base_url>/sandbox/<name>``: point any client, SDK or ``RemoteServer`` at it."""
        return self._root_url() + PREFIX + self.name

    @property
    def sink(self) -> SandboxSink:
        """The server's SMTP sink with this sandbox's mailbox: ``messages``, ``wait_for``, ``clear``, ports, TLS."""
        return SandboxSink(self._sink, self._current_state)

    @property
    def ca_pem(self) -> bytes:
        return self._sink.ca_pem

    @property
    def http_port(self) -> int:
        """The server's HTTP port (shared by every sandbox)."""
        return int(self._root_url().rsplit(":", 1)[1])

    def ports(self) -> dict[str, int]:
        """The server's bound ports (shared by every sandbox)."""
        return {"http": self.http_port, **self._sink.ports}

    def check(self) -> None:
        """Nothing of its own to check: the server's threads are the server's (``MockServer.check``)."""

    def delete(self) -> None:
        """Deprecated: :meth:`delete_sandbox` (the name every cxmock handle shares)."""
        warnings.warn(
            "MockSandbox.delete() is deprecated; use delete_sandbox() (the same on MockServer and RemoteServer)",
            DeprecationWarning,
            stacklevel=2,
        )
        self.delete_sandbox()

    def __repr__(self) -> str:
        return f"<MockSandbox {self.name!r}>"
