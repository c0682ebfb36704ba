"""``ProxyServer``: ``cxmock proxy``'s server. The HTTP front end of ``cxmock serve`` runs a dispatcher: requests
under ``/cxrestapi/auth`` go to the :class:`~mockserver.proxy.forward.Forwarder` (the upstream), everything else
to a mock app whose ``/_mock`` admin API and dashboard read the proxy's journal and drift list.

Lifecycle as :class:`~mockserver.runtime.server.MockServer`: the constructor starts it on the configured (by
default ephemeral) port and returns once it answers; :meth:`stop` (or leaving the ``with`` block) leaves no thread
or socket behind.
"""

from __future__ import annotations

import dataclasses
from types import TracebackType
from typing import Any

from ..config import Config, reachable_host
from ..core.drift.store import DriftLog
from ..core.state import State
from ..errors import ServerError
from ..http import create_app
from ..http.admin_drift import DRIFT_KEY
from ..runtime.front import app_hooks
from ..runtime.http_server import HttpServer
from ..runtime.server import http_limits
from .forward import HEADERS_KEY, Forwarder, StartResponse, forwarded
from .shadow import Shadow
from .upstream import UpstreamClient, UpstreamOptions

__all__ = ["ProxyServer"]


class ProxyServer:
    """A running ``cxmock proxy``: forwards the API to ``upstream``, keeps the journal, the lint and the drift.

    :param upstream: where the service is, and how to talk to it (TLS, timeouts, pool).
    :param config: the server's options (host, port, admin token, journal limit, log format...); its SMTP and
        seed options do not apply (there is no SMTP sink, and the records are the service's).
    :param shadow: also answer each request with an in-process mock and record where it differs.
    """

    def __init__(
        self, upstream: UpstreamOptions, config: Config | None = None, *, shadow: bool = False, start: bool = True
    ) -> None:
        self.config = (config or Config()).replace(seed="none", faults=())
        self.upstream = upstream
        self.state = State.from_config(self.config)
        self.drift = DriftLog(self.config.journal_limit)
        self.client = UpstreamClient(upstream)
        self.shadow = Shadow(self.config) if shadow else None
        self.forwarder = Forwarder(self.client, self.state, self.drift, self.shadow)
        self.app = create_app(self.state, reset=self.reset, ports=self._ports)
        self.app.extensions[DRIFT_KEY] = self.drift
        self._http: HttpServer | None = None
        if start:
            self.start()

    def _wsgi(self, environ: dict[str, Any], start_response: StartResponse) -> Any:
        if forwarded(environ.get("PATH_INFO", "")):
            return self.forwarder(environ, start_response)
        return self.app(environ, start_response)

    def start(self) -> ProxyServer:
        if self._http is not None:
            return self
        http = HttpServer(
            self._wsgi,
            host=self.config.host,
            port=self.config.port,
            threads=self.config.http_threads,
            limits=http_limits(self.config),
            grace=self.config.http_grace,
            # cxmock's hooks (socket-level keys, the vendor error body, refusals journaled in the proxy's journal),
            # plus the raw header lines the forwarder sends on as they came
            hooks=dataclasses.replace(app_hooks(lambda path: (self.state, path)), headers_key=HEADERS_KEY),
            body_limit=lambda: self.config.max_body,
        )
        http.start()
        self._http = http
        return self

    def stop(self) -> None:
        http, self._http = self._http, None
        if http is not None:
            http.stop()
        self.client.close()

    def reset(self) -> None:
        """``POST /_mock/reset``: empty journal and drift list; the shadow mock back to empty."""
        self.state.reset()
        self.drift.clear()
        if self.shadow is not None:
            self.shadow.state.reset()

    def check(self) -> None:
        if self._http is not None:
            self._http.check()

    def _ports(self) -> dict[str, int]:
        return {"http": self._http.port} if self._http is not None else {}

    @property
    def port(self) -> int:
        if self._http is None:
            raise ServerError("the proxy is not running; call start() or use it as a context manager")
        return self._http.port

    @property
    def base_url(self) -> str:
        host = reachable_host(self.config.host)
        return f"http://{f'[{host}]' if ':' in host else host}:{self.port}"

    @property
    def api_url(self) -> str:
        return self.base_url + "/cxrestapi/auth"

    def __enter__(self) -> ProxyServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.base_url if self._http is not None else "stopped"
        return f"<ProxyServer {where} -> {self.upstream.display()}>"
