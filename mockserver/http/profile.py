"""``GET /cxrestapi/auth/MyProfile``: the profile of the token's user (swagger ``UserProfileModel``).

Any valid access token may read its own profile: no permission and no particular scope is needed
(``cxpsemea/CxSASTClientGo`` calls it right after logging in, with a ``sast_rest_api access_control_api`` token).
"""

from __future__ import annotations

from flask import Response, current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint

from ..core import negotiation
from ..core.contract import JSON_V1
from ..core.schemas import ErrorSchema, UserProfileSchema
from ..core.state import State
from .errors import json_response
from .record import current

__all__ = ["blp"]

blp = Blueprint("my_profile", __name__, url_prefix="/cxrestapi/auth", description="My Profile")


@blp.route("/MyProfile")
class MyProfile(MethodView):
    @blp.doc(operationId="getMyProfile", summary="Get the profile of the token's user")
    @blp.response(200, UserProfileSchema, content_type=JSON_V1, description="The profile of the token's user")
    @blp.alt_response(
        401,
        schema=ErrorSchema,
        content_type=JSON_V1,
        description="Missing, malformed, unknown or expired token.",
        headers={"WWW-Authenticate": {"required": True, "schema": {"type": "string"}}},
    )
    @blp.alt_response(
        406,
        schema=ErrorSchema,
        content_type=JSON_V1,
        description="The Accept header names only unsupported versions or media types.",
    )
    def get(self) -> Response:
        st: State = current_app.extensions["cxmock.state"]
        record = current()
        info = st.identity.authenticate(request.headers.get("Authorization"))
        record.user = info.username
        record.note(negotiation.negotiate_accept(request.headers.get("Accept")))
        return json_response(st.identity.user_of(info).my_profile())
