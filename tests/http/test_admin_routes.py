"""The admin API's one route table (``mockserver.core.admin_routes``): the server serves exactly it (#21)."""

from __future__ import annotations

import pytest
from flask import Flask

from mockserver.core import admin_routes as routes
from mockserver.core.admin_routes import ADMIN_PREFIX, ADMIN_ROUTES, AdminRoute


def _served(app: Flask) -> set[tuple[str, str]]:
    served = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(ADMIN_PREFIX + "/") or rule.rule.startswith(ADMIN_PREFIX + "/ui"):
            continue  # the dashboard is not the admin API
        for method in rule.methods or ():
            if method not in ("HEAD", "OPTIONS"):
                served.add((method, rule.rule))
    return served


def test_the_app_serves_exactly_the_route_table(app: Flask) -> None:
    table = {(route.method, ADMIN_PREFIX + route.rule) for route in ADMIN_ROUTES}
    assert len(table) == len(ADMIN_ROUTES)  # no route declared twice
    assert _served(app) == table


def test_a_route_fills_its_parameters_percent_encoded() -> None:
    assert routes.REMOVE_FAULT.path(rule_id="a b/c") == "/_mock/faults/a%20b%2Fc"
    assert routes.MESSAGE_RAW.path(message_id=7) == "/_mock/messages/7/raw"
    assert routes.SEED.path({"persist": "false", "ignored": None}) == "/_mock/seed?persist=false"
    assert str(routes.DELETE_SANDBOX) == "DELETE /_mock/sandboxes/<name>"
    with pytest.raises(TypeError, match="path parameters"):
        routes.DELETE_SANDBOX.path()
    with pytest.raises(TypeError, match="path parameters"):
        AdminRoute("GET", "/health").path(name="x")


def test_the_remote_client_and_the_cli_write_no_admin_url_of_their_own() -> None:
    """Every admin call of ``mockserver.remote`` and of the CLI names a route of the table: no ``/_mock/...``
    literal there."""
    from pathlib import Path

    import mockserver.cli
    import mockserver.remote

    package = Path(mockserver.remote.__file__).parent
    for source in [*sorted(package.glob("*.py")), Path(mockserver.cli.__file__)]:
        code = [line for line in source.read_text(encoding="utf-8").splitlines() if not line.lstrip().startswith("#")]
        literals = [line for line in code if '"/_mock/' in line or "'/_mock/" in line or 'f"/_mock' in line]
        assert literals == [], (source.name, literals)
