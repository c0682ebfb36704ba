"""Users, roles, OAuth2 clients and bearer tokens, checked against an injected clock.

Tokens are opaque random strings; the directory remembers who each belongs to, its scopes and expiry.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ...errors import ConfigError, Forbidden, MessageCode, OAuthError, Unauthorized

__all__ = [
    "Client",
    "Identity",
    "TokenInfo",
    "User",
    "MANAGE_SYSTEM_SETTINGS",
    "API_SCOPE",
    "load_users",
    "password_grant",
]

MANAGE_SYSTEM_SETTINGS = "Manage System Settings"
API_SCOPE = "access_control_api"
MAX_TOKENS = 10_000


@dataclass(frozen=True)
class User:
    username: str
    password: str
    permissions: frozenset[str]


@dataclass(frozen=True)
class Client:
    client_id: str
    client_secret: str
    scopes: frozenset[str]


@dataclass(frozen=True)
class TokenInfo:
    token: str
    username: str
    scopes: frozenset[str]
    expires_at: float


def load_users(path: str | Path, *, default_secret: str) -> tuple[list[User], list[Client]]:
    """Read a users file (see ``fixtures/users.yaml``); ConfigError names the file and the problem."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read users file {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"users file {path} is not valid YAML: {exc}") from None
    return parse_users(data, default_secret=default_secret, source=str(path))


def parse_users(data: Any, *, default_secret: str, source: str = "users") -> tuple[list[User], list[Client]]:
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping with 'users' (and optional 'roles', 'clients')")
    roles = data.get("roles") or {}
    if not isinstance(roles, dict):
        raise ConfigError(f"{source}: 'roles' must map a role name to a list of permissions")
    users = []
    for i, entry in enumerate(data.get("users") or []):
        if not isinstance(entry, dict) or not entry.get("username") or "password" not in entry:
            raise ConfigError(f"{source}: users[{i}] needs 'username' and 'password'")
        perms: set[str] = set(map(str, entry.get("permissions") or []))
        for role in entry.get("roles") or []:
            if role not in roles:
                raise ConfigError(f"{source}: users[{i}] has unknown role {role!r}; roles: {', '.join(roles)}")
            perms.update(map(str, roles[role] or []))
        users.append(User(str(entry["username"]), str(entry["password"]), frozenset(perms)))
    clients = []
    for i, entry in enumerate(data.get("clients") or []):
        if not isinstance(entry, dict) or not entry.get("client_id"):
            raise ConfigError(f"{source}: clients[{i}] needs 'client_id'")
        scopes = frozenset(map(str, entry.get("scopes") or [API_SCOPE]))
        clients.append(Client(str(entry["client_id"]), str(entry.get("client_secret") or default_secret), scopes))
    if not users:
        raise ConfigError(f"{source}: no users defined")
    return users, clients


def password_grant(
    username: str, password: str, *, scope: str, client_secret: str, client_id: str = "resource_owner_client"
) -> dict[str, str]:
    """The form of a token request (OAuth2 resource-owner password grant), as the vendor's clients send it."""
    return {
        "grant_type": "password",
        "username": username,
        "password": password,
        "scope": scope,
        "client_id": client_id,
        "client_secret": client_secret,
    }


