"""Fault rules and their seeded schedule. Returns decisions; never acts (the adapters act).

A rule has a ``match`` (what it applies to), an ``action`` (what goes wrong) and a schedule (``times``,
``after``, ``probability``). The shape is the same in YAML/JSON files, the admin API and Python keyword
arguments::

    - name: flaky-list
      match: {method: GET, path: /cxrestapi/auth/SMTPSettings}
      action: {type: status, status: 503}
      times: 2
    - match: {stage: auth}              # a rule whose match names ``stage`` is an SMTP rule
      action: {type: reply, code: 535, text: "5.7.8 Authentication credentials invalid"}

Rules are evaluated in order and the first *firing* rule wins: a rule that matches but does not fire
(still inside ``after``, a ``probability`` miss, or spent) lets evaluation go on. Every random draw
(probability, delay jitter) comes from a generator owned by the rule, seeded from the engine seed and the
rule's position since the last ``reset()``: the same seed and the same sequence of requests give the same
outcomes, whatever other rules do.

INTERFACE CONTRACT (used by the HTTP and SMTP adapters and the runtime; keep these names):

- ``HttpFault``: the decision for one HTTP request (``action`` is one of ``status``, ``delay``, ``hang``,
  ``drop``, ``reset``, ``malformed``, ``content_type``, ``rate_limit``, ``expire_token``) with its
  concrete parameters.
- ``SmtpFault``: the decision for one SMTP stage (``action`` is ``reply``, ``delay`` or ``drop``).
- ``FaultEngine.decide_http(method, path, operation_id=None, headers=None, user=None) -> HttpFault | None``
- ``FaultEngine.decide_smtp(stage, user=None, listener=None) -> SmtpFault | None``
- ``FaultEngine.add / remove / clear / reset / list / firings``, ``FaultHandle``, ``parse_rules``,
  ``load_rules_file``, ``load_rule_sources``, ``load_preset``, ``preset_names``.

Requests under the admin prefix ``/_mock`` are never faulted: a match-all rule cannot block its own removal.
"""

from __future__ import annotations

import builtins
import copy
import difflib
import json
import math
import random
import re
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import yaml

from mockserver._resources import fixture_path
from mockserver.errors import ConfigError, MessageCode

__all__ = [
    "ADMIN_PREFIX",
    "FIRINGS_LIMIT",
    "HTTP_ACTIONS",
    "SMTP_ACTIONS",
    "SMTP_STAGES",
    "FaultEngine",
    "FaultHandle",
    "HttpFault",
    "Rule",
    "SmtpFault",
    "load_preset",
    "load_rule_sources",
    "load_rules_file",
    "parse_rules",
    "preset_names",
]

SMTP_STAGES = ("connect", "greeting", "ehlo", "starttls", "auth", "mail", "rcpt", "data")
SMTP_LISTENERS = ("smtp", "smtps")
HTTP_ACTIONS = (
    "status",
    "delay",
    "hang",
    "drop",
    "reset",
    "malformed",
    "content_type",
    "rate_limit",
    "expire_token",
)
SMTP_ACTIONS = ("reply", "delay", "drop")
MALFORMED_MODES = ("invalid", "truncated")
DISTRIBUTIONS = ("uniform", "normal")

#: requests under this path prefix (the admin API) are never faulted
ADMIN_PREFIX = "/_mock"
#: how many firings ``FaultEngine.firings()`` keeps (the oldest are dropped first)
FIRINGS_LIMIT = 1000

_RULE_KEYS = ("name", "match", "action", "times", "after", "probability")
_HTTP_MATCH_KEYS = ("method", "path", "operationId", "headers", "user")
_SMTP_MATCH_KEYS = ("stage", "user", "listener")
_DELAY_KEYS = ("ms", "distribution", "min_ms", "max_ms", "mean_ms", "stddev_ms")
_ACTION_KEYS: dict[str, tuple[str, ...]] = {
    "status": ("status", "body", "headers"),
    "delay": (*_DELAY_KEYS, "jitter"),
    "hang": ("seconds",),
    "drop": (),
    "reset": (),
    "malformed": ("mode",),
    "content_type": ("value",),
    "rate_limit": ("retry_after",),
    "expire_token": (),
    "reply": ("code", "text"),
}
_HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_PRESET_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
_TEMPLATE_PARAM = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*\}")

DEFAULT_HANG_SECONDS = 30.0
DEFAULT_RETRY_AFTER = 1
DEFAULT_CONTENT_TYPE = "text/html"


# ------------------------------------------------------------------------------------------------- decisions


