"""``POST /cxrestapi/auth/identity/connect/token``: the OAuth2 password grant."""

from __future__ import annotations

from flask import Response, current_app, g, request
from flask.views import MethodView
from flask_smorest import Blueprint

from ..core.schemas import OAuthErrorSchema, TokenRequestSchema, TokenResponseSchema
from ..core.state import State
from ..errors import OAuthError
from .errors import json_response

FORM = "application/x-www-form-urlencoded"

blp = Blueprint("identity", __name__, url_prefix="/cxrestapi/auth/identity", description="Identity")


@blp.route("/connect/token")
class Token(MethodView):
    @blp.doc(
        operationId="getToken",
        summary="Get an access token (OAuth2 resource-owner password grant)",
        security=[],
        requestBody={"required": True, "content": {FORM: {"schema": TokenRequestSchema}}},
    )
    @blp.response(200, TokenResponseSchema, content_type="application/json", description="The access token")
    @blp.alt_response(400, schema=OAuthErrorSchema, content_type="application/json", description="OAuth2 error")
    def post(self) -> Response:
        g.cx_operation = "getToken"
        mimetype = (request.mimetype or "").lower()
        if mimetype != FORM:
            raise OAuthError(
                "invalid_request", f"the token request must be {FORM}, got {mimetype[:60] or 'no Content-Type'}"
            )
        st: State = current_app.extensions["cxmock.state"]
        if request.content_length is not None and request.content_length > st.config.max_body:
            raise OAuthError("invalid_request", f"the token request body exceeds {st.config.max_body} bytes")
        form = {key: request.form.get(key, "") for key in request.form}
        g.cx_body = form
        body = st.identity.issue(form)
        g.cx_user = form.get("username")
        return json_response(
            body, content_type="application/json", headers={"Cache-Control": "no-store", "Pragma": "no-cache"}
        )
