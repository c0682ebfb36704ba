"""Fault decisions: what an adapter is told to do when a rule fires (``HttpFault``, ``SmtpFault``), and how a
firing rule's action becomes one (status bodies, delays drawn from the rule's generator, SMTP reply lines).

The engine (``core/faults/engine.py``) decides *whether* a rule fires; this module decides *what* the firing means.
"""

from __future__ import annotations

import copy
import random
from dataclasses import dataclass, field
from typing import Any

from .rules import Rule

__all__ = ["HttpFault", "SmtpFault", "http_decision", "smtp_decision"]


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


def _delay_s(rule: Rule, rng: random.Random) -> float:
    a = rule.action
    if "ms" in a:
        ms = float(a["ms"])
    elif a["distribution"] == "uniform":
        ms = rng.uniform(a["min_ms"], a["max_ms"])
        ms = min(max(ms, a["min_ms"]), a["max_ms"])
    else:
        ms = max(rng.gauss(a["mean_ms"], a["stddev_ms"]), 0.0)
    return ms / 1000.0


def http_decision(rule_id: str, rule: Rule, rng: random.Random) -> HttpFault:
    """The decision of the HTTP rule ``rule`` (installed as ``rule_id``) firing; draws from ``rng``."""
    a = rule.action
    atype: str = a["type"]
    label = rule.name or rule_id
    params: dict[str, Any] = {}
    if atype == "status":
        status = a["status"]
        body = (
            copy.deepcopy(a["body"])
            if "body" in a
            else {"message": f"injected fault {label}: HTTP {status}"}
        )
        params = {"status": status, "body": body, "headers": dict(a.get("headers", {}))}
    elif atype == "delay":
        params = {"delay_s": _delay_s(rule, rng)}
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
            "body": {"message": f"injected fault {label}: HTTP 429, retry after {retry} s"},
        }
    elif atype == "expire_token":
        params = {"status": 401}
    return HttpFault(rule_id, rule.name, atype, copy.deepcopy(params), **params)


def smtp_decision(rule_id: str, rule: Rule, rng: random.Random, stage: str) -> SmtpFault:
    """The decision of the SMTP rule ``rule`` (installed as ``rule_id``) firing at ``stage``."""
    a = rule.action
    atype: str = a["type"]
    if atype == "reply":
        text = a.get("text")
        if text is None:
            text = f"injected fault {rule.name or rule_id}"
        return SmtpFault(rule_id, rule.name, stage, atype, code=a["code"], text=text)
    if atype == "delay":
        return SmtpFault(rule_id, rule.name, stage, atype, delay_s=_delay_s(rule, rng))
    return SmtpFault(rule_id, rule.name, stage, atype)
