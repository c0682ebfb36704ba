"""Admin routes of the sandboxes, at the server root only: ``GET /_mock/sandboxes`` (each with its sizes and last
use), ``POST /_mock/sandboxes`` (``{"name": ...}``, or none for a generated name; 201, 409 when it exists, 429 past
the maximum), ``DELETE /_mock/sandboxes/<name>`` (204, 404). Under a sandbox's prefix, ``POST /_mock/sandbox``
creates it and ``DELETE /_mock/sandbox`` deletes it (so a router that routes by the ``/sandbox/<name>`` prefix
reaches the right replica). These (and an admin-token holder's request) are the only ways an HTTP client creates a
sandbox: any other request to a missing one is a 404.
They hang on the admin blueprint (same lock).

The runtime puts the registry in ``app.extensions[REGISTRY_KEY]`` of the root app; inside a sandbox (and in an app
without sandboxes) these routes answer 404 saying where sandboxes are managed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from flask import Response, current_app, request

from ..core import admin_routes as routes
from ..core.sandboxes.names import generated_name
from ..core.sandboxes.registry import SandboxExists, SandboxInfo, SandboxRegistry
from ..core.state import State
from ..errors import BadRequest, NotFound
from .admin import json_body, ok, route
from .sandboxes import PREFIX

__all__ = ["CREATE_KEY", "OWNER_KEY", "REGISTRY_KEY", "HasState", "listing"]

#: ``app.extensions`` key of the root app's :class:`SandboxRegistry`
REGISTRY_KEY = "cxmock.sandboxes"
#: ``app.extensions`` key of a sandbox app: ``(registry, name)`` of the sandbox it serves
OWNER_KEY = "cxmock.sandbox_owner"
#: WSGI environ key: the name of the missing sandbox a ``POST /sandbox/<name>/_mock/sandbox`` creates
CREATE_KEY = "cxmock.create_sandbox"


class HasState(Protocol):
    """What the registry holds per sandbox, as far as these routes care."""

    @property
    def state(self) -> State: ...


_Held = TypeVar("_Held", bound=HasState)


def _registry() -> SandboxRegistry[HasState]:
    registry: SandboxRegistry[HasState] | None = current_app.extensions.get(REGISTRY_KEY)
    if registry is None:
        raise NotFound(
            "sandboxes are managed at the server root: GET/POST /_mock/sandboxes and DELETE /_mock/sandboxes/<name> "
            "(not under /sandbox/<name>)"
        )
    return registry


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _describe(info: SandboxInfo[_Held], idle_timeout: float) -> dict[str, Any]:
    state = info.value.state
    return {
        "name": info.name,
        "path": PREFIX + info.name,
        "createdAt": _iso(info.created),
        "lastUsedAt": _iso(info.last_used),
        "expiresInSeconds": round(max(0.0, idle_timeout - info.idle_seconds), 1),
        "settings": len(state.settings),
        "requests": len(state.journal),
        "messages": len(state.mail),
        "faultRules": len(state.faults),
    }


def listing(registry: SandboxRegistry[_Held]) -> dict[str, Any]:
    """What ``GET /_mock/sandboxes`` answers (also ``MockServer.list_sandboxes()``'s items)."""
    sandboxes = [_describe(info, registry.idle_timeout) for info in registry.list()]
    return {
        "count": len(sandboxes),
        "maxSandboxes": registry.limit,
        "idleTimeoutSeconds": registry.idle_timeout,
        "sandboxes": sandboxes,
    }


@route(routes.SANDBOXES)
def list_sandboxes() -> Response:
    return ok(listing(_registry()))


@route(routes.CREATE_SANDBOX)
def create_sandbox() -> Response:
    registry = _registry()
    body = json_body()
    if body is None:
        body = {}
    if not isinstance(body, dict) or set(body) - {"name"}:
        raise BadRequest('the body must be a JSON object {"name": "<sandbox name>"} (or empty for a generated name)')
    name = body.get("name")
    if name is None:
        name = generated_name()
    if not isinstance(name, str):
        raise BadRequest(f"name must be a string, got {type(name).__name__}")
    registry.create(name)
    path = request.script_root + PREFIX + name
    return _created(name, path)


def _created(name: str, path: str) -> Response:
    response = ok({"name": name, "path": path}, 201)
    response.headers["Location"] = path
    return response


@route(routes.DELETE_SANDBOX)
def delete_sandbox(name: str) -> Response:
    _registry().delete(name)
    return Response(status=204)


@route(routes.CREATE_THIS_SANDBOX)
def create_this_sandbox() -> Response:
    """``POST /sandbox/<name>/_mock/sandbox``: create the sandbox this request is sent to (201; 409 when it exists).

    Under the sandbox's own prefix, so a router that routes by ``/sandbox/<name>`` creates it on the replica that
    will serve it. The runtime hands the request for a missing sandbox to the root app with ``environ[CREATE_KEY]``.
    """
    owner: tuple[SandboxRegistry[HasState], str] | None = current_app.extensions.get(OWNER_KEY)
    if owner is not None:
        raise SandboxExists(
            f"sandbox {owner[1]!r} exists already; use it, DELETE /sandbox/{owner[1]}/_mock/sandbox first, or pick "
            "another name"
        )
    name = request.environ.get(CREATE_KEY)
    if not isinstance(name, str):
        raise NotFound(
            "POST /sandbox/<name>/_mock/sandbox creates sandbox <name>; the root is not a sandbox (POST "
            '/_mock/sandboxes {"name": ...} creates one by name)'
        )
    _registry().create(name)
    return _created(name, request.script_root)


@route(routes.DELETE_THIS_SANDBOX)
def delete_this_sandbox() -> Response:
    """``DELETE /sandbox/<name>/_mock/sandbox``: delete the sandbox this request was sent to."""
    owner: tuple[SandboxRegistry[HasState], str] | None = current_app.extensions.get(OWNER_KEY)
    if owner is None:
        raise NotFound(
            "DELETE /_mock/sandbox deletes the sandbox it is sent to (/sandbox/<name>/_mock/sandbox); the root is "
            "not a sandbox that can be deleted (DELETE /_mock/sandboxes/<name> deletes one by name)"
        )
    registry, name = owner
    registry.delete(name)
    return Response(status=204)
