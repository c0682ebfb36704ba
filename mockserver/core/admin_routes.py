"""The admin API's routes (``/_mock/...``), declared once.

The server registers its admin views from this table (``mockserver.http.admin.route``) and ``RemoteServer`` builds
its admin calls from it (``mockserver.remote``), so a route's method and path are written in one place only.
``tests/http/test_admin_routes.py`` checks that every ``/_mock`` route the app serves is in the table and the other
way round.

A :class:`AdminRoute` has a ``method`` and a Flask ``rule`` relative to :data:`ADMIN_PREFIX` (``/faults/<rule_id>``);
``route.path(rule_id="r1", query={...})`` is the path a client sends (parameters percent-encoded).
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["ADMIN_PREFIX", "ADMIN_ROUTES", "AdminRoute"]

#: where the admin API lives, at the server root and under every ``/sandbox/<name>``
ADMIN_PREFIX = "/_mock"

_PARAM = re.compile(r"<(?:[a-z_]+:)?([a-z_]+)>")


@dataclass(frozen=True)
class AdminRoute:
    """One admin endpoint: an HTTP ``method`` and a Flask ``rule`` under :data:`ADMIN_PREFIX`."""

    method: str
    rule: str

    @property
    def params(self) -> tuple[str, ...]:
        """The names of the rule's path parameters, in order."""
        return tuple(_PARAM.findall(self.rule))

    def path(self, query: Mapping[str, Any] | None = None, **params: str | int) -> str:
        """The path a client sends: :data:`ADMIN_PREFIX`, the rule with ``params`` filled in (percent-encoded), and
        ``query`` (``None`` values left out).

        :raises TypeError: a parameter of the rule is missing, or one is given that the rule does not have.
        """
        missing = [name for name in self.params if name not in params]
        extra = [name for name in params if name not in self.params]
        if missing or extra:
            raise TypeError(f"{self.method} {self.rule} takes the path parameters {self.params}, got {tuple(params)}")
        filled = _PARAM.sub(lambda m: urllib.parse.quote(str(params[m.group(1)]), safe=""), self.rule)
        wanted = {k: v for k, v in (query or {}).items() if v is not None}
        return ADMIN_PREFIX + filled + (f"?{urllib.parse.urlencode(wanted)}" if wanted else "")

    def __str__(self) -> str:
        return f"{self.method} {ADMIN_PREFIX}{self.rule}"


HEALTH = AdminRoute("GET", "/health")
RESET = AdminRoute("POST", "/reset")
GET_SEED = AdminRoute("GET", "/seed")
SEED = AdminRoute("POST", "/seed")
OPENAPI_YAML = AdminRoute("GET", "/openapi.yaml")
OPENAPI_JSON = AdminRoute("GET", "/openapi.json")
CONFIG = AdminRoute("GET", "/config")
TOKEN = AdminRoute("POST", "/token")

REQUESTS = AdminRoute("GET", "/requests")
CLEAR_REQUESTS = AdminRoute("DELETE", "/requests")
VIOLATIONS = AdminRoute("GET", "/violations")
#: ``cxmock proxy``'s drift list (a plain mock answers 404 there)
DRIFT = AdminRoute("GET", "/drift")
CLEAR_DRIFT = AdminRoute("DELETE", "/drift")

FAULTS = AdminRoute("GET", "/faults")
FAULT = AdminRoute("GET", "/faults/<rule_id>")
ADD_FAULTS = AdminRoute("POST", "/faults")
REMOVE_FAULT = AdminRoute("DELETE", "/faults/<rule_id>")
CLEAR_FAULTS = AdminRoute("DELETE", "/faults")

MESSAGES = AdminRoute("GET", "/messages")
MESSAGE = AdminRoute("GET", "/messages/<message_id>")
MESSAGE_RAW = AdminRoute("GET", "/messages/<message_id>/raw")
CLEAR_MESSAGES = AdminRoute("DELETE", "/messages")
DELETE_MESSAGE = AdminRoute("DELETE", "/messages/<message_id>")
SMTP_CA = AdminRoute("GET", "/smtp/ca.pem")

SANDBOXES = AdminRoute("GET", "/sandboxes")
CREATE_SANDBOX = AdminRoute("POST", "/sandboxes")
DELETE_SANDBOX = AdminRoute("DELETE", "/sandboxes/<name>")
CREATE_THIS_SANDBOX = AdminRoute("POST", "/sandbox")
DELETE_THIS_SANDBOX = AdminRoute("DELETE", "/sandbox")

#: every admin route (the dashboard under ``/_mock/ui`` is not part of the admin API)
ADMIN_ROUTES: tuple[AdminRoute, ...] = tuple(
    value for value in dict(globals()).values() if isinstance(value, AdminRoute)
)