@dataclass(frozen=True)
class HttpFault:
    """What the HTTP adapter must do for one request.

    Fields that do not apply to ``action`` keep their defaults; ``params`` repeats the ones that apply.

    - ``status``: answer ``status`` with ``body`` (a JSON value; a ``str`` is sent verbatim) and ``headers``.
    - ``delay``: wait ``delay_s`` seconds, then answer normally.
    - ``hang``: hold the connection ``seconds``, then close it without a response.
    - ``drop`` / ``reset``: close the connection without a response (``reset``: with a TCP RST).
    - ``malformed``: the normal status with a JSON body that is ``mode`` ``invalid`` or ``truncated``.
    - ``content_type``: the normal response with ``Content-Type: value``.
    - ``rate_limit``: ``status`` 429 with ``body`` and ``headers`` (``Retry-After: retry_after``).
    - ``expire_token``: ``status`` 401 ``invalid_token`` although the bearer token is valid.
    """

    rule_id: str
    name: str | None
    action: str
    params: dict[str, Any] = field(default_factory=dict)
    status: int | None = None
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    seconds: float | None = None
    mode: str | None = None
    value: str | None = None
    retry_after: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """``{"ruleId", "name", "action", **params}`` (JSON-ready)."""
        return {
            "ruleId": self.rule_id,
            "name": self.name,
            "action": self.action,
            **copy.deepcopy(self.params),
        }


@dataclass(frozen=True)
class SmtpFault:
    """What the SMTP sink must do at one stage: ``reply`` ``code`` ``text`` (instead of the normal reply),
    ``delay`` ``delay_s`` seconds then go on normally, or ``drop`` the connection."""

    rule_id: str
    name: str | None
    stage: str
    action: str  # "reply" | "delay" | "drop"
    code: int | None = None
    text: str | None = None
    delay_s: float = 0.0

    @property
    def reply(self) -> str | None:
        """The SMTP reply line ``"<code> <text>"`` of a ``reply`` decision, else None."""
        if self.code is None:
            return None
        return f"{self.code} {self.text}" if self.text else str(self.code)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ruleId": self.rule_id,
            "name": self.name,
            "stage": self.stage,
            "action": self.action,
        }
        if self.action == "reply":
            out.update(code=self.code, text=self.text)
        elif self.action == "delay":
            out["delay_s"] = self.delay_s
        return out


# ----------------------------------------------------------------------------------------------------- rules


@dataclass(frozen=True, eq=False)
class Rule:
    """One validated rule (build it with ``parse_rules``). ``kind`` is ``"http"`` or ``"smtp"``; ``match`` and
    ``action`` are normalised (method upper-cased, header names lower-cased, action defaults filled in)."""

    kind: str
    match: dict[str, Any]
    action: dict[str, Any]
    name: str | None = None
    times: int | None = None
    after: int = 0
    probability: float = 1.0
    path_pattern: re.Pattern[str] | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """The rule in its input shape; ``parse_rules(rule.to_dict())`` gives an equivalent rule."""
        return {
            "name": self.name,
            "match": copy.deepcopy(self.match),
            "action": copy.deepcopy(self.action),
            "times": self.times,
            "after": self.after,
            "probability": self.probability,
        }

    def matches_http(
        self, method: str, path: str, operation_id: str | None, headers: _Headers, user: str | None
    ) -> bool:
        if self.kind != "http":
            return False
        m = self.match
        if "method" in m and m["method"] != method:
            return False
        if self.path_pattern is not None and not self.path_pattern.match(path):
            return False
        if "operationId" in m and m["operationId"] != operation_id:
            return False
        if "user" in m and m["user"] != user:
            return False
        if "headers" in m:
            received = headers.get()
            for name, value in m["headers"].items():
                if value not in received.get(name, ()):
                    return False
        return True

    def matches_smtp(self, stage: str, user: str | None, listener: str | None) -> bool:
        if self.kind != "smtp":
            return False
        m = self.match
        if m["stage"] != stage:
            return False
        if "user" in m and m["user"] != user:
            return False
        return not ("listener" in m and m["listener"] != listener)


class _Headers:
    """Request headers, lower-cased into ``{name: [values]}`` only if a rule asks for them."""

    def __init__(self, raw: Mapping[str, str] | Iterable[tuple[str, str]] | None) -> None:
        self._raw = raw
        self._parsed: dict[str, list[str]] | None = None

    def get(self) -> dict[str, list[str]]:
        if self._parsed is None:
            parsed: dict[str, list[str]] = {}
            raw = self._raw
            pairs: Iterable[tuple[str, str]]
            if raw is None:
                pairs = ()
            elif hasattr(raw, "items"):
                pairs = raw.items()
            else:
                pairs = raw
            for name, value in pairs:
                parsed.setdefault(str(name).lower(), []).append(str(value))
            self._parsed = parsed
        return self._parsed


