"""The server's own doors: what keeps other web pages out of the admin API and the dashboard (``/_mock/...``).

Three checks run before any ``/_mock`` view (and so before the admin token's lock), in every sandbox's app:

- **Host allow-list** (DNS rebinding): a page on ``evil.example`` whose name is re-pointed at 127.0.0.1 reaches
  this server under its own origin, with ``Host: evil.example``. Answered only: an IP-address literal (a page can be
  same-origin with an IP address only when the browser was pointed at that address), ``localhost`` and
  ``*.localhost``, the bound address, this machine's name, and the names of ``--allowed-hosts`` (``.example.org``
  takes its subdomains; ``*`` turns the check off, with a warning in the log). Anything else: 403 naming the flag.
  The API under ``/cxrestapi`` is not checked: the service answers any ``Host`` its IIS binding lets through,
  clients reach a container by any service name, and the API carries no ambient credential a page could borrow
  (bearer tokens, no cookies).
- **Origin**: a state-changing request (POST, PUT, PATCH, DELETE) with an ``Origin`` header is answered only when
  that origin is the server's own (its host and port are the request's ``Host``); ``Origin: null`` and a
  ``Sec-Fetch-Site`` of ``cross-site``/``same-site`` are refused too. 403.
- **Content type**: a state-changing request's body must be JSON (or YAML, which ``POST /_mock/faults`` also
  takes): the types a form or a no-cors ``fetch`` can send without a CORS preflight (``text/plain``,
  ``application/x-www-form-urlencoded``, ``multipart/form-data``), or a body without a type, are a 415. No
  preflight is ever granted (no ``Access-Control-Allow-*`` header is sent), so another origin cannot send JSON.
  A request without a body and without a type (``POST /_mock/reset`` from curl) passes: a browser always sends
  ``Origin`` with a POST, which the check above refuses.

Every ``/_mock`` answer carries ``X-Frame-Options: DENY``, ``frame-ancestors 'none'`` (added to its CSP) and
``X-Content-Type-Options: nosniff``: no page can frame the dashboard.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import urllib.parse
from collections.abc import Iterable

from flask import Flask, Request, Response, request

from ..config import Config
from ..core.state import State
from ..errors import Forbidden, UnsupportedMediaType

__all__ = ["ADMIN_PREFIX", "FRAME_ANCESTORS", "HostRule", "init_app"]

log = logging.getLogger("cxmock")

ADMIN_PREFIX = "/_mock"
FRAME_ANCESTORS = "frame-ancestors 'none'"
_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_YAML = frozenset({"application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml"})
# bandit B104: names compared with --host, nothing is bound here
_WILDCARD_BINDS = frozenset({"", "0.0.0.0", "::"})  # nosec B104
_SECURITY_SECTION = "see the README, 'Security: the doors and what guards them'"


def _split_host(value: str) -> str:
    """The host name of a ``Host`` header or netloc (``[::1]:8080`` → ``::1``), lowercase, without a final dot."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value[1:]
    name, colon, port = value.rpartition(":")
    if colon and port.isdigit() and ":" not in name:
        value = name
    return value.rstrip(".")


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name.partition("%")[0])
    except ValueError:
        return False
    return True


class HostRule:
    """Which ``Host`` names the admin API and the dashboard answer (see the module docstring).

    :param bound: the address the HTTP server binds (``--host``).
    :param extra: ``--allowed-hosts``: names, ``.suffix`` for a domain and its subdomains, ``*`` for any.
    :param machine: this machine's names (default: ``socket.gethostname()``, no DNS lookup).
    """

    def __init__(self, bound: str, extra: Iterable[str] = (), machine: Iterable[str] | None = None) -> None:
        if machine is None:
            machine = _machine_names()
        given = [e.strip().lower().rstrip(".") for e in extra if e.strip()]
        #: the check is off (``--allowed-hosts '*'``)
        self.open = "*" in given
        names = {"localhost", *machine, *(g for g in given if not g.startswith("."))}
        if bound not in _WILDCARD_BINDS:
            names.add(_split_host(bound))
        self.names = frozenset(n for n in names if n)
        self.suffixes = tuple(g for g in given if g.startswith(".") and len(g) > 1)

    def allows(self, host: str | None) -> bool:
        """Whether a request with this ``Host`` header is answered (no header: HTTP/1.0, not a browser: yes)."""
        if self.open or not host:
            return True
        name = _split_host(host)
        return (
            name in self.names
            or name.endswith(".localhost")
            or _is_ip(name)
            or any(name.endswith(s) or name == s[1:] for s in self.suffixes)
        )

    @classmethod
    def of(cls, config: Config) -> HostRule:
        return cls(config.host, config.allowed_hosts)


