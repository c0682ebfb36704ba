"""The frozen configuration of a cxmock server.

Built from, in order of precedence: explicit keyword arguments (CLI flags) > ``CXMOCK_<OPTION>`` environment
variables > one YAML file (``--config``) > the defaults below. ``Config.load`` does the merge; every option is a
field here, so the CLI, the environment and the file share one list of names.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError

__all__ = ["Config", "DEFAULT_CLIENT_SECRET", "LOOPBACK_ALLOW", "SECRET_FIELDS", "reachable_host"]

DEFAULT_CLIENT_SECRET = "014DF517-39D1-4453-B7B3-9930C563627C"

#: what direct-mode testconnection may always reach; ``smtp_allow`` adds to it
LOOPBACK_ALLOW = ("127.0.0.0/8", "::1", "localhost")

#: fields whose values are masked by ``Config.masked()`` and left out of ``repr()``
SECRET_FIELDS = frozenset({"client_secret", "admin_token", "smtp_credentials"})

ENV_PREFIX = "CXMOCK_"


def reachable_host(bind_host: str) -> str:
    """The address a client on this machine uses to reach a listener bound to ``bind_host``: a wildcard bind
    (``0.0.0.0``, ``::``, empty) is reached on loopback; any other address as it is."""
    # bandit B104: a comparison, not a bind
    if bind_host in ("0.0.0.0", ""):  # nosec B104
        return "127.0.0.1"
    return "::1" if bind_host == "::" else bind_host


@dataclass(frozen=True)
class Config:
    """Every option of the server. Ports 0 mean "pick a free ephemeral port"."""

    # HTTP
    host: str = "127.0.0.1"
    port: int = 0
    #: "default" (the bundled vendor sample), "none" (empty), or a path to a YAML/JSON seed file
    seed: str = "default"
    #: None means the bundled fixtures/users.yaml
    users: str | None = None
    token_lifetime: int = 3600
    #: absolute lifetime of a refresh token (offline_access), from the password login; IdentityServer's 30 days
    refresh_token_lifetime: int = 30 * 24 * 3600
    #: PEM RSA private key that signs the JWTs; None generates one per run (tokens of another run are then refused)
    signing_key: str | None = None
    client_secret: str = field(default=DEFAULT_CLIENT_SECRET, repr=False)
    strict: bool = False
    max_body: int = 64 * 1024
    admin_token: str | None = field(default=None, repr=False)
    validate_responses: bool = False
    log_format: str = "text"
    log_requests: bool = False
    journal_limit: int = 1000
    #: how many SMTP settings records POST may create (the seed and the admin API are bounded by --max-body)
    settings_limit: int = 10_000
    #: the most a list endpoint of the admin API (/_mock/messages, /_mock/requests) answers in one page
    max_page_bytes: int = 8 * 1024 * 1024
    http_threads: int = 16
    #: seconds for a whole request head, and for a whole body (not per byte): 408 when they pass
    http_head_timeout: float = 10.0
    http_body_timeout: float = 30.0
    #: seconds an idle keep-alive connection stays open
    http_idle_timeout: float = 60.0
    #: open connections at most (idle ones included); beyond, 503 + Retry-After and close
    http_max_connections: int = 4096
    #: on stop (SIGTERM, MockServer.stop()), seconds requests in flight get to finish before every socket closes
    http_grace: float = 2.0
    # SMTP sink
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 0
    smtps_port: int = 0
    smtp_cert: str | None = None
    smtp_key: str | None = None
    #: "any" accepts any credentials; "fixed" only smtp_credentials; add smtp_require_auth to demand AUTH
    smtp_auth: str = "any"
    smtp_credentials: tuple[str, ...] = field(default=(), repr=False)
    smtp_require_auth: bool = False
    capture_limit: int = 1000
    capture_raw_limit: int = 1024 * 1024
    max_message_size: int = 10 * 1024 * 1024
    smtp_max_connections: int = 100
    smtp_command_timeout: float = 60.0
    smtp_data_timeout: float = 120.0
    # testconnection
    smtp_mode: str = "sink"
    #: direct mode may reach loopback (LOOPBACK_ALLOW) plus these CIDRs, addresses or host names
    smtp_allow: tuple[str, ...] = ()
    smtp_timeout: float = 10.0
    smtp_ca_file: str | None = None
    smtp_insecure: bool = False
    # faults
    faults: tuple[str, ...] = ()
    fault_seed: int = 0
    # sandboxes (/sandbox/<name>: isolated instances of the whole mock in one server)
    #: at most this many named sandboxes at once (the root, the default sandbox, not counted); 0 disables them
    max_sandboxes: int = 100
    #: a named sandbox unused for this many seconds is dropped; its next use starts a fresh one
    sandbox_idle_timeout: float = 3600.0

    def __post_init__(self) -> None:
        problems = []
        if self.smtp_mode not in ("sink", "direct"):
            problems.append(f"smtp_mode must be 'sink' or 'direct', got {self.smtp_mode!r}")
        if self.smtp_auth not in ("any", "fixed"):
            problems.append(f"smtp_auth must be 'any' or 'fixed', got {self.smtp_auth!r}")
        if self.log_format not in ("text", "json"):
            problems.append(f"log_format must be 'text' or 'json', got {self.log_format!r}")
        for name in ("port", "smtp_port", "smtps_port"):
            value = getattr(self, name)
            if not 0 <= value <= 65535:
                problems.append(f"{name} must be between 0 and 65535, got {value}")
        for name in (
            "token_lifetime",
            "refresh_token_lifetime",
            "max_body",
            "journal_limit",
            "capture_limit",
            "http_threads",
            "smtp_max_connections",
            "capture_raw_limit",
            "settings_limit",
            "max_page_bytes",
            "http_max_connections",
        ):
            if getattr(self, name) < 1:
                problems.append(f"{name} must be at least 1, got {getattr(self, name)}")
        timeouts = ("smtp_timeout", "smtp_command_timeout", "smtp_data_timeout")
        for name in (*timeouts, "http_head_timeout", "http_body_timeout", "http_idle_timeout"):
            if getattr(self, name) <= 0:
                problems.append(f"{name} must be positive, got {getattr(self, name)}")
        if self.http_grace < 0:
            problems.append(f"http_grace must be 0 or more, got {self.http_grace}")
        if self.max_sandboxes < 0:
            problems.append(f"max_sandboxes must be at least 0, got {self.max_sandboxes}")
        if self.sandbox_idle_timeout <= 0:
            problems.append(f"sandbox_idle_timeout must be positive, got {self.sandbox_idle_timeout}")
        for cred in self.smtp_credentials:
            if ":" not in cred:
                problems.append("smtp_credentials entries must be 'user:password', got an entry without ':'")
        if problems:
            raise ConfigError("invalid configuration: " + "; ".join(problems))

    @property
    def effective_smtp_allow(self) -> tuple[str, ...]:
        """The direct-mode allow-list: loopback, extended by ``smtp_allow``."""
        return LOOPBACK_ALLOW + tuple(a for a in self.smtp_allow if a not in LOOPBACK_ALLOW)

    def replace(self, **changes: Any) -> Config:
        """A copy with ``changes`` applied (validated like the original)."""
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
        return [f.name for f in fields(cls)]

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
        if config_file is not None:
            merged.update(_read_config_file(Path(config_file)))
        env = os.environ if environ is None else environ
        for name in cls.option_names():
            key = ENV_PREFIX + name.upper()
            if key in env:
                merged[name] = env[key]
        for name, value in (overrides or {}).items():
            if value is not None and value != ():
                merged[name] = value
        return cls(**{name: _convert(name, value) for name, value in merged.items()})


_FIELD_TYPES = {f.name: f for f in fields(Config)}


def _read_config_file(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping of option: value, got {type(data).__name__}")
    out = {}
    for key, value in data.items():
        name = str(key).replace("-", "_")
        if name not in _FIELD_TYPES:
            raise ConfigError(
                f"config file {path}: unknown option {key!r}; known options: {', '.join(Config.option_names())}"
            )
        out[name] = value
    return out


def _convert(name: str, value: Any) -> Any:
    if name not in _FIELD_TYPES:
        raise ConfigError(f"unknown option {name!r}; known options: {', '.join(Config.option_names())}")
    default = _FIELD_TYPES[name].default
    kind = str(_FIELD_TYPES[name].type)
    try:
        if kind == "bool":
            if isinstance(value, str):
                low = value.strip().lower()
                if low in ("1", "true", "yes", "on"):
                    return True
                if low in ("0", "false", "no", "off", ""):
                    return False
                raise ValueError(f"expected a boolean (true/false), got {value!r}")
            if isinstance(value, bool) or value in (0, 1):
                return bool(value)
            raise ValueError(f"expected a boolean (true/false), got {value!r}")
        if kind == "int":
            if isinstance(value, bool):
                raise ValueError("expected an integer, got a boolean")
            if isinstance(value, float) and not value.is_integer():
                raise ValueError(f"expected an integer, got {value!r}")
            return int(value)
        if kind == "float":
            return float(value)
        if kind.startswith("tuple"):
            if isinstance(value, str):
                return tuple(v.strip() for v in value.split(",") if v.strip())
            return tuple(str(v) for v in value)
        if value is None:
            return None
        if kind == "str | None" and isinstance(value, str) and value == "":
            return None
        return str(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"option {name}: {exc} (default is {default!r})") from None
