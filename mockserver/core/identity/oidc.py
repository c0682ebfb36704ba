"""The OpenID Connect discovery document of the identity server, as IdentityServer publishes it.

Built per request from the issuer URL (``<scheme>://<host>/cxrestapi/auth/identity``), so the endpoints it lists
are the ones the caller can reach. Scanners fingerprint CxSAST by ``sast_api``/``sast_rest_api`` in
``scopes_supported`` and ``sast-permissions`` in ``claims_supported``.
"""

from __future__ import annotations

from typing import Any

from .users import ACCESS_CONTROL_CLAIM, KNOWN_SCOPES, SAST_CLAIM

__all__ = ["CLAIMS_SUPPORTED", "GRANT_TYPES", "discovery_document"]

GRANT_TYPES = ("password", "refresh_token")
CLAIMS_SUPPORTED = (
    "sub",
    "name",
    "given_name",
    "family_name",
    "email",
    "locale",
    SAST_CLAIM,
    ACCESS_CONTROL_CLAIM,
)


def discovery_document(issuer: str) -> dict[str, Any]:
    """``/.well-known/openid-configuration`` for ``issuer`` (no trailing slash)."""
    return {
        "issuer": issuer,
        "jwks_uri": f"{issuer}/.well-known/openid-configuration/jwks",
        "token_endpoint": f"{issuer}/connect/token",
        "userinfo_endpoint": f"{issuer}/connect/userinfo",
        "revocation_endpoint": f"{issuer}/connect/revocation",
        "scopes_supported": list(KNOWN_SCOPES),
        "claims_supported": list(CLAIMS_SUPPORTED),
        "grant_types_supported": list(GRANT_TYPES),
        "response_types_supported": ["token"],
        "response_modes_supported": ["form_post", "query", "fragment"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "request_parameter_supported": False,
        "claims_parameter_supported": False,
    }
