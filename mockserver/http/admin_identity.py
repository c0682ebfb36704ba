"""Admin route of the identity server: ``POST /_mock/token``, a token with a chosen lifetime.

It hangs on the admin blueprint (same ``/_mock`` prefix, same admin-token lock). The body is JSON
``{"username", "password", "scope", "lifetime", "client_id"}`` (all optional: admin/admin, ``access_control_api``, the
configured lifetime, ``resource_owner_client``); the answer is the token endpoint's response. ``lifetime: 0`` gives
a token that is already expired. ``RemoteServer.token()`` and ``auth_headers()`` use it (the admin API is not
journaled, so their tokens add no journal entry, as in process).
"""

from __future__ import annotations

from typing import Any

from flask import Response, request

from ..core import admin_routes as routes
from ..core.identity.identity import password_grant
from ..errors import BadRequest
from .admin import blp, json_body, ok, route, state
from .token import issuer

__all__ = ["MAX_LIFETIME", "blp"]

#: the longest lifetime a test may ask for (ten years)
MAX_LIFETIME = 10 * 365 * 24 * 3600


def _text(body: dict[str, Any], name: str, default: str) -> str:
    value = body.get(name, default)
    if not isinstance(value, str):
        raise BadRequest(f"{name} must be a string", errors={name: ["must be a string"]})
    return value


@route(routes.TOKEN)
def mint_token() -> Response:
    body = json_body() or {}
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object: {username, password, scope, lifetime, client_id}")
    lifetime = body.get("lifetime")
    if lifetime is not None and (
        isinstance(lifetime, bool) or not isinstance(lifetime, int) or not 0 <= lifetime <= MAX_LIFETIME
    ):
        raise BadRequest(
            f"lifetime must be an integer number of seconds from 0 to {MAX_LIFETIME}",
            errors={"lifetime": ["out of range or not an integer"]},
        )
    st = state()
    client_id = _text(body, "client_id", "resource_owner_client")
    form = password_grant(
        _text(body, "username", "admin"),
        _text(body, "password", "admin"),
        scope=_text(body, "scope", "access_control_api"),
        client_id=client_id,
        client_secret=_text(body, "client_secret", st.config.client_secret),
    )
    return ok(st.identity.issue(form, issuer=issuer(request), lifetime=lifetime))