class Identity:
    """Issues and checks bearer tokens.

    :param clock: seconds since the epoch; injected so expiry is testable without sleeping.
    """

    def __init__(
        self,
        users: Iterable[User],
        clients: Iterable[Client],
        *,
        token_lifetime: int = 3600,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._users = {u.username: u for u in users}
        self._clients = {c.client_id: c for c in clients}
        self.token_lifetime = token_lifetime
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens: OrderedDict[str, TokenInfo] = OrderedDict()

    @property
    def usernames(self) -> list[str]:
        return list(self._users)

    def reset(self) -> None:
        """Forget every issued token."""
        with self._lock:
            self._tokens.clear()

    # -- token endpoint --------------------------------------------------------------------------------------
    def issue(self, form: Mapping[str, str]) -> dict[str, Any]:
        """Handle a token request (form fields); returns the token response or raises :class:`OAuthError`."""
        grant = form.get("grant_type")
        if not grant:
            raise OAuthError("invalid_request", "grant_type is required (use grant_type=password)")
        client_id = form.get("client_id")
        if not client_id:
            raise OAuthError("invalid_request", "client_id is required")
        client = self._clients.get(client_id)
        secret = form.get("client_secret", "")
        if client is None or not hmac.compare_digest(secret.encode(), client.client_secret.encode()):
            raise OAuthError("invalid_client", "unknown client or wrong client_secret")
        if grant != "password":
            raise OAuthError("unsupported_grant_type", f"grant_type {grant[:40]!r} is not supported; use 'password'")
        username, password = form.get("username"), form.get("password")
        if not username or password is None:
            raise OAuthError("invalid_request", "username and password are required for grant_type=password")
        user = self._users.get(username)
        if user is None or not hmac.compare_digest(password.encode(), user.password.encode()):
            raise OAuthError("invalid_grant", "invalid username or password")
        requested = frozenset((form.get("scope") or " ".join(sorted(client.scopes))).split())
        unknown = requested - client.scopes
        if unknown or not requested:
            raise OAuthError(
                "invalid_scope",
                f"scope not allowed for this client: {' '.join(sorted(unknown))[:80] or '(empty)'}; "
                f"allowed: {' '.join(sorted(client.scopes))}",
            )
        token = secrets.token_urlsafe(32)
        info = TokenInfo(token, user.username, requested, self._clock() + self.token_lifetime)
        with self._lock:
            self._tokens[token] = info
            self._prune()
        return {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": self.token_lifetime,
            "scope": " ".join(sorted(requested)),
        }

    def _prune(self) -> None:
        now = self._clock()
        while self._tokens and (len(self._tokens) > MAX_TOKENS or next(iter(self._tokens.values())).expires_at < now):
            self._tokens.popitem(last=False)

    # -- bearer checks ---------------------------------------------------------------------------------------
    def authenticate(self, authorization: str | None) -> TokenInfo:
        """The token of an ``Authorization`` header; 401 (with the right WWW-Authenticate) otherwise."""
        if not authorization:
            raise Unauthorized(
                "no access token; send Authorization: Bearer <token> from POST /cxrestapi/auth/identity/connect/token",
                headers={"WWW-Authenticate": 'Bearer realm="cxmock"'},
            )
        scheme, _, token = authorization.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise _invalid_token("the Authorization header must be 'Bearer <token>'")
        with self._lock:
            info = self._tokens.get(token)
        if info is None:
            raise _invalid_token("the access token is unknown (issued by another server run, or malformed)")
        if info.expires_at <= self._clock():
            raise _invalid_token("the access token has expired; request a new one from the token endpoint")
        return info

    def peek(self, authorization: str | None) -> str | None:
        """The username of a valid, unexpired bearer token in ``authorization``; None otherwise. Never raises.

        For code that needs to know who is calling before the request is authenticated (fault rules that match
        on ``user``); use :meth:`authenticate` to decide whether the request may proceed."""
        if not authorization:
            return None
        scheme, _, token = authorization.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return None
        with self._lock:
            info = self._tokens.get(token)
        if info is None or info.expires_at <= self._clock():
            return None
        return info.username

    def authorize(self, info: TokenInfo) -> None:
        """403 unless the token's user may manage system settings and the token has the API scope."""
        if API_SCOPE not in info.scopes:
            raise Forbidden(
                f"the access token lacks the {API_SCOPE!r} scope; request scope={API_SCOPE} at the token endpoint"
            )
        user = self._users.get(info.username)
        if user is None or MANAGE_SYSTEM_SETTINGS not in user.permissions:
            raise Forbidden(f"user {info.username!r} lacks the {MANAGE_SYSTEM_SETTINGS!r} permission")


def _invalid_token(details: str) -> Unauthorized:
    return Unauthorized(
        details,
        message_code=MessageCode.TOKEN_INVALID,
        headers={"WWW-Authenticate": f'Bearer realm="cxmock", error="invalid_token", error_description="{details}"'},
    )