def _fail(where: str, message: str) -> ConfigError:
    return ConfigError(f"{where}: {message}")


def _check_keys(
    data: Mapping[str, Any], known: tuple[str, ...], where: str, what: str = "", note: str = ""
) -> None:
    for key in data:
        if key not in known:
            hint = difflib.get_close_matches(str(key), known, n=1)
            did_you_mean = f"; did you mean {hint[0]!r}?" if hint else ""
            listed = ", ".join(known) if known else "none"
            raise _fail(f"{where}.{key}", f"unknown key{what} (known keys: {listed}){did_you_mean}{note}")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _int(value: Any, where: str, low: int, high: int | None = None) -> int:
    ok = (
        isinstance(value, int)
        and not isinstance(value, bool)
        and value >= low
        and (high is None or value <= high)
    )
    if not ok:
        bounds = f"between {low} and {high}" if high is not None else f">= {low}"
        raise _fail(where, f"must be an integer {bounds}, got {value!r}")
    return int(value)


def _number(value: Any, where: str, *, positive: bool = False) -> float:
    if not _is_number(value) or value < 0 or (positive and value == 0):
        raise _fail(where, f"must be a number {'> 0' if positive else '>= 0'}, got {value!r}")
    return float(value)


def _text(value: Any, where: str, *, allow_empty: bool = False) -> str:
    if not isinstance(value, str) or (not allow_empty and not value.strip()):
        raise _fail(where, f"must be a {'' if allow_empty else 'non-empty '}string, got {value!r}")
    if "\r" in value or "\n" in value:
        raise _fail(where, f"must be a single line (no CR or LF), got {value!r}")
    return value


def _choice(value: Any, choices: tuple[str, ...], where: str) -> str:
    if not isinstance(value, str) or value.lower() not in choices:
        raise _fail(where, f"must be one of {', '.join(choices)}, got {value!r}")
    return value.lower()


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _fail(where, f"must be a mapping, got {type(value).__name__} {value!r}")
    return value


def _header_map(value: Any, where: str, *, lower: bool) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, raw in _mapping(value, where).items():
        if not isinstance(name, str) or not _HEADER_NAME.match(name):
            raise _fail(f"{where}", f"header name must be an HTTP token, got {name!r}")
        if _is_number(raw):
            raw = str(raw)
        out[name.lower() if lower else name] = _text(raw, f"{where}.{name}", allow_empty=True)
    return out


def _compile_path(value: Any, where: str) -> re.Pattern[str]:
    """``/a/{id}`` (a ``{param}`` is one non-empty segment part), ``/a/*`` (prefix), or ``*`` (any path).

    Paths compare case-insensitively (like the vendor's IIS routing) and ignore one trailing slash."""
    if not isinstance(value, str) or not (value.startswith("/") or value == "*"):
        raise _fail(
            where,
            f"must be a path starting with '/' (templates like /x/{{id}} and a trailing * allowed), "
            f"got {value!r}",
        )
    glob = value.endswith("*")
    body = value[:-1] if glob else value
    if "*" in body:
        raise _fail(where, f"'*' is only allowed at the end of the path, got {value!r}")
    literals = _TEMPLATE_PARAM.split(body)
    if any("{" in part or "}" in part for part in literals):
        raise _fail(where, f"template parameters must look like {{name}}, got {value!r}")
    pattern = r"[^/]+".join(re.escape(part) for part in literals)
    if glob:
        pattern += ".*"
    else:
        pattern = pattern.rstrip("/") + "/?" if pattern != "/" else pattern
    return re.compile(pattern + r"\Z", re.IGNORECASE | re.DOTALL)


