"""The OpenID Connect endpoints of the identity server under ``/cxrestapi/auth/identity``: discovery, JWKS,
``connect/userinfo`` (GET and POST) and ``connect/revocation`` (RFC 7009).

They answer as IdentityServer does, outside the API's error shape: OAuth2 errors are ``{"error",
"error_description"}``, userinfo's 401/403 carry only ``WWW-Authenticate``. Not part of the OpenAPI document (the
service's swagger does not describe them either); ``/connect/token`` is, in :mod:`.token`.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request

from ..core.identity.oidc import discovery_document
from ..core.state import State
from ..errors import ApiError
from .errors import json_response
from .record import current
from .token import IDENTITY_PREFIX, NO_STORE, issuer, read_form

__all__ = ["OPERATIONS", "blp"]

blp = Blueprint("oidc", __name__, url_prefix=IDENTITY_PREFIX)

JSON = "application/json"
_DISCOVERY = "/.well-known/openid-configuration"
_JWKS = _DISCOVERY + "/jwks"
_USERINFO = "/connect/userinfo"
_REVOCATION = "/connect/revocation"

#: the operationIds of these endpoints, which the OpenAPI document does not describe (``record.operation_ids``)
OPERATIONS = {
    ("GET", IDENTITY_PREFIX + _DISCOVERY): "getOpenIdConfiguration",
    ("GET", IDENTITY_PREFIX + _JWKS): "getJwks",
    ("GET", IDENTITY_PREFIX + _USERINFO): "getUserInfo",
    ("POST", IDENTITY_PREFIX + _USERINFO): "getUserInfo",
    ("POST", IDENTITY_PREFIX + _REVOCATION): "revokeToken",
}


def _state() -> State:
    st: State = current_app.extensions["cxmock.state"]
    return st


@blp.route(_DISCOVERY, methods=["GET"])
def discovery() -> Response:
    return json_response(discovery_document(issuer(request)), content_type=JSON)


@blp.route(_JWKS, methods=["GET"])
def jwks() -> Response:
    return json_response(_state().identity.signer.jwks(), content_type=JSON)


@blp.route(_USERINFO, methods=["GET", "POST"])
def userinfo() -> Response:
    identity = _state().identity
    try:
        info = identity.authenticate(request.headers.get("Authorization"))
        current().user = info.username
        claims = identity.userinfo(info)
    except ApiError as exc:
        # IdentityServer answers userinfo errors with the challenge only, no body
        response = Response(status=exc.status)
        response.headers.update(exc.headers)
        response.headers.pop("Content-Type", None)
        return response
    return json_response(claims, content_type=JSON, headers=NO_STORE)


@blp.route(_REVOCATION, methods=["POST"])
def revocation() -> Response:
    st = _state()
    form = read_form(st)
    st.identity.revoke(form, authorization=request.headers.get("Authorization"), peer=request.remote_addr)
    response = Response(status=200)
    response.headers.pop("Content-Type", None)
    response.headers.update(NO_STORE)
    return response
