"""The runtime: ``MockServer`` wires the core, the HTTP app and the SMTP sink, and runs them in threads.

Lifecycle: the constructor starts everything on the configured (by default ephemeral) ports and returns once
each listener answers a real connection; :meth:`MockServer.stop` (or leaving the ``with`` block) stops them and
leaves no thread or socket behind. ``run()`` is the one code path the CLI uses.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import Any

from ..config import Config, reachable_host
from ..core.contract import JSON_V1, parse_seed
from ..core.identity.identity import DEFAULT_ISSUER, password_grant
from ..core.journal.entry import JournalEntry
from ..core.lint.report import assert_no_violations
from ..core.state import State
from ..errors import ConfigError, OAuthError, ServerError
from ..http import create_app
from ..smtp import SmtpSink
from .faults import Faults
from .http_server import MAX_HEAD_BYTES, HttpServer, Limits
from .smtp_path import SmtpPath

__all__ = ["MockServer"]

log = logging.getLogger("cxmock")


#: bodies up to this size are read into memory whatever ``max_body`` says (the app answers 413 beyond its limit)
FRONT_END_MIN_BODY = 1024 * 1024


def http_limits(config: Config) -> Limits:
    """The HTTP front end's deadlines and sizes for ``config``."""
    return Limits(
        head_timeout=config.http_head_timeout,
        body_timeout=config.http_body_timeout,
        idle_timeout=config.http_idle_timeout,
        max_head=MAX_HEAD_BYTES,
        max_body=max(config.max_body, FRONT_END_MIN_BODY),
        max_connections=config.http_max_connections,
    )


class MockServer:
    """A running cxmock server (HTTP API, admin API and SMTP sink) in background threads.

    Use it as a context manager::

        with MockServer() as server:
            requests.get(server.api_url + "/SMTPSettings", headers=server.auth_headers())

    :param config: a :class:`~mockserver.config.Config`; keyword ``options`` override its fields
        (``MockServer(seed="none", strict=True)``).
    :param start: start now (default). With ``False``, call :meth:`start` yourself.
    """

    def __init__(self, config: Config | None = None, *, start: bool = True, **options: Any) -> None:
        base = config or Config()
        self.config: Config = base.replace(**options) if options else base
        self.state = State.from_config(self.config)
        self._smtp = SmtpPath(self.config, self.state)
        self._smtp.own_listeners = self._own_listeners
        self._http: HttpServer | None = None
        self._lock = threading.Lock()
        self._header_tokens: dict[tuple[str, str], tuple[str, float]] = {}  # (user, password) -> (token, reuse until)
        self.app = create_app(
            self.state, smtp_test=self._smtp.test, reset=self.reset, ca_pem=self._smtp.ca_pem, ports=self._bound_ports
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
                self.app,
                host=self.config.host,
                port=self.config.port,
                threads=self.config.http_threads,
                limits=http_limits(self.config),
                grace=self.config.http_grace,
            )
            try:
                http.start()
            except BaseException:
                self._smtp.stop()
                raise
            self._http = http
        return self

    def stop(self) -> None:
        """Stop every listener and thread; idempotent."""
        with self._lock:
            http, self._http = self._http, None
        if http is not None:
            # a long-poll (GET /_mock/messages?wait=) holds a worker thread: end it before the HTTP server waits for
            # its workers. The event first, so a wait that begins now sees it, then wake the waits already pending.
            http.signal_stopping()
            self.state.mail.interrupt_waiters()
            http.stop()
            self._smtp.stop()

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

    @property
    def api_url(self) -> str:
        """``base_url + "/cxrestapi/auth"``."""
        return self.base_url + "/cxrestapi/auth"

    # -- helpers -----------------------------------------------------------------------------------------------
    # bandit B107: the default fixture user's documented credentials (fixtures/users.yaml)
    def token(  # nosec B107
        self,
        username: str = "admin",
        password: str = "admin",
        *,
        scope: str = "access_control_api",
        lifetime: int | None = None,
        client_id: str = "resource_owner_client",
    ) -> str:
        """An access token (a signed JWT) for ``username``, issued in-process exactly as the token endpoint would.

        :param lifetime: seconds until it expires (default: the configured ``token_lifetime``); ``0`` gives a token
            that is already expired, for expiry tests.
        """
        form = password_grant(username, password, scope=scope, client_secret=self.config.client_secret)
        form["client_id"] = client_id
        issuer = self.base_url + "/cxrestapi/auth/identity" if self.running else DEFAULT_ISSUER
        try:
            token: str = self.state.identity.issue(form, issuer=issuer, lifetime=lifetime)["access_token"]
        except OAuthError as exc:
            raise ConfigError(f"cannot issue a token for {username!r}: {exc.description}") from None
        return token

    def auth_headers(self, username: str = "admin", password: str = "admin") -> dict[str, str]:  # nosec B107
        """``Authorization: Bearer <token>`` and ``Accept: application/json;v=1.0``, ready for ``requests``.

        The token is reused for half its lifetime (signing one costs a fraction of a millisecond; a session calling
        this per request need not pay it each time); :meth:`token` always issues a fresh one."""
        now = time.monotonic()
        cached = self._header_tokens.get((username, password))
        if cached is None or now >= cached[1]:
            cached = (self.token(username, password), now + self.config.token_lifetime / 2)
            self._header_tokens[(username, password)] = cached
        return {"Authorization": f"Bearer {cached[0]}", "Accept": JSON_V1}

    def seed(self, records: Iterable[Mapping[str, Any]], *, persist: bool = True) -> None:
        """Replace the stored settings with ``records`` (API JSON shape, ``id`` optional).

        :param persist: ``True`` makes them the seed that every later :meth:`reset` restores; ``False`` keeps
            them only until the next reset (what ``@pytest.mark.cxmock(seed=...)`` uses).
        """
        parsed = parse_seed(list(records), source="MockServer.seed()")
        if persist:
            self.state.settings.set_seed(parsed)
        else:
            self.state.settings.load(parsed)

    def reset(self) -> None:
        """Back to the seed: settings restored, only the ``--faults`` rules armed, journal and mail cleared.

        Tokens stay valid (they are signed, not stored), so a session-wide token survives the per-test reset."""
        self.state.reset()

    @property
    def faults(self) -> Faults:
        """The fault rules: ``faults.add(match=..., action=..., times=...)`` (a handle, usable as a context manager
        removing the rule), ``preset(name)``, ``remove(id)``, ``clear()``, ``list()``, ``firings()``.
        :meth:`reset` removes the rules added here; the ``--faults`` ones are re-armed."""
        return Faults(self.state.faults)

    # -- journal and contract-lint ---------------------------------------------------------------------------
    def requests(
        self,
        method: str | None = None,
        path: str | None = None,
        operation_id: str | None = None,
        status: int | str | None = None,
    ) -> list[JournalEntry]:
        """The journaled API requests (oldest first), filtered; see :meth:`Journal.entries`."""
        return self.state.journal.entries(method=method, path=path, operation_id=operation_id, status=status)

    def assert_called(self, operation_id: str | None, times: int | None = None, **where: Any) -> list[JournalEntry]:
        """Assert the code under test called ``operation_id`` (``times`` times, if given) with ``where`` matching
        (``method``, ``path``, ``status``, ``user``, ``body`` subset, ``header``); the failure message shows the
        closest calls seen."""
        return self.state.journal.assert_called(operation_id, times, **where)

    def assert_no_violations(self, min_severity: str = "warning") -> None:
        """Fail when a journaled request broke the vendor contract at or above ``min_severity``."""
        assert_no_violations(self.state.journal.entries(), min_severity)

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