def _parse_match(data: Any, where: str) -> tuple[str, dict[str, Any], re.Pattern[str] | None]:
    if data is None:
        return "http", {}, None
    m = _mapping(data, where)
    if "stage" in m:
        _check_keys(
            m,
            _SMTP_MATCH_KEYS,
            where,
            " for an SMTP rule",
            "; a rule whose match names 'stage' is an SMTP rule",
        )
        out: dict[str, Any] = {"stage": _choice(m["stage"], SMTP_STAGES, f"{where}.stage")}
        if "user" in m:
            out["user"] = _text(m["user"], f"{where}.user")
        if "listener" in m:
            out["listener"] = _choice(m["listener"], SMTP_LISTENERS, f"{where}.listener")
        return "smtp", out, None
    smtp_only = [k for k in m if k in ("listener",)]
    if smtp_only:
        raise _fail(
            f"{where}.{smtp_only[0]}",
            "only SMTP rules match on a listener; add 'stage' "
            f"(one of {', '.join(SMTP_STAGES)}) to make this an SMTP rule",
        )
    _check_keys(m, _HTTP_MATCH_KEYS, where, " for an HTTP rule")
    out = {}
    pattern = None
    if "method" in m:
        method = _text(m["method"], f"{where}.method")
        if not _HEADER_NAME.match(method):
            raise _fail(f"{where}.method", f"must be an HTTP method such as GET, got {method!r}")
        out["method"] = method.upper()
    if "path" in m:
        pattern = _compile_path(m["path"], f"{where}.path")
        out["path"] = m["path"]
    if "operationId" in m:
        out["operationId"] = _text(m["operationId"], f"{where}.operationId")
    if "headers" in m:
        out["headers"] = _header_map(m["headers"], f"{where}.headers", lower=True)
    if "user" in m:
        out["user"] = _text(m["user"], f"{where}.user")
    return "http", out, pattern


def _parse_delay(a: Mapping[str, Any], where: str) -> dict[str, Any]:
    spec: dict[str, Any] = {k: v for k, v in a.items() if k in _DELAY_KEYS}
    spec_where = {k: f"{where}.{k}" for k in spec}
    if "jitter" in a:
        jitter = _mapping(a["jitter"], f"{where}.jitter")
        _check_keys(jitter, _DELAY_KEYS[1:], f"{where}.jitter")
        if spec:
            raise _fail(f"{where}.jitter", f"give either jitter or {', '.join(spec)}, not both")
        spec = dict(jitter)
        spec_where = {k: f"{where}.jitter.{k}" for k in spec}
    if "ms" in spec:
        extra = [k for k in spec if k != "ms"]
        if extra:
            raise _fail(
                spec_where[extra[0]], "a fixed delay (ms) takes no jitter parameters; drop ms for jitter"
            )
        return {"type": "delay", "ms": _number(spec["ms"], spec_where["ms"])}
    if "distribution" not in spec:
        raise _fail(
            f"{where}.ms",
            "required: a fixed delay in milliseconds, or a jitter "
            "{distribution: uniform, min_ms, max_ms} / {distribution: normal, mean_ms, stddev_ms}",
        )
    dist = _choice(spec["distribution"], DISTRIBUTIONS, spec_where["distribution"])
    wanted = ("min_ms", "max_ms") if dist == "uniform" else ("mean_ms", "stddev_ms")
    for key in spec:
        if key not in ("distribution", *wanted):
            raise _fail(
                spec_where[key], f"not a parameter of the {dist} distribution (it takes {', '.join(wanted)})"
            )
    values: dict[str, Any] = {"type": "delay", "distribution": dist}
    for key in wanted:
        if key not in spec:
            raise _fail(
                f"{where}.{key}" if "jitter" not in a else f"{where}.jitter.{key}",
                f"required by the {dist} distribution",
            )
        values[key] = _number(spec[key], spec_where[key])
    if dist == "uniform" and values["min_ms"] > values["max_ms"]:
        raise _fail(spec_where["max_ms"], f"must be >= min_ms ({values['min_ms']}), got {values['max_ms']!r}")
    return values


