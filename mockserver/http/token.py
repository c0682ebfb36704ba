"""``POST /cxrestapi/auth/identity/connect/token``: the OAuth2 grants ``password`` and ``refresh_token``."""

from __future__ import annotations

from flask import Request, Response, current_app, g, request
from flask.views import MethodView
from flask_smorest import Blueprint

from ..core.schemas import OAuthErrorSchema, TokenRequestSchema, TokenResponseSchema
from ..core.state import State
from ..errors import OAuthError
from .errors import json_response

FORM = "application/x-www-form-urlencoded"
IDENTITY_PREFIX = "/cxrestapi/auth/identity"
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}

blp = Blueprint("identity", __name__, url_prefix=IDENTITY_PREFIX, description="Identity")


def issuer(req: Request) -> str:
    """The issuer URL as the caller reaches it (``iss`` of the tokens, ``issuer`` of the discovery document)."""
    return req.url_root.rstrip("/") + IDENTITY_PREFIX


def read_form(state: State) -> dict[str, str]:
    """The form of an OAuth2 endpoint request; ``invalid_request`` for another media type or a body too large."""
    mimetype = (request.mimetype or "").lower()
    if mimetype != FORM:
        raise OAuthError("invalid_request", f"the request must be {FORM}, got {mimetype[:60] or 'no Content-Type'}")
    if request.content_length is not None and request.content_length > state.config.max_body:
        raise OAuthError("invalid_request", f"the request body exceeds {state.config.max_body} bytes")
    form = {key: request.form.get(key, "") for key in request.form}
    g.cx_body = form
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
    def post(self) -> Response:
        g.cx_operation = "getToken"
        st: State = current_app.extensions["cxmock.state"]
        form = read_form(st)
        body = st.identity.issue(form, authorization=request.headers.get("Authorization"), issuer=issuer(request))
        g.cx_user = form.get("username")
        return json_response(body, content_type="application/json", headers=NO_STORE)
