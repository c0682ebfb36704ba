"""The fault rule model: its vocabulary (stages, listeners, actions) and the validated ``Rule`` with its matching.

A rule has a ``match`` (what it applies to), an ``action`` (what goes wrong) and a schedule (``times``,
``after``, ``probability``). The shape is the same in YAML/JSON files, the admin API and Python keyword
arguments::

    - name: flaky-list
      match: {method: GET, path: /cxrestapi/auth/SMTPSettings}
      action: {type: status, status: 503}
      times: 2
    - match: {stage: auth}              # a rule whose match names ``stage`` is an SMTP rule
      action: {type: reply, code: 535, text: "5.7.8 Authentication credentials invalid"}

``core/faults/parse.py`` turns that shape into ``Rule`` objects; ``core/faults/engine.py`` evaluates them.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "DISTRIBUTIONS",
    "HTTP_ACTIONS",
    "MALFORMED_MODES",
    "SMTP_ACTIONS",
    "SMTP_LISTENERS",
    "SMTP_STAGES",
    "RequestHeaders",
    "Rule",
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
        self, method: str, path: str, operation_id: str | None, headers: RequestHeaders, user: str | None
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


class RequestHeaders:
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
