"""OAuth2 client authentication at the token and revocation endpoints: form fields or HTTP Basic.

HTTP Basic is what ``golang.org/x/oauth2`` sends first (``cxpsemea/CxSASTClientGo``): ``Authorization: Basic
base64(urlencode(client_id) ":" urlencode(client_secret))`` (RFC 6749 §2.3.1). The form fields ``client_id`` and
``client_secret`` are what the C#, Java and Python clients send. Using both at once is ``invalid_request``
(RFC 6749 §2.3: one method per request), except a form ``client_id`` that repeats the header's.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from urllib.parse import unquote_plus

from ...errors import OAuthError

__all__ = ["client_credentials"]

#: longer Basic credentials are not a client of ours (the vendor's ids and secrets are < 64 characters)
MAX_BASIC_LENGTH = 4096


def _basic(authorization: str | None) -> tuple[str, str] | None:
    """``(client_id, client_secret)`` of a Basic header; None for no header or another scheme."""
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    value = value.strip()
    if not value or len(value) > MAX_BASIC_LENGTH:
        raise OAuthError("invalid_client", "the Basic Authorization header is empty or too long")
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        raise OAuthError(
            "invalid_client", "the Basic Authorization header is not base64 of client_id:client_secret"
        ) from None
    client_id, colon, secret = decoded.partition(":")
    if not colon or not client_id:
        raise OAuthError("invalid_client", "the Basic Authorization header must hold client_id:client_secret")
    return unquote_plus(client_id), unquote_plus(secret)


def client_credentials(form: Mapping[str, str], authorization: str | None) -> tuple[str, str]:
    """``(client_id, client_secret)`` of a request; :class:`OAuthError` when missing, malformed or doubled."""
    basic = _basic(authorization)
    if basic is not None:
        if form.get("client_secret"):
            raise OAuthError(
                "invalid_request",
                "client credentials were sent twice (HTTP Basic and client_secret in the form); use one of them",
            )
        if form.get("client_id") and form["client_id"] != basic[0]:
            raise OAuthError("invalid_request", "the form's client_id differs from the Basic Authorization header's")
        return basic
    client_id = form.get("client_id")
    if not client_id:
        raise OAuthError(
            "invalid_request", "client_id is required (a form field, or HTTP Basic in the Authorization header)"
        )
    return client_id, form.get("client_secret", "")
