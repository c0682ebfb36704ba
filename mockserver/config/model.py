"""The frozen configuration of a cxmock server: every option, its default and its description, in one place.

Each field is declared with :func:`~mockserver.config.spec.option` (help, choices, bounds, run-time changeability);
``__post_init__`` passes every value through the one conversion (``convert.py``), so ``Config(strict="false")``,
``CXMOCK_STRICT=false``, ``strict: false`` in the file and ``--no-strict`` all give ``False``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .checks import EMPTY_ADMIN_TOKEN
from .convert import check, convert
from .files import read_config_file, suggest, unknown_option
from .spec import Spec, name_defaults, option, set_suite_defaults, spec_of, suite_default

__all__ = [
    "Config",
    "DEFAULT_CLIENT_SECRET",
    "ENV_PREFIX",
    "LOOPBACK_ALLOW",
    "OTHER_ENV",
    "SECRET_FIELDS",
    "suite_defaults",
    "unknown_environment",
]

ENV_PREFIX = "CXMOCK_"

#: ``CXMOCK_*`` variables read by something other than ``Config`` (the CLI, the pytest plugin, scripts/)
#: (``cxmock verify``/``record`` read the service's credentials from CXMOCK_UPSTREAM_*: better than a command line)
_UPSTREAM_ENV = ("USERNAME", "PASSWORD", "CLIENT_SECRET", "VIEWER_USERNAME", "VIEWER_PASSWORD")
_UPSTREAM_VARS = {f"CXMOCK_UPSTREAM_{name}" for name in _UPSTREAM_ENV}
OTHER_ENV = frozenset({"CXMOCK_CONFIG", "CXMOCK_URL", "CXMOCK_SMOKE_DIR"}) | _UPSTREAM_VARS

DEFAULT_CLIENT_SECRET = "014DF517-39D1-4453-B7B3-9930C563627C"

#: what direct-mode testconnection may always reach; ``smtp_allow`` adds to it
LOOPBACK_ALLOW = ("127.0.0.0/8", "::1", "localhost")


def _port(default: int, help: str) -> int:  # noqa: A002
    return option(default, help, low=0, high=65535, note="0 picks a free port")


def _seconds(default: float, help: str, *, runtime: bool = False) -> float:  # noqa: A002
    """A positive number of seconds."""
    return option(default, help, above=0, unit="seconds", runtime=runtime)


@dataclass(frozen=True)
class Config:
    """Every option of the server. Ports 0 mean "pick a free ephemeral port".

    Keyword values are converted like every other source (``Config(port="8080", smtp_allow="10.0.0.0/8")``);
    a value that cannot be, or breaks a declared bound, raises :class:`~mockserver.errors.ConfigError` naming it.
    """

    # HTTP
    host: str = option(
        "127.0.0.1",
        "Address to bind the HTTP API on: 127.0.0.1 (this machine only), 0.0.0.0 (every interface; the "
        "container's value) or an address of this machine.",
    )
    port: int = _port(0, "HTTP port (1-65535); 0 picks a free one.")
    seed: str = option(
        "default",
        "Settings records at start and after each reset: 'default' (the vendor sample), 'none' (empty), or the "
        "path of a YAML/JSON file of records.",
        example="seed: none (or default, or a path to a YAML/JSON file of settings records)",
    )
    users: str | None = option(
        None,
        "Users/roles/clients YAML file; unset means the bundled fixtures/users.yaml (admin/admin, viewer/viewer).",
        example="users: ./users.yaml (a path to a users file like fixtures/users.yaml)",
    )
    token_lifetime: int = option(3600, "Access-token lifetime in seconds (expires_in).", low=1, runtime=True)
    #: IdentityServer's 30 days
    refresh_token_lifetime: int = option(
        30 * 24 * 3600, "Absolute refresh-token lifetime in seconds (offline_access), from the login.", low=1
    )
    signing_key: str | None = option(
        None, "PEM RSA private key signing the JWTs; unset: a new key per run (tokens of another run are refused)."
    )
    client_secret: str = option(
        DEFAULT_CLIENT_SECRET,
        "Secret of the OAuth2 clients the users file gives no secret of their own (masked in --print-config).",
        secret=True,
    )
    auth_throttle: bool = option(
        False,
        "Throttle failed client-secret and password checks per client address (30 in a burst, then 5 a second; "
        "beyond: 429 + Retry-After); cxmock serve: on, MockServer: off; --no-auth-throttle for load tests that fail "
        "logins on purpose.",
    )
    strict: bool = option(
        False,
        "Reject unknown body members and error-level contract violations with 400 instead of linting them.",
        runtime=True,
    )
    max_body: int = option(64 * 1024, "Largest accepted request body in bytes (larger: 413).", low=1, runtime=True)
    admin_token: str | None = option(
        None, "Lock /_mock/* behind this token (send it as X-Cxmock-Admin-Token); unset: unlocked.", secret=True
    )
    validate_responses: bool = option(
        False, "Check every API response against the OpenAPI document; log and journal mismatches."
    )
    log_format: str = option(
        "text",
        "Log line format on stderr: 'text' (human) or 'json' (one object per line, ISO 8601 time).",
        choices=("text", "json"),
    )
    log_requests: bool = option(False, "Log one line per HTTP request (cxmock serve: on; MockServer: off).")
    journal_limit: int = option(
        1000, "Request journal: entries kept (oldest dropped); each entry keeps at most --max-body of body.", low=1
    )
    settings_limit: int = option(
        10_000,
        "SMTP settings records POST may create at most (one more: 400); GET /SMTPSettings lists all.",
        low=1,
    )
    max_page_bytes: int = option(
        8 * 1024 * 1024,
        "Admin list endpoints (/_mock/messages, /_mock/requests): most bytes in one page (then next).",
        low=1,
    )
    http_threads: int = option(
        16, "Worker threads running the app (requests handled at once; idle connections need none).", low=1
    )
    http_fast_reads: bool = option(
        True,
        "Deprecated, does nothing (kept so scripts keep working): the event-loop fast path for a GET of SMTP "
        "settings was removed (#21); every request runs the app on a worker thread.",
    )
    http_head_timeout: float = _seconds(10.0, "Seconds for a whole request head (not per byte); 408 after.")
    http_body_timeout: float = _seconds(30.0, "Seconds for a whole request body (not per byte); 408 after.")
    http_idle_timeout: float = _seconds(60.0, "Seconds an idle keep-alive connection stays open.")
    allowed_hosts: tuple[str, ...] = option(
        (),
        "Host names the admin API and dashboard answer besides loopback, IP addresses, the bound address and this "
        "machine's name (DNS-rebinding guard): comma-separated; '.example.org' takes its subdomains; '*' turns the "
        "check off. A container reached by its service name needs it (--allowed-hosts cxmock).",
        example="allowed_hosts: [cxmock, .ci.example.org]",
    )
    http_max_connections: int = option(
        4096,
        "Open HTTP connections at most (idle ones included; within what ulimit -n leaves; one client address half); "
        "beyond, 503 + Retry-After: 1.",
        low=1,
    )
    http_grace: float = option(
        2.0,
        "On stop/SIGTERM, seconds in-flight requests get to finish before every connection closes.",
        low=0,
        unit="seconds",
    )
    # SMTP sink
    smtp_host: str = option("127.0.0.1", "Address to bind the SMTP sink on (same values as --host).")
    smtp_port: int = _port(0, "Plain SMTP listener port (advertises STARTTLS); 0 picks a free one.")
    smtps_port: int = _port(0, "Implicit-TLS SMTP listener port; 0 picks a free one.")
    smtp_cert: str | None = option(
        None, "PEM certificate of the sink (with --smtp-key); unset: one generated at start for localhost."
    )
    smtp_key: str | None = option(None, "PEM private key of --smtp-cert.")
    smtp_auth: str = option(
        "any",
        "Sink AUTH policy: 'any' accepts any credentials, 'fixed' only --smtp-credentials.",
        choices=("any", "fixed"),
    )
    smtp_credentials: tuple[str, ...] = option(
        (),
        "Accepted sink logins as user:password, comma-separated or repeated (with --smtp-auth fixed).",
        secret=True,
        example="smtp_credentials: ['mailer:secret']",
    )
    smtp_require_auth: bool = option(False, "The sink refuses MAIL FROM before a successful AUTH (530).", runtime=True)
    capture_limit: int = option(
        1000, "Captured mail: messages kept (oldest dropped); each holds at most --capture-raw-limit.", low=1
    )
    capture_raw_limit: int = option(
        1024 * 1024,
        "Captured mail: bytes of raw source and characters of text kept per message (cut: marked).",
        low=1,
    )
    max_message_size: int = option(
        10 * 1024 * 1024, "SMTP: largest message accepted, in bytes (larger: 552); buffered per connection."
    )
    smtp_max_connections: int = option(
        100,
        "SMTP: open client connections at most (both listeners; testconnection has its own reserve); the next one "
        "gets 421 4.7.0.",
        low=1,
    )
    smtp_command_timeout: float = _seconds(
        60.0, "SMTP: seconds for a whole command line (not per byte); then 421 4.4.2 and close."
    )
    smtp_data_timeout: float = _seconds(
        120.0, "SMTP: seconds for a whole DATA (354 to the final dot); then 421 4.4.2 and close."
    )
    # testconnection
    smtp_mode: str = option(
        "sink",
        "testconnection routing: 'sink' (the embedded sink, whatever host the body names) or 'direct' "
        "(the body's host, allow-listed hosts only).",
        choices=("sink", "direct"),
        runtime=True,
    )
    smtp_allow: tuple[str, ...] = option(
        (),
        "direct mode allow-list beyond loopback: comma-separated CIDRs, IPs or host names.",
        runtime=True,
        example="smtp_allow: [10.0.0.0/8, mail.example.org]",
    )
    smtp_timeout: float = _seconds(10.0, "Time budget of one testconnection SMTP session, in seconds.", runtime=True)
    smtp_ca_file: str | None = option(
        None, "direct mode: extra PEM CA bundle to verify the remote server's TLS certificate."
    )
    smtp_insecure: bool = option(False, "direct mode: do not verify the remote server's TLS certificate.")
    # faults
    faults: tuple[str, ...] = option(
        (),
        "Fault rules armed at start and after every reset: preset names (fixtures/faults/) or YAML/JSON rule "
        "files, comma-separated or repeated. Rule reference: docs/faults.md.",
        example="faults: [flaky-5xx, ./my-faults.yaml] (preset names or fault files; an inline rule belongs in a "
        "fault file, see docs/faults.md)",
    )
    fault_seed: int = option(0, "Seed of the random generator of probabilistic fault rules (same seed, same outcomes).")
    # sandboxes (/sandbox/<name>: isolated instances of the whole mock in one server)
    max_sandboxes: int = option(
        100, "Most named sandboxes (/sandbox/<name>) at once; one more is a 429. 0 disables them.", low=0
    )
    sandbox_idle_timeout: float = _seconds(
        3600.0, "Seconds a named sandbox may go unused before it is dropped (its next use starts afresh)."
    )

    def __post_init__(self) -> None:
        if isinstance(self.admin_token, str) and not self.admin_token.strip():  # before "" becomes None
            raise ConfigError(f"invalid configuration: {EMPTY_ADMIN_TOKEN}")
        for f in _FIELDS:
            value = getattr(self, f.name)
            converted = convert(f, value, "keyword argument")
            if converted is not value:
                object.__setattr__(self, f.name, converted)
        problems = check(_FIELDS, {f.name: getattr(self, f.name) for f in _FIELDS})
        if problems:
            raise ConfigError("invalid configuration: " + "; ".join(text for _, text in problems))

    @property
    def effective_smtp_allow(self) -> tuple[str, ...]:
        """The direct-mode allow-list: loopback, extended by ``smtp_allow``."""
        return LOOPBACK_ALLOW + tuple(a for a in self.smtp_allow if a not in LOOPBACK_ALLOW)

    def replace(self, **changes: Any) -> Config:
        """A copy with ``changes`` applied (converted and validated like the original)."""
        unknown = [name for name in changes if name not in _SPECS]
        if unknown:
            raise ConfigError(unknown_option(unknown[0], self.option_names()))
        return dataclasses.replace(self, **changes)

    def masked(self) -> dict[str, Any]:
        """The configuration as a plain dict with secrets masked, for ``--print-config`` and ``/_mock/config``."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in SECRET_FIELDS and value:
                if isinstance(value, tuple):
                    value = [v.split(":", 1)[0] + ":***" for v in value]
                else:
                    value = "***"
            elif isinstance(value, tuple):
                value = list(value)
            out[f.name] = value
        return out

    @classmethod
    def option_names(cls) -> list[str]:
        """Every option, in declaration order."""
        return list(_SPECS)

    @classmethod
    def runtime_options(cls) -> tuple[str, ...]:
        """The options a running server may change for a while (``MockServer.override``, the pytest marker)."""
        return tuple(name for name, spec in _SPECS.items() if spec.runtime)

    @classmethod
    def default(cls, name: str) -> Any:
        """The default of option ``name`` in effect: the product's (``Config.spec(name).default``), unless a test
        suite changed it with :func:`suite_defaults`."""
        return suite_default(name, _SPECS[name].default)

    @classmethod
    def spec(cls, name: str) -> Spec:
        """The description of option ``name`` (help, choices, bounds, run-time changeability)."""
        return _SPECS[name]

    @classmethod
    def load(
        cls,
        overrides: Mapping[str, Any] | None = None,
        *,
        config_file: str | os.PathLike[str] | None = None,
        environ: Mapping[str, str] | None = None,
        defaults: Mapping[str, Any] | None = None,
    ) -> Config:
        """Merge defaults < file < environment < overrides; values are converted to the field types.

        ``overrides`` entries whose value is ``None`` are treated as "not given". ``defaults`` replace the field
        defaults for this load (``cxmock serve`` uses fixed ports and request logging, ``MockServer`` does not).
        """
        merged: dict[str, Any] = dict(defaults or {})
        #: where each given value came from: "CXMOCK_PORT", "--port", "cxmock.yaml:3"
        origin: dict[str, str] = {}
        if config_file is not None:
            for name, (value, where) in read_config_file(Path(config_file), cls.option_names()).items():
                merged[name], origin[name] = value, where
        env = os.environ if environ is None else environ
        for name in cls.option_names():
            key = ENV_PREFIX + name.upper()
            if key in env:
                merged[name], origin[name] = env[key], key
        for name, value in (overrides or {}).items():
            if value is not None and value != ():
                merged[name], origin[name] = value, "--" + name.replace("_", "-")
        if "admin_token" in origin and not str(merged["admin_token"]).strip():  # before "" becomes None
            raise ConfigError(f"invalid configuration: {origin['admin_token']}: {EMPTY_ADMIN_TOKEN}")
        by_name = {f.name: f for f in fields(cls)}
        unknown = [name for name in merged if name not in by_name]
        if unknown:
            raise ConfigError(unknown_option(unknown[0], cls.option_names()))
        all_defaults = {**{name: cls.default(name) for name in _SPECS}, **(defaults or {})}
        values = {
            name: convert(by_name[name], value, origin.get(name, "default"), all_defaults.get(name))
            for name, value in merged.items()
        }
        problems = check(fields(cls), {**all_defaults, **values})
        if problems:
            raise ConfigError(
                "invalid configuration: "
                + "; ".join(
                    f"{origin.get(name, 'default')}: {text} (default: {all_defaults.get(name)!r})"
                    for name, text in problems
                )
            )
        return cls(**values)


