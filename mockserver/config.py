"""The frozen configuration of a cxmock server.

Built from, in order of precedence: explicit keyword arguments (CLI flags) > ``CXMOCK_<OPTION>`` environment
variables > one YAML file (``--config``) > the defaults below. ``Config.load`` does the merge; every option is a
field here, so the CLI, the environment and the file share one list of names.
"""

from __future__ import annotations

import dataclasses
import difflib
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

#: ``CXMOCK_*`` variables read by something other than ``Config`` (the CLI, the pytest plugin, scripts/)
OTHER_ENV = frozenset({"CXMOCK_CONFIG", "CXMOCK_URL", "CXMOCK_SMOKE_DIR"})

#: what a value of each kind of option looks like, for error messages
_EXPECTED = {
    "bool": "a boolean (true/false, yes/no, on/off, 1/0)",
    "int": "an integer",
    "float": "a number",
    "str": "a string",
    "str | None": "a string (a file path)",
    "tuple[str, ...]": "a list of strings: a YAML list, or one comma-separated string",
}
#: an example of the right shape for the options whose shape people get wrong
_SHAPE_EXAMPLES = {
    "faults": "faults: [flaky-5xx, ./my-faults.yaml] (preset names or fault files; an inline rule belongs in a "
    "fault file, see docs/faults.md)",
    "smtp_allow": "smtp_allow: [10.0.0.0/8, mail.example.org]",
    "smtp_credentials": "smtp_credentials: ['mailer:secret']",
    "seed": "seed: none (or default, or a path to a YAML/JSON file of settings records)",
    "users": "users: ./users.yaml (a path to a users file like fixtures/users.yaml)",
}


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
    #: a GET of the settings is answered on the HTTP front end's event loop, without Flask (mockserver/http/fast.py)
    http_fast_reads: bool = True
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
        problems = _problems({f.name: getattr(self, f.name) for f in fields(self)})
        if problems:
            raise ConfigError("invalid configuration: " + "; ".join(text for _, text in problems))

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
        #: where each given value came from: "CXMOCK_PORT", "--port", "cxmock.yaml:3"
        origin: dict[str, str] = {}
        if config_file is not None:
            for name, (value, where) in _read_config_file(Path(config_file)).items():
                merged[name], origin[name] = value, where
        env = os.environ if environ is None else environ
        for name in cls.option_names():
            key = ENV_PREFIX + name.upper()
            if key in env:
                merged[name], origin[name] = env[key], key
        for name, value in (overrides or {}).items():
            if value is not None and value != ():
                merged[name], origin[name] = value, "--" + name.replace("_", "-")
        all_defaults = {**{f.name: f.default for f in fields(cls)}, **(defaults or {})}
        values = {
            name: _convert(name, value, origin.get(name, "default"), all_defaults.get(name))
            for name, value in merged.items()
        }
        problems = _problems({**all_defaults, **values})
        if problems:
            raise ConfigError(
                "invalid configuration: "
                + "; ".join(
                    f"{origin.get(name, 'default')}: {text} (default: {all_defaults.get(name)!r})"
                    for name, text in problems
                )
            )
        return cls(**values)


_FIELD_TYPES = {f.name: f for f in fields(Config)}


