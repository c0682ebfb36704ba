"""Fault rules of a remote server (``/_mock/faults``): ``RemoteFaults`` and the ``RemoteFaultHandle`` it returns.

``RemoteFaults`` has the surface of ``MockServer.faults``; ``mockserver.remote.server`` re-exports both names.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Mapping
from typing import Any

from ..core import admin_routes as routes
from ..core.faults.files import load_rule_sources
from ..core.surface import FaultRules, FaultRulesHandle
from ..errors import ConfigError
from .http import AdminTransport, _HttpError

__all__ = ["RemoteFaultHandle", "RemoteFaults"]


class RemoteFaultHandle(FaultRulesHandle):
    """The rules added by one ``RemoteFaults.add``/``preset`` call; a context manager removing them on exit.

    The counters are read from ``GET /_mock/faults``; after the rules are removed (or a reset dropped them) they
    keep their last known values.
    """

    def __init__(self, faults: RemoteFaults, rules: Iterable[Mapping[str, Any]]) -> None:
        self._faults = faults
        self._last = {str(rule["id"]): dict(rule) for rule in rules}

    @property
    def id(self) -> str:
        """The id of the (first) rule."""
        return self.ids[0]

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(self._last)

    def _refresh(self) -> set[str]:
        """Update the last known infos from the server; the ids still installed."""
        installed = set()
        for rule in self._faults.list():
            rule_id = str(rule.get("id"))
            if rule_id in self._last:
                self._last[rule_id] = dict(rule)
                installed.add(rule_id)
        return installed

    def info(self) -> builtins.list[dict[str, Any]]:
        """The rules as in ``RemoteFaults.list()`` (their last known state once removed)."""
        self._refresh()
        return [dict(rule) for rule in self._last.values()]

    @property
    def hits(self) -> int:
        """How many times the rule(s) fired."""
        return sum(int(rule.get("hits") or 0) for rule in self.info())

    @property
    def seen(self) -> int:
        """How many matching events reached the rule(s)."""
        return sum(int(rule.get("seen") or 0) for rule in self.info())

    @property
    def active(self) -> bool:
        """Whether any of the rules is still installed."""
        return bool(self._refresh())

    def remove(self) -> bool:
        """Remove the rule(s); False if none was still installed."""
        self._refresh()  # the final counters
        removed = False
        for rule_id in self.ids:
            removed = self._faults.remove(rule_id) or removed
        return removed

    def __repr__(self) -> str:
        return f"<RemoteFaultHandle {', '.join(self.ids)}>"


class RemoteFaults(FaultRules[RemoteFaultHandle]):
    """Fault rules of a remote server (``/_mock/faults``), with the surface of ``MockServer.faults``."""

    def __init__(self, server: AdminTransport) -> None:
        self._server = server

    def _add_rules(self, document: Any) -> RemoteFaultHandle:
        try:
            added = self._server.admin(routes.ADD_FAULTS, body=document)
        except _HttpError as exc:
            if exc.status == 400:
                raise ConfigError(str(exc)) from None
            raise
        return RemoteFaultHandle(self, added["rules"])

    def preset(self, name: str) -> RemoteFaultHandle:
        """Add the rules of a bundled preset (see :meth:`preset_names`)."""
        return self._add_rules({"preset": name})

    def load(self, *sources: str) -> RemoteFaultHandle:
        """Add the rules of YAML/JSON files (read on this side) or preset names, as ``--faults`` does (but not
        re-armed by reset). An invalid file raises :class:`ConfigError` naming it; nothing is sent then."""
        return self._add_rules({"rules": [rule.to_dict() for rule in load_rule_sources(sources)]})

    def _remove_rule(self, rule_id: str) -> bool:
        try:
            self._server.admin(routes.REMOVE_FAULT, rule_id=rule_id)
        except _HttpError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def list(self) -> builtins.list[dict[str, Any]]:
        """The rules in evaluation order, with ``hits``, ``seen`` and ``remaining``."""
        rules: builtins.list[dict[str, Any]] = self._server.admin(routes.FAULTS)["rules"]
        return rules

    def firings(self) -> builtins.list[dict[str, Any]]:
        """Recent firings (the server answers the last 100), oldest first."""
        firings: builtins.list[dict[str, Any]] = self._server.admin(routes.FAULTS)["firings"]
        return firings

    def clear(self) -> None:
        """Remove every rule (the ``--faults`` ones too, until the next reset)."""
        self._server.admin(routes.CLEAR_FAULTS)

    def __len__(self) -> int:
        return len(self.list())

    def __repr__(self) -> str:
        return f"<RemoteFaults {self._server.base_url}>"