def _parse_action(data: Any, kind: str, where: str) -> dict[str, Any]:
    if data is None:
        raise _fail(where, "required: a mapping with a 'type'")
    if isinstance(data, str):
        data = {"type": data}
    a = _mapping(data, where)
    allowed = HTTP_ACTIONS if kind == "http" else SMTP_ACTIONS
    if "type" not in a:
        raise _fail(f"{where}.type", f"required: one of {', '.join(allowed)}")
    kind_label = "an HTTP" if kind == "http" else "an SMTP"
    atype = a["type"]
    if not isinstance(atype, str) or atype not in allowed:
        if isinstance(atype, str) and atype in _ACTION_KEYS:
            other = "an SMTP" if kind == "http" else "an HTTP"
            why = "its match has no 'stage'" if kind == "http" else "its match names 'stage'"
            raise _fail(
                f"{where}.type",
                f"{atype!r} is {other} action, but this is {kind_label} rule ({why}); "
                f"{kind.upper()} actions: {', '.join(allowed)}",
            )
        hint = difflib.get_close_matches(str(atype), allowed, n=1)
        tail = f"; did you mean {hint[0]!r}?" if hint else ""
        raise _fail(f"{where}.type", f"must be one of {', '.join(allowed)}, got {atype!r}{tail}")
    _check_keys(a, ("type", *_ACTION_KEYS[atype]), where, f" for action {atype!r}")
    out: dict[str, Any] = {"type": atype}
    if atype == "status":
        if "status" not in a:
            raise _fail(f"{where}.status", "required: an integer between 100 and 599")
        out["status"] = _int(a["status"], f"{where}.status", 100, 599)
        if "body" in a:
            try:
                json.dumps(a["body"])
            except (TypeError, ValueError) as exc:
                raise _fail(f"{where}.body", f"must be a JSON value or a string ({exc})") from None
            out["body"] = copy.deepcopy(a["body"])
        if "headers" in a:
            out["headers"] = _header_map(a["headers"], f"{where}.headers", lower=False)
    elif atype == "delay":
        out = _parse_delay(a, where)
    elif atype == "hang":
        out["seconds"] = _number(a.get("seconds", DEFAULT_HANG_SECONDS), f"{where}.seconds", positive=True)
    elif atype == "malformed":
        out["mode"] = _choice(a.get("mode", "invalid"), MALFORMED_MODES, f"{where}.mode")
    elif atype == "content_type":
        out["value"] = _text(a.get("value", DEFAULT_CONTENT_TYPE), f"{where}.value")
    elif atype == "rate_limit":
        out["retry_after"] = _int(a.get("retry_after", DEFAULT_RETRY_AFTER), f"{where}.retry_after", 0)
    elif atype == "reply":
        if "code" not in a:
            raise _fail(f"{where}.code", "required: an SMTP reply code between 200 and 599")
        out["code"] = _int(a["code"], f"{where}.code", 200, 599)
        if a.get("text") is not None:
            out["text"] = _text(a["text"], f"{where}.text", allow_empty=True)
    return out


def _parse_rule(data: Any, where: str) -> Rule:
    if isinstance(data, Rule):
        return data
    r = _mapping(data, where)
    _check_keys(r, _RULE_KEYS, where)
    name = None
    if r.get("name") is not None:
        name = _text(r["name"], f"{where}.name")
    kind, match, pattern = _parse_match(r.get("match"), f"{where}.match")
    action = _parse_action(r.get("action"), kind, f"{where}.action")
    times = None if r.get("times") is None else _int(r["times"], f"{where}.times", 1)
    after = 0 if r.get("after") is None else _int(r["after"], f"{where}.after", 0)
    probability = 1.0
    if r.get("probability") is not None:
        p = r["probability"]
        if not _is_number(p) or not 0 <= p <= 1:
            raise _fail(f"{where}.probability", f"must be a number between 0 and 1, got {p!r}")
        probability = float(p)
    return Rule(kind, match, action, name, times, after, probability, pattern)


def parse_rules(data: Any) -> builtins.list[Rule]:
    """Validate one rule (a mapping), a list of rules, or ``{"rules": [...]}``; all of them or none.

    :raises ConfigError: naming the bad field, e.g.
        ``rule[1].action.status: must be an integer between 100 and 599, got 'abc'``.
    """
    if isinstance(data, Rule):
        return [data]
    if isinstance(data, Mapping) and "rules" in data:
        extra = [k for k in data if k != "rules"]
        if extra:
            raise ConfigError(
                f"{extra[0]}: unknown key next to 'rules' (a rules document holds only 'rules')"
            )
        data = data["rules"]
        if data is None:
            return []
    if isinstance(data, Mapping):
        return [_parse_rule(data, "rule[0]")]
    if isinstance(data, list | tuple):
        return [_parse_rule(item, f"rule[{i}]") for i, item in enumerate(data)]
    raise ConfigError(
        f"rules: expected a rule (mapping), a list of rules or {{rules: [...]}}, got "
        f"{type(data).__name__} {data!r}"
    )


