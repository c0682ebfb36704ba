"""The identity server of one sandbox: the token endpoint's grants, bearer checks, revocation, userinfo, MyProfile.

Access tokens are RS256 JWTs as IdentityServer issues them (``iss``, ``aud``, ``exp``, ``nbf``, ``iat``, ``sub``,
``client_id``, ``scope``, ``name``, ``sast-permissions``, ``access-control-permissions``; a permission claim is a
string when it holds one value, an array when several). They are checked by signature and expiry against the
injected clock; nothing is stored per token, so memory does not grow with the tokens issued.

Sharing: the signing key is an injected :class:`~.keys.Signer`. A server with many sandboxes builds ONE signer and
passes it to the :class:`Identity` of every sandbox, so a token verifies in all of them, while each Identity keeps its
own revocation set (a refresh token revoked or used in one sandbox says nothing about another).
"""

from __future__ import annotations

import hmac
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from ...errors import Forbidden, MessageCode, NotFound, OAuthError, Unauthorized
from .clients import client_credentials
from .keys import InvalidToken, Signer
from .revocation import REVOCATION_LIMIT, RevocationSet
from .throttle import AuthThrottle
from .tokens import (
    ACCESS_TYP,
    OFFLINE_SCOPE,
    REFRESH_TYP,
    Issuance,
    TokenInfo,
    access_token,
    claim_values,
    refresh_token,
)
from .users import (
    MANAGE_SYSTEM_SETTINGS,
    MANAGE_SYSTEM_SETTINGS_CLAIM,
    SAST_CLAIM,
    Client,
    User,
    load_users,
    parse_users,
)

__all__ = [
    "API_SCOPE",
    "DEFAULT_ISSUER",
    "MANAGE_SYSTEM_SETTINGS",
    "Client",
    "Identity",
    "TokenInfo",
    "User",
    "load_users",
    "parse_users",
    "password_grant",
]

API_SCOPE = "access_control_api"
#: the issuer of tokens minted without a request (``MockServer.token()`` passes its own base URL)
DEFAULT_ISSUER = "http://localhost/cxrestapi/auth/identity"
#: IdentityServer's default absolute refresh-token lifetime (swagger ``absoluteRefreshTokenLifetime``: 30 days)
REFRESH_TOKEN_LIFETIME = 30 * 24 * 3600
#: ``error_description`` of a wrong username or password, as the service words it
INVALID_CREDENTIALS = "invalid_username_or_password"
#: verified access tokens remembered per Identity (token text -> TokenInfo), so a client reusing its token skips the
#: RSA check; expiry is still checked against the clock on every use
VERIFIED_CACHE_SIZE = 512

