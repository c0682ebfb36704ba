"""Users, roles, permissions and OAuth2 clients: the directory the identity server reads (``fixtures/users.yaml``).

Permissions are named as the service's token claims name them: the seed's 'Manage System Settings' is
``manage-system-settings`` in the ``sast-permissions`` claim (``Checkmarx/sast-to-ast-export``,
``internal/app/permissions/permissions.go``). A users file may write either form; :func:`permission_claim` maps
a display name to its claim value and decides which claim (``sast-permissions`` or ``access-control-permissions``)
carries it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ...errors import ConfigError

__all__ = [
    "ACCESS_CONTROL_CLAIM",
    "KNOWN_SCOPES",
    "MANAGE_SYSTEM_SETTINGS",
    "MANAGE_SYSTEM_SETTINGS_CLAIM",
    "SAST_CLAIM",
    "Client",
    "User",
    "load_users",
    "parse_users",
    "permission_claim",
]

#: the permission the SMTP Settings endpoints demand, as the vendor documentation names it
MANAGE_SYSTEM_SETTINGS = "Manage System Settings"
#: ... and as the token's ``sast-permissions`` claim carries it
MANAGE_SYSTEM_SETTINGS_CLAIM = "manage-system-settings"
SAST_CLAIM = "sast-permissions"
ACCESS_CONTROL_CLAIM = "access-control-permissions"

#: the scopes real clients ask for (PRODUCT.md §2); a client of the users file allows these unless it lists its own
KNOWN_SCOPES = (
    "sast_rest_api",
    "sast_api",
    "access_control_api",
    "offline_access",
    "openid",
    "profile",
    "cxarm_api",
    "management_and_orchestration_api",
)

#: permissions of the Access Control service (the rest belong to SAST). sast-to-ast-export lists the first two
#: under "Access Control > General"; the others are the Access Control UI's names (inference).
_ACCESS_CONTROL_PERMISSIONS = frozenset(
    {
        "manage-authentication-providers",
        "manage-roles",
        "manage-users",
        "manage-teams",
        "manage-windows-domains",
        "manage-smtp-settings-access-control",
    }
)

#: the profile members of ``GET /MyProfile`` and their defaults (swagger ``UserProfileModel`` names and types;
#: ``teams`` is a string there)
PROFILE_DEFAULTS: dict[str, Any] = {
    "firstName": "",
    "lastName": "",
    "email": "",
    "phoneNumber": None,
    "cellPhoneNumber": None,
    "jobTitle": None,
    "other": None,
    "country": None,
    "localeId": 1,
    "teams": "",
    "authenticationProviderId": 1,
}


def permission_claim(name: str) -> tuple[str, str]:
    """``(claim, value)`` of a permission: ``"Manage System Settings"`` -> ``("sast-permissions",
    "manage-system-settings")``. A name may force its claim with an ``access-control:`` or ``sast:`` prefix."""
    text = name.strip()
    claim = None
    for prefix, forced in (("access-control:", ACCESS_CONTROL_CLAIM), ("sast:", SAST_CLAIM)):
        if text.lower().startswith(prefix):
            text, claim = text[len(prefix) :].strip(), forced
    value = "-".join(text.lower().split())
    if claim is None:
        claim = ACCESS_CONTROL_CLAIM if value in _ACCESS_CONTROL_PERMISSIONS else SAST_CLAIM
    return claim, value


@dataclass(frozen=True)
class User:
    """One account. ``permissions`` maps a claim name to the claim values the user holds."""

    username: str
    password: str
    permissions: Mapping[str, frozenset[str]] = field(default_factory=dict)
    id: int = 1
    profile: Mapping[str, Any] = field(default_factory=dict)

    def has(self, claim: str, value: str) -> bool:
        return value in self.permissions.get(claim, frozenset())

    def my_profile(self) -> dict[str, Any]:
        """The ``GET /MyProfile`` object (member order as the service's model)."""
        out: dict[str, Any] = {"id": self.id, "userName": self.username}
        for key, default in PROFILE_DEFAULTS.items():
            value = self.profile.get(key, default)
            # a users file may list the teams; the service's UserProfileModel.Teams is one string (inference: the
            # team paths separated by ", ")
            out[key] = ", ".join(map(str, value)) if isinstance(value, list | tuple) else value
        return out


@dataclass(frozen=True)
class Client:
    client_id: str
    client_secret: str
    scopes: frozenset[str]


def load_users(path: str | Path, *, default_secret: str) -> tuple[list[User], list[Client]]:
    """Read a users file (see ``fixtures/users.yaml``); ConfigError names the file and the problem."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read users file {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"users file {path} is not valid YAML: {exc}") from None
    return parse_users(data, default_secret=default_secret, source=str(path))


def _profile(entry: Mapping[str, Any], source: str, where: str) -> dict[str, Any]:
    profile = entry.get("profile")
    if profile is None:
        return {}
    if not isinstance(profile, dict):
        raise ConfigError(f"{source}: {where}.profile must be a mapping of MyProfile members")
    unknown = set(profile) - set(PROFILE_DEFAULTS)
    if unknown:
        raise ConfigError(
            f"{source}: {where}.profile has unknown member(s) {', '.join(sorted(map(str, unknown)))}; "
            f"known: {', '.join(PROFILE_DEFAULTS)}"
        )
    return dict(profile)


#: the expected shape of each list of a users file, for error messages
_USERS_FILE_SHAPES = {
    "users": "e.g. users: [{username: admin, password: admin, roles: [admin]}]",
    "clients": "e.g. clients: [{client_id: my_client, client_secret: s3cret, scopes: [access_control_api]}]",
}


def parse_users(data: Any, *, default_secret: str, source: str = "users") -> tuple[list[User], list[Client]]:
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping with 'users' (and optional 'roles', 'clients')")
    roles = data.get("roles") or {}
    if not isinstance(roles, dict):
        raise ConfigError(f"{source}: 'roles' must map a role name to a list of permissions")
    for key, shape in _USERS_FILE_SHAPES.items():
        if key in data and data[key] is not None and not isinstance(data[key], list):
            raise ConfigError(
                f"{source}: '{key}' must be a list, got {type(data[key]).__name__} {data[key]!r}; {shape}"
            )
    users = []
    for i, entry in enumerate(data.get("users") or []):
        where = f"users[{i}]"
        if not isinstance(entry, dict) or not entry.get("username") or "password" not in entry:
            raise ConfigError(f"{source}: {where} needs 'username' and 'password'")
        names: list[str] = list(map(str, entry.get("permissions") or []))
        for role in entry.get("roles") or []:
            if role not in roles:
                raise ConfigError(f"{source}: {where} has unknown role {role!r}; roles: {', '.join(roles)}")
            names.extend(map(str, roles[role] or []))
        perms: dict[str, set[str]] = {}
        for name in names:
            claim, value = permission_claim(name)
            perms.setdefault(claim, set()).add(value)
        user_id = entry.get("id", i + 1)
        if isinstance(user_id, bool) or not isinstance(user_id, int) or user_id < 1:
            raise ConfigError(f"{source}: {where}.id must be a positive integer, got {user_id!r}")
        users.append(
            User(
                str(entry["username"]),
                str(entry["password"]),
                {claim: frozenset(values) for claim, values in perms.items()},
                user_id,
                _profile(entry, source, where),
            )
        )
    clients = []
    for i, entry in enumerate(data.get("clients") or []):
        if not isinstance(entry, dict) or not entry.get("client_id"):
            raise ConfigError(f"{source}: clients[{i}] needs 'client_id'")
        scopes = frozenset(map(str, entry.get("scopes") or KNOWN_SCOPES))
        clients.append(Client(str(entry["client_id"]), str(entry.get("client_secret") or default_secret), scopes))
    if not users:
        raise ConfigError(f"{source}: no users defined")
    return users, clients
