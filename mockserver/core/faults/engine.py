"""The fault engine: the ordered rules, their seeded schedule and counters. Returns decisions; never acts (the
adapters act).

Rules are evaluated in order and the first *firing* rule wins: a rule that matches but does not fire
(still inside ``after``, a ``probability`` miss, or spent) lets evaluation go on. Every random draw
(probability, delay jitter) comes from a generator owned by the rule, seeded from the engine seed and the
rule's position since the last ``reset()``: the same seed and the same sequence of requests give the same
outcomes, whatever other rules do.

The faults concept spans a few modules, one concept each: ``fault_rules`` (the rule model and its vocabulary),
``fault_parse`` (validation), ``fault_files`` (rule files and presets), ``fault_decisions`` (what a firing
means) and this one (when a rule fires). This module re-exports their public names.

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
import random
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from mockserver.errors import ConfigError

from ..surface import FaultRulesHandle
from .decisions import HttpFault as HttpFault
from .decisions import SmtpFault as SmtpFault
from .decisions import http_decision, smtp_decision
from .files import load_preset as load_preset
from .files import load_rule_sources as load_rule_sources
from .files import load_rules_file as load_rules_file
from .files import preset_names as preset_names
from .parse import parse_rules as parse_rules
from .rules import HTTP_ACTIONS as HTTP_ACTIONS
from .rules import SMTP_ACTIONS as SMTP_ACTIONS
from .rules import SMTP_STAGES as SMTP_STAGES
from .rules import RequestHeaders
from .rules import Rule as Rule

__all__ = [
    "ADMIN_PREFIX",
    "FIRINGS_LIMIT",
    "RULES_LIMIT",
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

#: requests under this path prefix (the admin API) are never faulted
ADMIN_PREFIX = "/_mock"
#: how many firings ``FaultEngine.firings()`` keeps (the oldest are dropped first)
FIRINGS_LIMIT = 1000
#: fault rules one engine holds at most (an add past it is refused whole)
RULES_LIMIT = 1000


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
            if len(self._entries) + len(parsed) > RULES_LIMIT:
                raise ConfigError(
                    f"rules: at most {RULES_LIMIT} fault rules at once ({len(self._entries)} in place, "
                    f"{len(parsed)} given); remove some (DELETE /_mock/faults)"
                )
            ids = []
            for rule in parsed:
                self._ordinal += 1
                # bandit B311: a seeded, reproducible fault schedule, not cryptography
                rng = random.Random(f"cxmock-fault:{self._seed}:{self._ordinal}")  # nosec B311
                entry = _Entry(f"f{self._next_id}", rule, rng)
                self._next_id += 1
                self._entries.append(entry)
                ids.append(entry.id)
        return ids

    def add_handle(self, rules: Any = None, /, **fields: Any) -> FaultHandle:
        """Like ``add`` but returns a ``FaultHandle`` (a context manager removing the rules on exit)."""
        if fields:
            if rules is not None:
                raise TypeError("FaultEngine.add_handle() takes rules or keyword fields of one rule, not both")
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
        lazy_headers = RequestHeaders(headers)
        with self._lock:
            for entry in self._entries:
                if entry.rule.matches_http(method, path, operation_id, lazy_headers, user) and self._fires(entry):
                    decision = http_decision(entry.id, entry.rule, entry.rng)
                    record = self._record(entry, "http", f"{method} {path}")
                    break
            else:
                return None
        self._notify(record)
        return decision

    def decide_smtp(self, stage: str, user: str | None = None, listener: str | None = None) -> SmtpFault | None:
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
                    decision = smtp_decision(entry.id, entry.rule, entry.rng, stage)
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


class FaultHandle(FaultRulesHandle):
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

    def __repr__(self) -> str:
        return f"<FaultHandle {', '.join(self.ids)} hits={self.hits} active={self.active}>"