_T = TypeVar("_T")


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
    """Issues and checks tokens for one sandbox.

    :param signer: the server's signing key, shared by every Identity of the server (default: a new key).
    :param token_lifetime: access-token lifetime in seconds (``expires_in``).
    :param refresh_token_lifetime: absolute refresh-token lifetime, counted from the password login.
    :param clock: seconds since the epoch; injected so expiry is testable without sleeping.
    :param revocation_limit: bound of the used/revoked refresh-token set (see :mod:`.revocation`).
    """

    def __init__(
        self,
        users: Iterable[User],
        clients: Iterable[Client],
        *,
        signer: Signer | None = None,
        token_lifetime: int = 3600,
        refresh_token_lifetime: int = REFRESH_TOKEN_LIFETIME,
        clock: Callable[[], float] = time.time,
        revocation_limit: int = REVOCATION_LIMIT,
        throttle: AuthThrottle | None = None,
    ) -> None:
        self._users = {u.username: u for u in users}
        self._by_id = {str(u.id): u for u in self._users.values()}
        self._clients = {c.client_id: c for c in clients}
        self.signer = signer or Signer()
        self.token_lifetime = token_lifetime
        self.refresh_token_lifetime = refresh_token_lifetime
        self._clock = clock
        self.revocations = RevocationSet(revocation_limit)
        #: failed client-secret and password checks by client address (``--auth-throttle``; shared by sandboxes)
        self.throttle = throttle
        self._verified: OrderedDict[str, TokenInfo] = OrderedDict()
        self._verified_lock = threading.Lock()
        #: ``PUT /MyProfile`` of each user (by id), in this sandbox until :meth:`reset_profiles`
        self._profiles: dict[int, dict[str, Any]] = {}
        self._profiles_lock = threading.Lock()

    @property
    def usernames(self) -> list[str]:
        return list(self._users)

    # -- token endpoint --------------------------------------------------------------------------------------
    def issue(
        self,
        form: Mapping[str, str],
        *,
        authorization: str | None = None,
        issuer: str = DEFAULT_ISSUER,
        lifetime: int | None = None,
        peer: str | None = None,
    ) -> dict[str, Any]:
        """Handle a token request; returns the token response (``access_token`` first) or raises
        :class:`OAuthError`. Client credentials come from the form or an HTTP Basic ``authorization`` header.

        :param peer: the client's address: its failed client-secret and password checks are throttled
            (:class:`~.throttle.Throttled`, 429) when the identity has a ``throttle``."""
        grant = form.get("grant_type")
        if not grant:
            raise OAuthError("invalid_request", "grant_type is required (password or refresh_token)")
        self._throttle_check(peer)
        client = self._counted(self._client, peer, form, authorization)
        now = self._clock()
        if grant == "password":
            user, scopes = self._counted(self._password, peer, form, client)
            auth_time, refresh_exp = int(now), int(now) + self.refresh_token_lifetime
        elif grant == "refresh_token":
            user, scopes, auth_time, refresh_exp = self._refresh(form, client, now)
        else:
            raise OAuthError(
                "unsupported_grant_type", f"grant_type {grant[:40]!r} is not supported; use password or refresh_token"
            )
        expires_in = self.token_lifetime if lifetime is None else lifetime
        issued = Issuance(user, client, scopes, issuer, now, auth_time)
        response: dict[str, Any] = {
            "access_token": access_token(self.signer, issued, expires_in),
            "expires_in": expires_in,
            "token_type": "Bearer",
        }
        if OFFLINE_SCOPE in scopes:
            response["refresh_token"] = refresh_token(self.signer, issued, refresh_exp)
        response["scope"] = " ".join(scopes)
        return response

    def _throttle_check(self, peer: str | None) -> None:
        if self.throttle is not None:
            self.throttle.check(peer)

    def _counted(self, check: Callable[..., _T], peer: str | None, *args: Any) -> _T:
        """``check(*args)``; a failed credential check (``invalid_client``, ``invalid_grant``) counts for ``peer``."""
        try:
            return check(*args)
        except OAuthError as exc:
            if self.throttle is not None and exc.error in ("invalid_client", "invalid_grant"):
                self.throttle.failed(peer)
            raise

    def _client(self, form: Mapping[str, str], authorization: str | None) -> Client:
        client_id, secret = client_credentials(form, authorization)
        client = self._clients.get(client_id)
        if client is None or not hmac.compare_digest(secret.encode(), client.client_secret.encode()):
            raise OAuthError("invalid_client", "unknown client or wrong client_secret")
        return client

    def _password(self, form: Mapping[str, str], client: Client) -> tuple[User, tuple[str, ...]]:
        username, password = form.get("username"), form.get("password")
        if not username or password is None:
            raise OAuthError("invalid_request", "username and password are required for grant_type=password")
        user = self._users.get(username)
        if user is None or not hmac.compare_digest(password.encode(), user.password.encode()):
            # the service's words, which clients compare (Checkmarx/sast-to-ast-export rest/apiclient.go)
            raise OAuthError("invalid_grant", INVALID_CREDENTIALS)
        return user, self._scopes(form.get("scope"), sorted(client.scopes), client)

    @staticmethod
    def _scopes(requested: str | None, allowed: Iterable[str], client: Client) -> tuple[str, ...]:
        """The requested scopes (all of ``allowed`` when none are named), in request order; invalid_scope unless
        every one is allowed."""
        allowed = tuple(allowed)
        scopes = tuple(dict.fromkeys((requested or " ".join(allowed)).split()))
        unknown = [s for s in scopes if s not in allowed]
        if unknown or not scopes:
            raise OAuthError(
                "invalid_scope",
                f"scope not allowed for client {client.client_id}: {' '.join(unknown)[:80] or '(empty)'}; "
                f"allowed: {' '.join(sorted(allowed))}",
            )
        return scopes

    def _refresh(self, form: Mapping[str, str], client: Client, now: float) -> tuple[User, tuple[str, ...], int, int]:
        token = form.get("refresh_token")
        if not token:
            raise OAuthError("invalid_request", "refresh_token is required for grant_type=refresh_token")
        try:
            claims = self.signer.verify(token, typ=REFRESH_TYP)
        except InvalidToken as exc:
            raise OAuthError("invalid_grant", f"the refresh token is not valid: {exc}") from None
        if claims.get("client_id") != client.client_id:
            raise OAuthError("invalid_grant", "the refresh token was issued to another client")
        exp, iat, jti = int(claims.get("exp", 0)), int(claims.get("iat", 0)), str(claims.get("jti", ""))
        if exp <= now:
            raise OAuthError("invalid_grant", "the refresh token has expired; log in again with grant_type=password")
        user = self._by_id.get(str(claims.get("sub")))
        if user is None:
            raise OAuthError("invalid_grant", "the refresh token's user no longer exists")
        scopes = self._scopes(form.get("scope"), tuple(claim_values(claims, "scope")), client)
        if not self.revocations.consume(jti, iat, exp, now):
            raise OAuthError(
                "invalid_grant",
                "the refresh token was already used or revoked (each refresh returns a new one: use the newest)",
            )
        return user, scopes, int(claims.get("auth_time", iat)), exp

    # -- revocation (RFC 7009) -------------------------------------------------------------------------------
    def revoke(self, form: Mapping[str, str], *, authorization: str | None = None, peer: str | None = None) -> None:
        """Revoke a refresh token of the authenticated client. Anything else is accepted and ignored (RFC 7009:
        an unknown or invalid token is no error; a JWT access token is self-contained and cannot be revoked)."""
        self._throttle_check(peer)
        client = self._counted(self._client, peer, form, authorization)
        token = form.get("token")
        if not token:
            raise OAuthError("invalid_request", "token is required (the refresh token to revoke)")
        hint = form.get("token_type_hint")
        if hint not in (None, "", "refresh_token", "access_token"):
            raise OAuthError(
                "unsupported_token_type", f"token_type_hint {hint[:40]!r} is not refresh_token or access_token"
            )
        try:
            claims = self.signer.verify(token, typ=REFRESH_TYP)
        except InvalidToken:
            return
        if claims.get("client_id") == client.client_id:
            self.revocations.revoke(
                str(claims.get("jti", "")), int(claims.get("iat", 0)), int(claims.get("exp", 0)), self._clock()
            )

    # -- bearer checks ---------------------------------------------------------------------------------------
    def authenticate(self, authorization: str | None) -> TokenInfo:
        """The verified token of an ``Authorization`` header; 401 (with the right WWW-Authenticate) otherwise."""
        if not authorization:
            raise Unauthorized(
                "no access token; send Authorization: Bearer <token> from POST /cxrestapi/auth/identity/connect/token",
                headers={"WWW-Authenticate": 'Bearer realm="cxmock"'},
            )
        scheme, _, token = authorization.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise _invalid_token("the Authorization header must be 'Bearer <token>'")
        with self._verified_lock:
            info = self._verified.get(token)
            if info is not None:
                self._verified.move_to_end(token)
        if info is None:
            info = self._verify(token)
            with self._verified_lock:
                self._verified[token] = info
                if len(self._verified) > VERIFIED_CACHE_SIZE:
                    self._verified.popitem(last=False)
        now = self._clock()
        if info.expires_at <= now:
            raise _invalid_token("the access token has expired; request a new one from the token endpoint")
        if info.not_before > now:
            raise _invalid_token("the access token is not valid yet (nbf is in the future)")
        return info

    def _verify(self, token: str) -> TokenInfo:
        try:
            claims = self.signer.verify(token, typ=ACCESS_TYP)
        except InvalidToken as exc:
            raise _invalid_token(f"the access token is not valid: {exc}") from None
        expires_at, not_before = claims.get("exp"), claims.get("nbf", 0)
        if not isinstance(expires_at, int | float) or not isinstance(not_before, int | float):
            raise _invalid_token("the access token's exp or nbf is not a number")
        return TokenInfo(
            token,
            str(claims.get("name", "")),
            frozenset(claim_values(claims, "scope")),
            float(expires_at),
            str(claims.get("client_id", "")),
            claims,
            float(not_before),
        )

    def peek(self, authorization: str | None) -> str | None:
        """The username of a valid, unexpired bearer token in ``authorization``; None otherwise. Never raises.

        For code that needs to know who is calling before the request is authenticated (fault rules that match
        on ``user``); use :meth:`authenticate` to decide whether the request may proceed."""
        try:
            return self.authenticate(authorization).username
        except Unauthorized:
            return None

    def authorize(self, info: TokenInfo) -> None:
        """403 unless the token has the API scope and its ``sast-permissions`` hold manage-system-settings."""
        if API_SCOPE not in info.scopes:
            raise Forbidden(
                f"the access token lacks the {API_SCOPE!r} scope; request scope={API_SCOPE} at the token endpoint"
            )
        if MANAGE_SYSTEM_SETTINGS_CLAIM not in claim_values(info.claims, SAST_CLAIM):
            raise Forbidden(
                f"user {info.username!r} lacks the {MANAGE_SYSTEM_SETTINGS!r} permission "
                f"({MANAGE_SYSTEM_SETTINGS_CLAIM} in the token's {SAST_CLAIM} claim)"
            )

    def user_of(self, info: TokenInfo) -> User:
        """The user a verified token names (401 when the users file no longer has them)."""
        user = self._by_id.get(str(info.claims.get("sub")))
        if user is None:
            raise _invalid_token("the access token's user does not exist on this server")
        return user

    def my_profile(self, info: TokenInfo) -> dict[str, Any]:
        """The ``GET /MyProfile`` object of the token's user: the users file's, updated by ``PUT /MyProfile``."""
        user = self.user_of(info)
        profile = user.my_profile()
        with self._profiles_lock:
            profile.update(self._profiles.get(user.id, {}))
        return profile

    def update_profile(self, info: TokenInfo, fields: Mapping[str, Any]) -> None:
        """Store the ``PUT /MyProfile`` members of the token's user (404 when the users file no longer has them)."""
        user = self._by_id.get(str(info.claims.get("sub")))
        if user is None:
            raise NotFound(f"user {info.username!r} was not found on this server")
        with self._profiles_lock:
            self._profiles[user.id] = {**self._profiles.get(user.id, {}), **fields}

    def reset_profiles(self) -> None:
        """Forget every ``PUT /MyProfile``: the profiles of the users file again."""
        with self._profiles_lock:
            self._profiles.clear()

    def userinfo(self, info: TokenInfo) -> dict[str, Any]:
        """The ``connect/userinfo`` claims; 403 ``insufficient_scope`` without the ``openid`` scope."""
        if "openid" not in info.scopes:
            raise Forbidden(
                "userinfo needs a token with the 'openid' scope; add openid to the scope of the token request",
                headers={"WWW-Authenticate": 'Bearer error="insufficient_scope", scope="openid"'},
            )
        user = self.user_of(info)
        out: dict[str, Any] = {"sub": str(user.id), "name": user.username}
        if "profile" in info.scopes:
            profile = self.my_profile(info)
            out.update(given_name=profile["firstName"], family_name=profile["lastName"], email=profile["email"])
        return out


def _invalid_token(details: str) -> Unauthorized:
    return Unauthorized(
        details,
        message_code=MessageCode.TOKEN_INVALID,
        headers={"WWW-Authenticate": f'Bearer realm="cxmock", error="invalid_token", error_description="{details}"'},
    )
