"""Fault rule validation: ``parse_rules`` turns rule documents (mappings from YAML/JSON files, the admin API or
keyword arguments) into ``Rule`` objects, all of them or none, naming the bad field on any problem.

The rule shape is described in ``core/faults/rules.py``.
"""

from __future__ import annotations

import copy
import json
import math
import re
from collections.abc import Mapping
from typing import Any

from mockserver.errors import ConfigError

from ..lint.lint import did_you_mean
from .rules import (
    DISTRIBUTIONS,
    HTTP_ACTIONS,
    MALFORMED_MODES,
    SMTP_ACTIONS,
    SMTP_LISTENERS,
    SMTP_STAGES,
    Rule,
)

__all__ = ["DEFAULT_CONTENT_TYPE", "DEFAULT_HANG_SECONDS", "DEFAULT_RETRY_AFTER", "parse_rules", "rule_document"]

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
_TEMPLATE_PARAM = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*\}")

DEFAULT_HANG_SECONDS = 30.0
DEFAULT_RETRY_AFTER = 1
DEFAULT_CONTENT_TYPE = "text/html"


def rule_document(rule: Any = None, **fields: Any) -> Any:
    """What ``faults.add(rule=None, *, match=..., action=..., ...)`` means: ``rule`` (the file/admin shape) or the
    keyword fields given (``None`` = not given) as one rule mapping, for :func:`parse_rules`. Not both."""
    given = {key: value for key, value in fields.items() if value is not None}
    if rule is not None and given:
        raise TypeError(f"Faults.add() takes a rule or keyword fields, not both (got a rule and {', '.join(given)})")
    return rule if rule is not None else given


def _fail(where: str, message: str) -> ConfigError:
    return ConfigError(f"{where}: {message}")


def _check_keys(data: Mapping[str, Any], known: tuple[str, ...], where: str, what: str = "", note: str = "") -> None:
    for key in data:
        if key not in known:
            hint = did_you_mean(str(key), known)
            suggestion = f"; did you mean {hint!r}?" if hint else ""
            listed = ", ".join(known) if known else "none"
            raise _fail(f"{where}.{key}", f"unknown key{what} (known keys: {listed}){suggestion}{note}")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _int(value: Any, where: str, low: int, high: int | None = None) -> int:
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= low and (high is None or value <= high)
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
            f"must be a path starting with '/' (templates like /x/{{id}} and a trailing * allowed), got {value!r}",
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
            raise _fail(spec_where[extra[0]], "a fixed delay (ms) takes no jitter parameters; drop ms for jitter")
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
            raise _fail(spec_where[key], f"not a parameter of the {dist} distribution (it takes {', '.join(wanted)})")
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
        hint = did_you_mean(str(atype), allowed)
        tail = f"; did you mean {hint!r}?" if hint else ""
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


def parse_rules(data: Any) -> list[Rule]:
    """Validate one rule (a mapping), a list of rules, or ``{"rules": [...]}``; all of them or none.

    :raises ConfigError: naming the bad field, e.g.
        ``rule[1].action.status: must be an integer between 100 and 599, got 'abc'``.
    """
    if isinstance(data, Rule):
        return [data]
    if isinstance(data, Mapping) and "rules" in data:
        extra = [k for k in data if k != "rules"]
        if extra:
            raise ConfigError(f"{extra[0]}: unknown key next to 'rules' (a rules document holds only 'rules')")
        data = data["rules"]
        if data is None:
            return []
    if isinstance(data, Mapping):
        return [_parse_rule(data, "rule[0]")]
    if isinstance(data, list | tuple):
        return [_parse_rule(item, f"rule[{i}]") for i, item in enumerate(data)]
    raise ConfigError(
        f"rules: expected a rule (mapping), a list of rules or {{rules: [...]}}, got {type(data).__name__} {data!r}"
    )
