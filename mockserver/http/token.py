"""``POST /cxrestapi/auth/identity/connect/token``: the OAuth2 grants ``password`` and ``refresh_token``."""

from __future__ import annotations

from typing import Any, cast

from flask import Request, Response, current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint

from ..core.schemas import OAuthErrorSchema, TokenRequestSchema, TokenResponseSchema
from ..core.state import State
from ..errors import OAuthError
from .errors import json_response
from .record import current

FORM = "application/x-www-form-urlencoded"
IDENTITY_PREFIX = "/cxrestapi/auth/identity"
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}

blp = Blueprint("identity", __name__, url_prefix=IDENTITY_PREFIX, description="Identity")


def issuer(req: Request) -> str:
    """The issuer URL as the caller reaches it (``iss`` of the tokens, ``issuer`` of the discovery document)."""
    env = req.environ
    key = tuple(env.get(name) for name in _ISSUER_PARTS)
    found = _issuers.get(key)
    if found is None:  # werkzeug's url_root (IRI-decoded host and script root) is ~20 µs: once per distinct value
        found = req.url_root.rstrip("/") + IDENTITY_PREFIX
        if len(_issuers) >= _ISSUERS_KEPT:  # the Host header is the client's: bounded
            _issuers.clear()
        _issuers[key] = found
    return found


#: the environ keys werkzeug's url_root is made of, and the issuer URLs made of them
_ISSUER_PARTS = ("wsgi.url_scheme", "HTTP_HOST", "SERVER_NAME", "SERVER_PORT", "SCRIPT_NAME")
_issuers: dict[tuple[Any, ...], str] = {}
_ISSUERS_KEPT = 256


def read_form(state: State, req: Request | None = None) -> dict[str, str]:
    """The form of an OAuth2 endpoint request; ``invalid_request`` for another media type or a body too large."""
    if req is None:
        req = cast(Any, request)._get_current_object()
    mimetype = (req.mimetype or "").lower()
    if mimetype != FORM:
        raise OAuthError("invalid_request", f"the request must be {FORM}, got {mimetype[:60] or 'no Content-Type'}")
    if req.content_length is not None and req.content_length > state.config.max_body:
        raise OAuthError("invalid_request", f"the request body exceeds {state.config.max_body} bytes")
    raw = req.form
    form = {key: raw.get(key, "") for key in raw}
    current().body = form
    return form


@blp.route("/connect/token")
class Token(MethodView):
    @blp.doc(
        operationId="getToken",
        summary="Get an access token (OAuth2 password or refresh_token grant)",
        security=[],
        requestBody={"required": True, "content": {FORM: {"schema": TokenRequestSchema}}},
    )
    @blp.response(200, TokenResponseSchema, content_type="application/json", description="The access token")
    @blp.alt_response(400, schema=OAuthErrorSchema, content_type="application/json", description="OAuth2 error")
    @blp.alt_response(
        429,
        schema=OAuthErrorSchema,
        content_type="application/json",
        description="Too many failed logins (cxmock)",
        headers={"Retry-After": {"schema": {"type": "integer"}}},
    )
    def post(self) -> Response:
        req: Request = cast(Any, request)._get_current_object()  # resolved once (each access is a lookup)
        st: State = current_app.extensions["cxmock.state"]
        form = read_form(st, req)
        body = st.identity.issue(
            form, authorization=req.headers.get("Authorization"), issuer=issuer(req), peer=req.remote_addr
        )
        current().user = form.get("username")
        return json_response(body, content_type="application/json", headers=NO_STORE)
