"""The runtime: ``MockServer`` wires the core, the HTTP app and the SMTP sink, and runs them in threads.

Lifecycle: the constructor starts everything on the configured (by default ephemeral) ports and returns once
each listener answers a real connection; :meth:`MockServer.stop` (or leaving the ``with`` block) stops them and
leaves no thread or socket behind. ``run()`` is the one code path the CLI uses.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import threading
import weakref
from collections.abc import Iterator
from types import TracebackType
from typing import Any

from ..config import Config, reachable_host
from ..core.identity.identity import DEFAULT_ISSUER
from ..core.state import State
from ..core.surface import HeaderTokens, MockSurface
from ..errors import ConfigError, ServerError
from ..http import create_app
from ..http.doors import warn_if_open
from ..smtp import SmtpSink
from .front import app_hooks
from .http_server import MAX_HEAD_BYTES, HttpServer, Limits
from .sandboxes import MockSandbox, Sandboxes, SandboxManagement
from .smtp_path import SmtpPath
from .surface import StateSurface

__all__ = ["MockServer", "RUNTIME_OPTIONS"]

log = logging.getLogger("cxmock")

#: options a running server can change for a while (:meth:`MockServer.override`, ``@pytest.mark.cxmock(...)``):
#: the fields declared ``runtime=True``; every other option (ports, users, TLS material, limits of the stores) is
#: fixed when the server starts
RUNTIME_OPTIONS = Config.runtime_options()

#: servers started and not stopped yet: stopped when the interpreter exits (see ``_stop_at_exit``)
_RUNNING: weakref.WeakSet[MockServer] = weakref.WeakSet()
_EXIT_HOOK_LOCK = threading.Lock()
_exit_hook_registered = False


def _stop_running_servers() -> None:
    for server in list(_RUNNING):
        try:
            server.stop()
        except Exception as exc:  # noqa: BLE001 - shutting down: report, never raise
            log.warning("stopping %r at interpreter exit failed: %s", server, exc)


def _stop_at_exit(server: MockServer) -> None:
    """Stop ``server`` when the interpreter exits, if nobody did: a ``MockServer()`` that is never stopped must not
    keep Python from exiting, nor leave a traceback on Ctrl-C.

    The hook runs from ``threading``'s shutdown, *before* it joins the remaining non-daemon threads; ``atexit``
    alone would run after that join, i.e. never while such a thread runs."""
    global _exit_hook_registered
    _RUNNING.add(server)
    with _EXIT_HOOK_LOCK:
        if _exit_hook_registered:
            return
        register = getattr(threading, "_register_atexit", None)  # CPython >= 3.9
        try:
            if register is not None:
                register(_stop_running_servers)
            else:  # pragma: no cover - other interpreters
                atexit.register(_stop_running_servers)
        except RuntimeError:  # the interpreter is already shutting down
            return
        _exit_hook_registered = True


def http_limits(config: Config) -> Limits:
    """The HTTP front end's deadlines and sizes for ``config`` (the body limit follows ``max_body`` as it changes:
    ``HttpServer(body_limit=...)``)."""
    return Limits(
        head_timeout=config.http_head_timeout,
        body_timeout=config.http_body_timeout,
        idle_timeout=config.http_idle_timeout,
        max_head=MAX_HEAD_BYTES,
        max_body=config.max_body,
        max_connections=config.http_max_connections,
    )


class MockServer(SandboxManagement, StateSurface):
    """A running cxmock server (HTTP API, admin API and SMTP sink) in background threads: the in-process
    :class:`~mockserver.core.surface.MockSurface`, at the server root (the default sandbox).

    Use it as a context manager::

        with MockServer() as server:
            requests.get(server.api_url + "/SMTPSettings", headers=server.auth_headers())

    :param config: a :class:`~mockserver.config.Config`; keyword ``options`` override its fields
        (``MockServer(seed="none", strict=True)``).
    :param start: start now (default). With ``False``, call :meth:`start` yourself.
    """

    def __init__(self, config: Config | None = None, *, start: bool = True, **options: Any) -> None:
        base = config or Config()
        self.state = State.from_config(base.replace(**options) if options else base)
        self._smtp = SmtpPath(self.state)
        self._smtp.own_listeners = self._own_listeners
        self._http: HttpServer | None = None
        self._lock = threading.Lock()
        self._header_tokens = HeaderTokens()
        self.app = create_app(
            self.state, smtp_test=self._smtp.test, reset=self.reset, ca_pem=self._smtp.ca_pem, ports=self._bound_ports
        )
        #: the wiring of the named sandboxes under ``/sandbox/<name>`` (their registry and dispatcher); tests use
        #: ``sandbox(name)``, ``create_sandbox()``, ``delete_sandbox()`` and ``list_sandboxes()``
        self.sandboxes = Sandboxes(
            self.config, self.state, self.app, self._smtp, self._bound_ports, root_url=lambda: self.base_url
        )
        if start:
            self.start()

    # -- lifecycle ---------------------------------------------------------------------------------------------
    def start(self) -> MockServer:
        """Start the listeners; returns when each one answers. Raises :class:`ServerError` otherwise."""
        with self._lock:
            if self._http is not None:
                return self
            self._smtp.start()
            http = HttpServer(
                self.sandboxes.wsgi,
                host=self.config.host,
                port=self.config.port,
                threads=self.config.http_threads,
                limits=http_limits(self.config),
                grace=self.config.http_grace,
                hooks=app_hooks(self.sandboxes.state_for),
                body_limit=lambda: self.config.max_body,
                reserved_descriptors=self._smtp.sink.limits.max_connections + self.config.http_threads,
            )
            try:
                http.start()
            except BaseException:
                self._smtp.stop()
                raise
            self._http = http
        warn_if_open(self.config)
        _stop_at_exit(self)
        return self

    def stop(self) -> None:
        """Stop every listener and thread; idempotent."""
        with self._lock:
            http, self._http = self._http, None
        _RUNNING.discard(self)
        if http is not None:
            # a long-poll (GET /_mock/messages?wait=) holds a worker thread: end it before the HTTP server waits for
            # its workers. The event first, so a wait that begins now sees it, then wake the waits already pending.
            http.signal_stopping()
            self.state.mail.interrupt_waiters()
            self.sandboxes.interrupt_waiters()
            http.stop()
            self._smtp.stop()

    @contextlib.contextmanager
    def override(self, **options: Any) -> Iterator[MockServer]:
        """Run the root server (not its named sandboxes) with ``options`` (names of :data:`RUNTIME_OPTIONS`)
        changed until the block ends::

            with server.override(token_lifetime=1, strict=True):
                ...

        :raises ConfigError: an option that is unknown, or fixed once the server runs (``port``...), naming it.
        """
        fixed = sorted(name for name in options if name not in RUNTIME_OPTIONS)
        if fixed:
            known = set(Config.option_names())
            unknown = [name for name in fixed if name not in known]
            startup = [name for name in fixed if name in known]
            raise ConfigError(
                (f"unknown option(s): {', '.join(unknown)}; " if unknown else "")
                + (f"fixed when the server starts: {', '.join(startup)}; " if startup else "")
                + f"a running server can change only {', '.join(RUNTIME_OPTIONS)}"
            )
        saved = self.config
        self._apply(saved.replace(**options))
        try:
            yield self
        finally:
            self._apply(saved)

    @property
    def config(self) -> Config:
        """The live configuration of the root server (``state.config``: what every running part reads)."""
        return self.state.config

    @config.setter
    def config(self, config: Config) -> None:
        self._apply(config)

    def _apply(self, config: Config) -> None:
        """The one place a running server's configuration changes. Every part reads ``state.config`` when it acts
        (the app, the testconnection path, this object), except two values handed to their owners at start:
        the token lifetime (the identity service) and the require-AUTH policy (the SMTP sink)."""
        self.state.config = config
        self.state.identity.token_lifetime = config.token_lifetime
        self._smtp.sink.require_auth = config.smtp_require_auth
        self._header_tokens.clear()  # cached auth_headers() tokens carry the old lifetime

    def check(self) -> None:
        """Re-raise in the caller an error that happened in a server thread."""
        if self._http is not None:
            self._http.check()
            self._smtp.sink.check()

    def __enter__(self) -> MockServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._http is not None

    # -- addresses ---------------------------------------------------------------------------------------------
    @property
    def http_port(self) -> int:
        if self._http is None:
            raise ServerError("the server is not running; call start() or use it as a context manager")
        return self._http.port

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (the admin API is at ``base_url + "/_mock"``)."""
        host = reachable_host(self.config.host)
        return f"http://{f'[{host}]' if ':' in host else host}:{self.http_port}"

    def _current_state(self) -> State:
        return self.state

    def _issuer(self) -> str:
        return self.base_url + "/cxrestapi/auth/identity" if self.running else DEFAULT_ISSUER

    #: the root is the default sandbox, which has no name
    sandbox_name: str | None = None

    def _sandbox_set(self) -> Sandboxes:
        return self.sandboxes

    def sandbox(self, name: str) -> MockSandbox:
        """The named sandbox ``name`` of this server (created now if it does not exist): an isolated instance of the
        whole mock at ``base_url + "/sandbox/<name>"``, with this object's test surface (``api_url``,
        ``auth_headers``, ``faults``, ``sink``, ``requests``, ``assert_called``, ``reset``...) scoped to it.

        :raises BadRequest: ``name`` is not ``[a-z0-9][a-z0-9._-]{0,63}``.
        :raises TooManySandboxes: ``max_sandboxes`` sandboxes exist already.
        """
        return self.sandboxes.handle(name)

    # -- SMTP --------------------------------------------------------------------------------------------------
    @property
    def sink(self) -> SmtpSink:
        """The SMTP sink: ``sink.messages``, ``sink.wait_for(count=1, timeout=5.0, to=..., subject=...)``,
        ``sink.clear()``, ``sink.smtp_port``/``smtps_port``, ``sink.tls.client_context()`` to verify it."""
        return self._smtp.sink

    @property
    def ca_pem(self) -> bytes:
        """The PEM CA certificate that signs the sink's certificate (also at ``GET /_mock/smtp/ca.pem``)."""
        return self._smtp.ca_pem()

    def ports(self) -> dict[str, int]:
        """The bound ports by listener: ``{"http": ..., "smtp": ..., "smtps": ...}``."""
        return {"http": self.http_port, **self._smtp.sink.ports}

    def _own_listeners(self) -> dict[int, str]:
        """The mock's own HTTP port (API and admin API), which direct-mode testconnection must never target."""
        http = self._http
        port = http.port if http is not None else self.config.port
        return {port: "HTTP"} if port else {}

    def _bound_ports(self) -> dict[str, int]:
        """What ``GET /_mock/health`` reports: :meth:`ports`, without ``http`` during the start-up probe."""
        http = self._http
        return {**({"http": http.port} if http is not None else {}), **self._smtp.sink.ports}

    def __repr__(self) -> str:
        where = self.base_url if self.running else "stopped"
        return f"<MockServer {where}>"


def _implements_the_surface(server: MockServer, sandbox: MockSandbox) -> tuple[MockSurface, MockSurface]:
    """Never called: strict mypy checks here that the handles implement the one declared surface."""
    return server, sandbox
