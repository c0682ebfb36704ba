"""The two JWTs of the identity server: what an access token and a refresh token hold, and the verified view of one.

Access tokens (``typ`` ``at+jwt``) carry the claims IdentityServer puts in the service's tokens; a permission claim
is a string for one value and an array for several (``Checkmarx/sast-to-ast-export`` reads both). Refresh tokens
(``typ`` ``rt+jwt``) are self-contained: who, which client, which scopes, the absolute expiry and a ``jti`` for the
revocation set; the ``typ`` keeps either from being accepted as the other.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .keys import Signer
from .users import ACCESS_CONTROL_CLAIM, SAST_CLAIM, Client, User

__all__ = ["ACCESS_TYP", "REFRESH_TYP", "Issuance", "TokenInfo", "access_token", "claim_values", "refresh_token"]

ACCESS_TYP = "at+jwt"
REFRESH_TYP = "rt+jwt"
OFFLINE_SCOPE = "offline_access"
#: scopes that name no API resource (they are left out of ``aud``)
_NOT_RESOURCES = frozenset({"openid", "profile", OFFLINE_SCOPE})


@dataclass(frozen=True)
class TokenInfo:
    """A verified access token: who, which client, which scopes, until when, and every claim."""

    token: str
    username: str
    scopes: frozenset[str]
    expires_at: float
    client_id: str
    claims: Mapping[str, Any]
    not_before: float = 0.0


def claim_values(claims: Mapping[str, Any], name: str) -> list[str]:
    """A claim that is a string (one value) or an array (several) as a list."""
    value = claims.get(name)
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _one_or_many(values: Iterable[str]) -> str | list[str]:
    ordered = sorted(values)
    return ordered[0] if len(ordered) == 1 else ordered


@dataclass(frozen=True)
class Issuance:
    """What one token response is issued for: the user, the client, the granted scopes, by ``issuer`` at ``now``
    (epoch seconds), for a sign-in at ``auth_time`` (kept across refreshes)."""

    user: User
    client: Client
    scopes: tuple[str, ...]
    issuer: str
    now: float
    auth_time: int


def access_token(signer: Signer, issued: Issuance, lifetime: int) -> str:
    """The signed access token of ``issued``, valid ``lifetime`` seconds."""
    user, client, scopes, issuer, now = issued.user, issued.client, issued.scopes, issued.issuer, issued.now
    resources = sorted(s for s in scopes if s not in _NOT_RESOURCES)
    claims: dict[str, Any] = {
        "iss": issuer,
        "nbf": int(now),
        "iat": int(now),
        "exp": int(now) + lifetime,
        "aud": _one_or_many(resources) if resources else f"{issuer}/resources",
        "scope": list(scopes),
        "amr": ["pwd"],
        "client_id": client.client_id,
        "sub": str(user.id),
        "auth_time": issued.auth_time,
        "idp": "local",
        "name": user.username,
    }
    for claim in (SAST_CLAIM, ACCESS_CONTROL_CLAIM):
        values = user.permissions.get(claim)
        if values:
            claims[claim] = _one_or_many(values)
    claims["jti"] = secrets.token_hex(16)
    return signer.sign(claims, typ=ACCESS_TYP)


def refresh_token(signer: Signer, issued: Issuance, exp: int) -> str:
    """The signed refresh token of ``issued``, valid until ``exp`` (epoch seconds)."""
    claims = {
        "iss": issued.issuer,
        "iat": int(issued.now),
        "exp": exp,
        "sub": str(issued.user.id),
        "client_id": issued.client.client_id,
        "scope": list(issued.scopes),
        "auth_time": issued.auth_time,
        "jti": secrets.token_hex(16),
    }
    return signer.sign(claims, typ=REFRESH_TYP)