def load_rules_file(path: str | Path) -> builtins.list[Rule]:
    """Rules from a YAML or JSON file (``.json`` is parsed as JSON, anything else as YAML); empty means none.

    :raises ConfigError: naming the file (and the field) on any problem.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"fault file {p}: not found; pass the path of a YAML or JSON rules file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"fault file {p}: cannot be read ({exc})") from None
    try:
        data = json.loads(text) if p.suffix.lower() == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise ConfigError(
            f"fault file {p}: not valid {'JSON' if p.suffix.lower() == '.json' else 'YAML'} ({exc})"
        ) from None
    if data is None:
        return []
    try:
        return parse_rules(data)
    except ConfigError as exc:
        raise ConfigError(f"fault file {p}: {exc}") from None


def preset_names() -> builtins.list[str]:
    """The names of the bundled presets (``fixtures/faults/<name>.yaml``), sorted."""
    folder = fixture_path("faults")
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob("*.yaml"))


def load_preset(name: str) -> builtins.list[Rule]:
    """The rules of the bundled preset ``name`` (see ``preset_names()``).

    :raises ConfigError: for an unknown preset, listing the known ones.
    """
    if not isinstance(name, str) or not _PRESET_NAME.match(name) or name not in preset_names():
        raise ConfigError(
            f"fault preset {name!r}: unknown; known presets: {', '.join(preset_names()) or 'none'}"
        )
    return load_rules_file(fixture_path("faults", name + ".yaml"))


def load_rule_sources(sources: str | Iterable[str]) -> builtins.list[Rule]:
    """The rules of ``--faults`` sources, in order: each a YAML/JSON file path or, when no such file exists,
    the name of a bundled preset (``--faults flaky-5xx``). All of them or none.

    :raises ConfigError: naming the file (and the field), or the unknown preset with the known ones.
    """
    items = [sources] if isinstance(sources, str) else builtins.list(sources)
    rules: builtins.list[Rule] = []
    for item in items:
        source = str(item)
        if not Path(source).exists() and _PRESET_NAME.match(source) and source in preset_names():
            rules.extend(load_preset(source))
            continue
        if not Path(source).exists() and _PRESET_NAME.match(source) and not Path(source).suffix:
            raise ConfigError(
                f"fault file {source}: not found, and not a preset name either; "
                f"pass the path of a YAML or JSON rules file, or one of the presets: {', '.join(preset_names())}"
            )
        rules.extend(load_rules_file(source))
    return rules


# ---------------------------------------------------------------------------------------------------- engine


@dataclass(eq=False)
class _Entry:
    id: str
    rule: Rule
    rng: random.Random
    hits: int = 0
    seen: int = 0
    active: bool = True

    def info(self) -> dict[str, Any]:
        times = self.rule.times
        return {
            "id": self.id,
            "kind": self.rule.kind,
            **self.rule.to_dict(),
            "hits": self.hits,
            "seen": self.seen,
            "remaining": None if times is None else max(times - self.hits, 0),
        }


class FaultEngine:
    """The ordered fault rules, their counters and seeded random generators. Thread-safe (one lock).

    :param seed: the fault seed (``--fault-seed``); same seed + same request sequence -> same outcomes.
    :param on_fire: optional callable receiving each firing record (see ``firings()``); called outside the
        engine lock, after the decision is made, on the thread that asked for the decision.
    """

    def __init__(self, seed: int = 0, *, on_fire: Callable[[dict[str, Any]], None] | None = None) -> None:
        self._lock = threading.Lock()
        self._seed = self._check_seed(seed)
        self._entries: list[_Entry] = []
        self._next_id = 1
        self._ordinal = 0  # rules added since the last reset: their position seeds their generator
        self._firings: deque[dict[str, Any]] = deque(maxlen=FIRINGS_LIMIT)
        self.on_fire = on_fire

    @staticmethod
    def _check_seed(seed: Any) -> int:
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise ConfigError(f"fault seed: must be an integer, got {seed!r}")
        return seed

    @property
    def seed(self) -> int:
        return self._seed

    # -- control

    def add(self, rules: Any = None, /, **fields: Any) -> builtins.list[str]:
        """Add rules after the existing ones; all or none. Returns their ids (``"f1"``, ``"f2"``...).

        ``rules`` is a rule mapping, a list of them, ``{"rules": [...]}`` or ``Rule`` objects; or give one
        rule as keyword arguments:
        ``add(match={"method": "GET"}, action={"type": "status", "status": 503}, times=2)``.

        :raises ConfigError: naming the bad field; nothing is added.
        """
        if fields:
            if rules is not None:
                raise TypeError("FaultEngine.add() takes rules or keyword fields of one rule, not both")
            rules = fields
        parsed = parse_rules(rules)
        with self._lock:
            ids = []
            for rule in parsed:
                self._ordinal += 1
                rng = random.Random(f"cxmock-fault:{self._seed}:{self._ordinal}")
                entry = _Entry(f"f{self._next_id}", rule, rng)
                self._next_id += 1
                self._entries.append(entry)
                ids.append(entry.id)
        return ids

    def add_handle(self, rules: Any = None, /, **fields: Any) -> FaultHandle:
        """Like ``add`` but returns a ``FaultHandle`` (a context manager removing the rules on exit)."""
        if fields:
            if rules is not None:
                raise TypeError(
                    "FaultEngine.add_handle() takes rules or keyword fields of one rule, not both"
                )
            rules = fields
        ids = self.add(rules)
        with self._lock:
            entries = [e for e in self._entries if e.id in ids]
        return FaultHandle(self, entries)

    def remove(self, rule_id: str) -> bool:
        """Remove one rule; False if no rule has that id."""
        with self._lock:
            for i, entry in enumerate(self._entries):
                if entry.id == rule_id:
                    entry.active = False
                    del self._entries[i]
                    return True
        return False

    def clear(self) -> None:
        """Remove every rule (firings, ids and the random state stay)."""
        with self._lock:
            for entry in self._entries:
                entry.active = False
            self._entries.clear()

    def reset(self, seed: int | None = None) -> None:
        """Remove every rule and firing record and restart the seeded schedule (with ``seed`` if given).

        Ids keep counting up: an id is never reused within a run."""
        new_seed = self._seed if seed is None else self._check_seed(seed)
        with self._lock:
            for entry in self._entries:
                entry.active = False
            self._entries.clear()
            self._firings.clear()
            self._seed = new_seed
            self._ordinal = 0

    def get(self, rule_id: str) -> dict[str, Any] | None:
        """One rule as in ``list()``, or None."""
        with self._lock:
            for entry in self._entries:
                if entry.id == rule_id:
                    return entry.info()
        return None

    def firings(self) -> builtins.list[dict[str, Any]]:
        """The last ``FIRINGS_LIMIT`` firings, oldest first:
        ``{"ruleId", "name", "action", "kind", "target"}`` where ``kind`` is ``"http"`` or ``"smtp"`` and
        ``target`` is ``"GET /path"`` or the SMTP stage."""
        with self._lock:
            return [dict(f) for f in self._firings]

    # -- decisions

    def decide_http(
        self,
        method: str,
        path: str,
        operation_id: str | None = None,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
        user: str | None = None,
    ) -> HttpFault | None:
        """The fault for one HTTP request, or None to answer normally.

        :param path: the request path (a query string is ignored); ``/_mock`` paths are never faulted.
        :param headers: the request headers, a mapping or ``(name, value)`` pairs (names: any case).
        :param user: the username of the request's valid bearer token, if any.
        """
        method = method.upper()
        path = path.split("?", 1)[0]
        if path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/"):
            return None
        lazy_headers = _Headers(headers)
        with self._lock:
            for entry in self._entries:
                if entry.rule.matches_http(method, path, operation_id, lazy_headers, user) and self._fires(
                    entry
                ):
                    decision = self._http_decision(entry)
                    record = self._record(entry, "http", f"{method} {path}")
                    break
            else:
                return None
        self._notify(record)
        return decision

    def decide_smtp(
        self, stage: str, user: str | None = None, listener: str | None = None
    ) -> SmtpFault | None:
        """The fault for one SMTP stage (one of ``SMTP_STAGES``), or None to go on normally.

        :param user: the authenticated SMTP user, where known (after AUTH).
        :param listener: ``"smtp"`` (plain/STARTTLS) or ``"smtps"`` (implicit TLS).
        """
        stage = stage.lower()
        if stage not in SMTP_STAGES:
            raise ValueError(f"unknown SMTP stage {stage!r}; expected one of {', '.join(SMTP_STAGES)}")
        with self._lock:
            for entry in self._entries:
                if entry.rule.matches_smtp(stage, user, listener) and self._fires(entry):
                    decision = self._smtp_decision(entry, stage)
                    record = self._record(entry, "smtp", stage)
                    break
            else:
                return None
        self._notify(record)
        return decision

    # -- internals (called with the lock held)

    @staticmethod
    def _fires(entry: _Entry) -> bool:
        rule = entry.rule
        entry.seen += 1
        if entry.seen <= rule.after:
            return False
        if rule.times is not None and entry.hits >= rule.times:
            return False
        p = rule.probability
        if p < 1.0 and (p <= 0.0 or entry.rng.random() >= p):
            return False
        entry.hits += 1
        return True

    @staticmethod
    def _delay_s(entry: _Entry) -> float:
        a = entry.rule.action
        if "ms" in a:
            ms = float(a["ms"])
        elif a["distribution"] == "uniform":
            ms = entry.rng.uniform(a["min_ms"], a["max_ms"])
            ms = min(max(ms, a["min_ms"]), a["max_ms"])
        else:
            ms = max(entry.rng.gauss(a["mean_ms"], a["stddev_ms"]), 0.0)
        return ms / 1000.0

    def _http_decision(self, entry: _Entry) -> HttpFault:
        a = entry.rule.action
        atype: str = a["type"]
        label = entry.rule.name or entry.id
        params: dict[str, Any] = {}
        if atype == "status":
            status = a["status"]
            body = (
                copy.deepcopy(a["body"])
                if "body" in a
                else {
                    "messageCode": MessageCode.INJECTED_FAULT,
                    "messageDetails": f"injected fault {label}: HTTP {status}",
                }
            )
            params = {"status": status, "body": body, "headers": dict(a.get("headers", {}))}
        elif atype == "delay":
            params = {"delay_s": self._delay_s(entry)}
        elif atype == "hang":
            params = {"seconds": a["seconds"]}
        elif atype == "malformed":
            params = {"mode": a["mode"]}
        elif atype == "content_type":
            params = {"value": a["value"]}
        elif atype == "rate_limit":
            retry = a["retry_after"]
            params = {
                "status": 429,
                "retry_after": retry,
                "headers": {"Retry-After": str(retry)},
                "body": {
                    "messageCode": MessageCode.RATE_LIMITED,
                    "messageDetails": f"injected fault {label}: HTTP 429, retry after {retry} s",
                },
            }
        elif atype == "expire_token":
            params = {"status": 401}
        return HttpFault(entry.id, entry.rule.name, atype, copy.deepcopy(params), **params)

    def _smtp_decision(self, entry: _Entry, stage: str) -> SmtpFault:
        a = entry.rule.action
        atype: str = a["type"]
        if atype == "reply":
            text = a.get("text")
            if text is None:
                text = f"injected fault {entry.rule.name or entry.id}"
            return SmtpFault(entry.id, entry.rule.name, stage, atype, code=a["code"], text=text)
        if atype == "delay":
            return SmtpFault(entry.id, entry.rule.name, stage, atype, delay_s=self._delay_s(entry))
        return SmtpFault(entry.id, entry.rule.name, stage, atype)

    def _record(self, entry: _Entry, kind: str, target: str) -> dict[str, Any]:
        record = {
            "ruleId": entry.id,
            "name": entry.rule.name,
            "action": entry.rule.action["type"],
            "kind": kind,
            "target": target,
        }
        self._firings.append(record)
        return dict(record)

    def _notify(self, record: dict[str, Any]) -> None:
        callback = self.on_fire
        if callback is not None:
            callback(record)

    def _read(self, entries: Iterable[_Entry]) -> builtins.list[dict[str, Any]]:
        with self._lock:
            return [e.info() for e in entries]

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def list(self) -> builtins.list[dict[str, Any]]:
        """The rules in evaluation order: ``{"id", "kind", "name", "match", "action", "times", "after",
        "probability", "hits", "seen", "remaining"}`` (``remaining`` is None when unlimited; a spent rule
        stays listed with 0). ``seen`` counts the matching events that reached the rule (not taken by an
        earlier rule)."""
        with self._lock:
            return [e.info() for e in self._entries]


class FaultHandle:
    """The rules added by one ``FaultEngine.add_handle`` call; a context manager removing them on exit.

    Counters stay readable after removal::

        with engine.add_handle(match={"method": "GET"}, action="drop", times=1) as fault:
            ...
        assert fault.hits == 1
    """

    def __init__(self, engine: FaultEngine, entries: Iterable[_Entry]) -> None:
        self._engine = engine
        self._entries = tuple(entries)

    @property
    def id(self) -> str:
        """The id of the (first) rule."""
        return self._entries[0].id

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(e.id for e in self._entries)

    @property
    def hits(self) -> int:
        """How many times the rule(s) fired."""
        return sum(info["hits"] for info in self._engine._read(self._entries))

    @property
    def seen(self) -> int:
        """How many matching events reached the rule(s)."""
        return sum(info["seen"] for info in self._engine._read(self._entries))

    @property
    def active(self) -> bool:
        """Whether any of the rules is still installed."""
        with self._engine._lock:
            return any(e.active for e in self._entries)

    def info(self) -> builtins.list[dict[str, Any]]:
        """The rules as in ``FaultEngine.list()`` (also after removal)."""
        return self._engine._read(self._entries)

    def remove(self) -> bool:
        """Remove the rule(s); False if none was still installed."""
        removed = False
        for entry in self._entries:
            removed = self._engine.remove(entry.id) or removed
        return removed

    def __enter__(self) -> FaultHandle:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.remove()

    def __repr__(self) -> str:
        return f"<FaultHandle {', '.join(self.ids)} hits={self.hits} active={self.active}>"
