"""The OpenID Connect endpoints of the identity server under ``/cxrestapi/auth/identity``: discovery, JWKS,
``connect/userinfo`` (GET and POST) and ``connect/revocation`` (RFC 7009).

They answer as IdentityServer does, outside the API's error shape: OAuth2 errors are ``{"error",
"error_description"}``, userinfo's 401/403 carry only ``WWW-Authenticate``. Not part of the OpenAPI document (the
service's swagger does not describe them either); ``/connect/token`` is, in :mod:`.token`.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, g, request

from ..core.identity.oidc import discovery_document
from ..core.state import State
from ..errors import ApiError
from .errors import json_response
from .token import IDENTITY_PREFIX, NO_STORE, issuer, read_form

__all__ = ["blp"]

blp = Blueprint("oidc", __name__, url_prefix=IDENTITY_PREFIX)

JSON = "application/json"


def _state() -> State:
    st: State = current_app.extensions["cxmock.state"]
    return st


@blp.route("/.well-known/openid-configuration", methods=["GET"])
def discovery() -> Response:
    g.cx_operation = "getOpenIdConfiguration"
    return json_response(discovery_document(issuer(request)), content_type=JSON)


@blp.route("/.well-known/openid-configuration/jwks", methods=["GET"])
def jwks() -> Response:
    g.cx_operation = "getJwks"
    return json_response(_state().identity.signer.jwks(), content_type=JSON)


@blp.route("/connect/userinfo", methods=["GET", "POST"])
def userinfo() -> Response:
    g.cx_operation = "getUserInfo"
    identity = _state().identity
    try:
        info = identity.authenticate(request.headers.get("Authorization"))
        g.cx_user = info.username
        claims = identity.userinfo(info)
    except ApiError as exc:
        # IdentityServer answers userinfo errors with the challenge only, no body
        response = Response(status=exc.status)
        response.headers.update(exc.headers)
        response.headers.pop("Content-Type", None)
        return response
    return json_response(claims, content_type=JSON, headers=NO_STORE)


@blp.route("/connect/revocation", methods=["POST"])
def revocation() -> Response:
    g.cx_operation = "revokeToken"
    st = _state()
    form = read_form(st)
    st.identity.revoke(form, authorization=request.headers.get("Authorization"))
    response = Response(status=200)
    response.headers.pop("Content-Type", None)
    response.headers.update(NO_STORE)
    return response
