"""``MockServer.faults``: the Python side of fault injection, over the server's ``FaultEngine``.

The rule shape is the same as in fault files and the admin API (see ``mockserver.core.faults.engine``); here a rule can
also be given as keyword arguments::

    with server.faults.add(match={"method": "GET"}, action={"type": "status", "status": 503}, times=2) as fault:
        ...                                   # the rule is removed when the block ends
    assert fault.hits == 2

    server.faults.add(action="drop", times=1)          # an action without parameters may be just its type
    server.faults.preset("flaky-5xx")

Rules added here (or over the admin API) are removed by ``MockServer.reset()``; the rules of the ``--faults``
files and presets (``MockServer(faults=("rules.yaml", "slow"))``) are part of the configured baseline: armed at
start and re-armed, with fresh counters, by every reset.
"""

from __future__ import annotations

import builtins
from typing import Any

from ..core.faults.engine import FaultEngine, FaultHandle
from ..core.faults.files import load_preset, load_rule_sources
from ..core.surface import FaultRules

__all__ = ["Faults"]


class Faults(FaultRules[FaultHandle]):
    """The fault rules of one server. Invalid rules raise :class:`~mockserver.errors.ConfigError` naming the
    bad field (``rule[0].action.status: must be an integer between 100 and 599, got 'x'``); nothing is added then.

    :param engine: the server's ``state.faults``.
    """

    def __init__(self, engine: FaultEngine) -> None:
        self._engine = engine

    def _add_rules(self, document: Any) -> FaultHandle:
        return self._engine.add_handle(document)

    def _remove_rule(self, rule_id: str) -> bool:
        return self._engine.remove(rule_id)

    def preset(self, name: str) -> FaultHandle:
        """Add the rules of a bundled preset (``fixtures/faults/<name>.yaml``, see :meth:`preset_names`)."""
        return self._engine.add_handle(load_preset(name))

    def load(self, *sources: str) -> FaultHandle:
        """Add the rules of YAML/JSON files or preset names, as ``--faults`` does (but not re-armed by reset)."""
        return self._engine.add_handle(load_rule_sources(sources))

    def clear(self) -> None:
        """Remove every rule (the ``--faults`` ones too, until the next reset)."""
        self._engine.clear()

    def list(self) -> builtins.list[dict[str, Any]]:
        """The rules in evaluation order, with ``hits``, ``seen`` and ``remaining``."""
        return self._engine.list()

    def firings(self) -> builtins.list[dict[str, Any]]:
        """Recent firings, oldest first: ``{"ruleId", "name", "action", "kind", "target"}``."""
        return self._engine.firings()

    def __len__(self) -> int:
        return len(self._engine)

    def __repr__(self) -> str:
        return f"<Faults {len(self)} rule(s)>"