_FIELDS = fields(Config)
_SPECS: dict[str, Spec] = {f.name: spec_of(f) for f in _FIELDS}
name_defaults(fields(Config))


@contextlib.contextmanager
def suite_defaults(**options: Any) -> Iterator[None]:
    """Change the defaults of ``Config`` while the block runs, for a whole test suite: every ``Config()``,
    ``MockServer()`` and ``Config.load()`` that does not set one of ``options`` gets the value given here.

    Values go through the same conversion as every source. Process-wide (not per thread), and meant for a
    session-scoped fixture::

        @pytest.fixture(scope="session", autouse=True)
        def _self_check_on():
            with suite_defaults(validate_responses=True):
                yield
    """
    unknown = [name for name in options if name not in _SPECS]
    if unknown:
        raise ConfigError(unknown_option(unknown[0], list(_SPECS)))
    by_name = {f.name: f for f in fields(Config)}
    values = {
        name: convert(by_name[name], value, "suite_defaults", _SPECS[name].default) for name, value in options.items()
    }
    with set_suite_defaults(values):
        yield


#: fields whose values are masked by ``Config.masked()`` and left out of ``repr()``
SECRET_FIELDS = frozenset(name for name, spec in _SPECS.items() if spec.secret)


def unknown_environment(environ: Mapping[str, str] | None = None) -> list[str]:
    """A warning for each ``CXMOCK_*`` variable that no option reads (``CXMOCK_PROT`` → did you mean
    ``CXMOCK_PORT``?): a misspelt variable would otherwise be ignored silently."""
    env = os.environ if environ is None else environ
    known = [ENV_PREFIX + name.upper() for name in _SPECS] + sorted(OTHER_ENV)
    return [
        f"environment variable {key} is not a cxmock option and is ignored{suggest(key, known)}"
        for key in sorted(env)
        if key.startswith(ENV_PREFIX) and key not in known
    ]
