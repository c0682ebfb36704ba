"""Admin routes of the fault rules: ``/_mock/faults``.

They hang on the admin blueprint (same ``/_mock`` prefix, same admin-token lock).

- ``GET /_mock/faults``: ``{"seed", "rules": [rule + hits/seen/remaining], "firings": [the last 100]}``.
- ``GET /_mock/faults/<id>``: one rule, or 404.
- ``POST /_mock/faults``: a rule, a list of rules, ``{"rules": [...]}`` or ``{"preset": "flaky-5xx"}`` as JSON (or
  YAML with a YAML media type); 201 ``{"ids", "rules"}``. An invalid rule is a 400 whose ``errors`` names the field
  (``rule[0].action.status``); nothing is added then.
- ``DELETE /_mock/faults/<id>``: 204, or 404. ``DELETE /_mock/faults``: remove every rule, 204.
"""

from __future__ import annotations

from typing import Any

import yaml
from flask import Response, request

from ..core import admin_routes as routes
from ..core.faults.files import load_preset
from ..errors import BadRequest, ConfigError, NotFound
from .admin import blp, body_bytes, json_body, ok, route, state

__all__ = ["RECENT_FIRINGS", "blp"]

#: how many of the most recent firings ``GET /_mock/faults`` shows
RECENT_FIRINGS = 100


def _invalid(exc: ConfigError, default_field: str = "rules") -> BadRequest:
    """A 400 naming the bad field: ``rule[0].action.status: must be ...`` -> ``{"rule[0].action.status": [...]}``."""
    message = str(exc)
    where, sep, problem = message.partition(": ")
    if not sep or " " in where:
        where, problem = default_field, message
    return BadRequest(
        f"invalid fault rule: {message}; nothing was added (see GET /_mock/faults for the rules in place)",
        errors={where: [problem]},
    )


def _body() -> Any:
    mimetype = (request.mimetype or "").lower()
    if "yaml" in mimetype:
        try:
            return yaml.safe_load(body_bytes() or b"")
        except yaml.YAMLError as exc:
            raise BadRequest(f"the request body is not valid YAML: {str(exc)[:200]}") from None
        except RecursionError:
            raise BadRequest("the request body nests too deeply; fault rules are a few levels deep") from None
    return json_body()


@route(routes.FAULTS)
def list_faults() -> Response:
    engine = state().faults
    return ok({"seed": engine.seed, "rules": engine.list(), "firings": engine.firings()[-RECENT_FIRINGS:]})


@route(routes.FAULT)
def get_fault(rule_id: str) -> Response:
    info = state().faults.get(rule_id)
    if info is None:
        raise NotFound(f"no fault rule {rule_id!r}; GET /_mock/faults lists the rules in place")
    return ok(info)


@route(routes.ADD_FAULTS)
def add_faults() -> Response:
    data = _body()
    if data is None:
        raise BadRequest(
            'the request body is empty; send a fault rule, a list of rules, {"rules": [...]} or {"preset": NAME}',
            errors={"rules": ["required"]},
        )
    engine = state().faults
    if isinstance(data, dict) and "preset" in data:
        extra = [key for key in data if key != "preset"]
        if extra:
            raise BadRequest(
                f"{extra[0]}: unknown key next to 'preset' (send {{\"preset\": NAME}} alone)",
                errors={extra[0]: ["unknown key next to 'preset'"]},
            )
        try:
            rules = load_preset(data["preset"])
        except ConfigError as exc:
            raise _invalid(exc, "preset") from None
        ids = engine.add(rules)
    else:
        try:
            ids = engine.add(data)
        except ConfigError as exc:
            raise _invalid(exc) from None
    rules_added = [info for info in (engine.get(rule_id) for rule_id in ids) if info is not None]
    response = ok({"ids": ids, "rules": rules_added}, 201)
    if len(ids) == 1:
        response.headers["Location"] = routes.FAULT.path(rule_id=ids[0])
    return response


@route(routes.REMOVE_FAULT)
def remove_fault(rule_id: str) -> Response:
    if not state().faults.remove(rule_id):
        raise NotFound(f"no fault rule {rule_id!r}; GET /_mock/faults lists the rules in place")
    return Response(status=204)


@route(routes.CLEAR_FAULTS)
def clear_faults() -> Response:
    state().faults.clear()
    return Response(status=204)