def _problems(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(option, what is wrong) for every invalid value of ``config`` (every option's value by name)."""
    problems: list[tuple[str, str]] = []
    for name, allowed in (
        ("smtp_mode", ("sink", "direct")),
        ("smtp_auth", ("any", "fixed")),
        ("log_format", ("text", "json")),
    ):
        if config[name] not in allowed:
            problems.append((name, f"{name} must be {' or '.join(map(repr, allowed))}, got {config[name]!r}"))
    for name in ("port", "smtp_port", "smtps_port"):
        value = config[name]
        if not 0 <= value <= 65535:
            problems.append((name, f"{name} must be between 0 and 65535 (0 picks a free port), got {value}"))
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
        if config[name] < 1:
            problems.append((name, f"{name} must be at least 1, got {config[name]}"))
    timeouts = ("smtp_timeout", "smtp_command_timeout", "smtp_data_timeout")
    for name in (*timeouts, "http_head_timeout", "http_body_timeout", "http_idle_timeout"):
        if config[name] <= 0:
            problems.append((name, f"{name} must be a positive number of seconds, got {config[name]}"))
    if config["http_grace"] < 0:
        problems.append(("http_grace", f"http_grace must be 0 or more seconds, got {config['http_grace']}"))
    if config["max_sandboxes"] < 0:
        problems.append(("max_sandboxes", f"max_sandboxes must be at least 0, got {config['max_sandboxes']}"))
    if config["sandbox_idle_timeout"] <= 0:
        problems.append(
            (
                "sandbox_idle_timeout",
                f"sandbox_idle_timeout must be a positive number of seconds, got {config['sandbox_idle_timeout']}",
            )
        )
    if any(":" not in cred for cred in config["smtp_credentials"]):
        problems.append(
            ("smtp_credentials", "smtp_credentials entries must be 'user:password', got an entry without ':'")
        )
    return problems


def suggest(name: str, known: list[str]) -> str:
    """``"; did you mean 'port'?"`` for a near miss of one of ``known``, else ``""``."""
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.7)
    return f"; did you mean {close[0]!r}?" if close else ""


def unknown_environment(environ: Mapping[str, str] | None = None) -> list[str]:
    """A warning for each ``CXMOCK_*`` variable that no option reads (``CXMOCK_PROT`` → did you mean
    ``CXMOCK_PORT``?): a misspelt variable would otherwise be ignored silently."""
    env = os.environ if environ is None else environ
    known = [ENV_PREFIX + name.upper() for name in Config.option_names()] + sorted(OTHER_ENV)
    return [
        f"environment variable {key} is not a cxmock option and is ignored{suggest(key, known)}"
        for key in sorted(env)
        if key.startswith(ENV_PREFIX) and key not in known
    ]


def _key_lines(text: str) -> dict[str, int]:
    """The line of each top-level key of a YAML mapping document (1-based), for messages that say ``file:line``."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return {}
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {str(key.value): key.start_mark.line + 1 for key, _ in node.value}


def _read_config_file(path: Path) -> dict[str, tuple[Any, str]]:
    """option -> (value, "file:line")."""
    try:
        text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text)
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"config file {path} must hold a mapping of option: value (e.g. 'port: 8080'), got {_kind(data)}"
        )
    lines = _key_lines(text)
    out = {}
    for key, value in data.items():
        name = str(key).replace("-", "_")
        where = f"{path}:{lines[str(key)]}" if str(key) in lines else str(path)
        if name not in _FIELD_TYPES:
            raise ConfigError(
                f"{where}: unknown option {key!r}{suggest(name, Config.option_names())}; "
                f"known options: {', '.join(Config.option_names())}"
            )
        out[name] = (value, where)
    return out


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return f"{type(value).__name__} {value!r}"


def _convert(name: str, value: Any, where: str = "default", default: Any = None) -> Any:
    if name not in _FIELD_TYPES:
        raise ConfigError(
            f"unknown option {name!r}{suggest(name, Config.option_names())}; "
            f"known options: {', '.join(Config.option_names())}"
        )
    kind = str(_FIELD_TYPES[name].type)
    expected = _EXPECTED.get(kind, kind)
    example = f"; e.g. {_SHAPE_EXAMPLES[name]}" if name in _SHAPE_EXAMPLES else ""
    if (
        isinstance(value, dict)
        or (isinstance(value, list | tuple) and not kind.startswith("tuple"))
        or (
            kind.startswith("tuple")
            and isinstance(value, list | tuple)
            and any(isinstance(v, dict | list) for v in value)
        )
    ):
        raise ConfigError(
            f"{where}: option {name} expects {expected}, got {_kind(value)}{example} (default: {default!r})"
        )
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
    except (TypeError, ValueError):
        raise ConfigError(
            f"{where}: option {name} expects {expected}, got {value!r}{example} (default: {default!r})"
        ) from None
