"""Fault rules and their seeded schedule. Returns decisions; never acts (the adapters act).

INTERFACE CONTRACT (used by the HTTP and SMTP adapters; keep these names):

- ``HttpFault``: the decision for one HTTP request (``action`` is one of ``status``, ``delay``, ``hang``, ``drop``,
  ``reset``, ``malformed``, ``content_type``, ``rate_limit``, ``expire_token``).
- ``SmtpFault``: the decision for one SMTP stage (``action`` is ``reply``, ``delay`` or ``drop``).
- ``FaultEngine.decide_http(method, path, operation_id, headers, user) -> HttpFault | None``
- ``FaultEngine.decide_smtp(stage, user=None, listener=None) -> SmtpFault | None``

(Implementation in progress; see issue 5.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SMTP_STAGES = ("connect", "greeting", "ehlo", "starttls", "auth", "mail", "rcpt", "data")


@dataclass(frozen=True)
class HttpFault:
    rule_id: str
    name: str | None
    action: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SmtpFault:
    rule_id: str
    name: str | None
    stage: str
    action: str  # "reply" | "delay" | "drop"
    code: int | None = None
    text: str | None = None
    delay_s: float = 0.0