def _machine_names() -> set[str]:
    try:
        name = socket.gethostname().lower().rstrip(".")
    except OSError:  # pragma: no cover - gethostname does not fail on the platforms we run on
        return set()
    return {name, name.partition(".")[0]} if name else set()


def _same_origin(origin: str, host: str | None) -> bool:
    """Whether ``origin`` (an ``Origin`` header) names the host and port the request was sent to."""
    if not host:
        return False
    try:
        parts = urllib.parse.urlsplit(origin.strip())
        port = parts.port
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    default = 443 if parts.scheme == "https" else 80
    origin_port = port if port is not None else default
    name = _split_host(host)
    host_port_text = host.strip().rpartition("]")[2] if host.strip().startswith("[") else host.strip()
    _, colon, port_text = host_port_text.rpartition(":")
    host_port = int(port_text) if colon and port_text.isdigit() else default
    return parts.hostname.rstrip(".").lower() == name and origin_port == host_port


def _check(req: Request, hosts: HostRule) -> None:
    host = req.environ.get("HTTP_HOST")
    if not hosts.allows(host):
        shown = repr(str(host)[:100])
        raise Forbidden(
            f"the admin API and the dashboard answer only this server's own names, and Host {shown} is not one of "
            "them (a guard against DNS rebinding); if you reach the server under that name, start it with "
            f"--allowed-hosts {_split_host(str(host))[:100]} (CXMOCK_ALLOWED_HOSTS; {_SECURITY_SECTION})"
        )
    if req.method not in _UNSAFE:
        return
    what = f"{req.method} {req.path[:100]}"
    origin = req.headers.get("Origin")
    if origin is not None and not _same_origin(origin, host):
        raise Forbidden(
            f"{what} came from the web page of another origin ({origin[:100]!r}); the admin API changes state only "
            f"for its own dashboard and for clients that send no Origin (the CLI, RemoteServer; {_SECURITY_SECTION})"
        )
    site = req.headers.get("Sec-Fetch-Site", "").lower()
    if site in ("cross-site", "same-site"):
        raise Forbidden(
            f"{what} was sent by a page of another site (Sec-Fetch-Site: {site}); the admin API changes state only "
            f"for its own dashboard and for non-browser clients ({_SECURITY_SECTION})"
        )
    mimetype = req.mimetype
    if mimetype:
        if mimetype == "application/json" or mimetype.endswith("+json") or mimetype in _YAML:
            return
        raise UnsupportedMediaType(
            f"{what} takes a JSON body (Content-Type: application/json), got {mimetype[:100]!r}: a form or a "
            f"text/plain body is what another web page can send without asking, so the admin API refuses it "
            f"({_SECURITY_SECTION})"
        )
    if req.content_length or "chunked" in req.headers.get("Transfer-Encoding", "").lower():
        raise UnsupportedMediaType(
            f"{what} has a body without a Content-Type; send it as JSON (Content-Type: application/json)"
        )


def init_app(app: Flask, state: State, hosts: HostRule | None = None) -> None:
    """Guard the app's ``/_mock`` routes (see the module docstring); ``hosts`` default: from ``state.config``."""
    rule = hosts if hosts is not None else HostRule.of(state.config)

    @app.before_request
    def _doors() -> None:
        req: Request = request
        if req.path.startswith(ADMIN_PREFIX):
            _check(req, rule)

    @app.after_request
    def _no_framing(response: Response) -> Response:
        if request.path.startswith(ADMIN_PREFIX):
            headers = response.headers
            csp = headers.get("Content-Security-Policy")
            if csp is None:
                headers["Content-Security-Policy"] = FRAME_ANCESTORS
            elif "frame-ancestors" not in csp:
                headers["Content-Security-Policy"] = csp + "; " + FRAME_ANCESTORS
            headers["X-Frame-Options"] = "DENY"
            headers["X-Content-Type-Options"] = "nosniff"
        return response


def warn_if_open(config: Config) -> None:
    """Log a warning when ``--allowed-hosts '*'`` turned the Host check off (called once at start)."""
    if HostRule.of(config).open:
        log.warning(
            "--allowed-hosts '*': the admin API and the dashboard answer any Host name, so a web page using DNS "
            "rebinding can reach them; list the names instead (e.g. --allowed-hosts cxmock,.internal.example)"
        )
