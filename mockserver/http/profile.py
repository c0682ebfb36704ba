"""``GET|PUT /cxrestapi/auth/MyProfile``: the profile of the token's user (swagger ``UserProfileModel``,
``UpdateUserProfileModel``).

Any valid access token may read and update its own profile: no permission and no particular scope is needed
(``cxpsemea/CxSASTClientGo`` calls it right after logging in, with a ``sast_rest_api access_control_api`` token;
CheckmarxPythonSDK's ``update_my_profile`` PUTs it). An update is kept per user in the sandbox it was made in,
until the sandbox is reset.
"""

from __future__ import annotations

from flask import Response, current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint

from ..core import contract, negotiation
from ..core.contract import JSON_V1
from ..core.identity.tokens import TokenInfo
from ..core.schemas import UpdateUserProfileSchema, UserProfileSchema
from ..core.state import State
from ..errors import ApiError
from .api import BODY_MEDIA_TYPES, NO_CXORIGIN, error_responses, no_content, read_json_body
from .errors import json_response
from .record import current

__all__ = ["blp"]

blp = Blueprint("my_profile", __name__, url_prefix="/cxrestapi/auth", description="My Profile")


def _caller(st: State) -> TokenInfo:
    """The token's user (every valid token may read and update its own profile); the journal notes them and what
    their ``Accept`` header chose."""
    record = current()
    info = st.identity.authenticate(request.headers.get("Authorization"))
    record.user = info.username
    record.note(negotiation.negotiate_accept(request.headers.get("Accept"), strict=st.config.strict))
    return info


@blp.route("/MyProfile")
class MyProfile(MethodView):
    @blp.doc(operationId="getMyProfile", summary="Get the profile of the token's user")
    @blp.response(200, UserProfileSchema, content_type=JSON_V1, description="The profile of the token's user")
    @error_responses(blp, 401, 406)
    def get(self) -> Response:
        st: State = current_app.extensions["cxmock.state"]
        return json_response(st.identity.my_profile(_caller(st)))

    @blp.doc(
        operationId="updateMyProfile",
        summary="Update the profile of the token's user",
        requestBody={
            "required": True,
            "content": {media: {"schema": UpdateUserProfileSchema} for media in BODY_MEDIA_TYPES},
        },
    )
    @blp.response(204, description="Updated; the body is empty.")
    @error_responses(blp, 400, 401, 404, 413, 415, described={404: "The token's user was not found."})
    def put(self) -> Response:
        st: State = current_app.extensions["cxmock.state"]
        info = _caller(st)
        record = current()
        if "cxOrigin" not in request.headers:
            record.note([NO_CXORIGIN])
        try:
            parsed = contract.parse_profile(read_json_body(), strict=st.config.strict)
        except ApiError as exc:
            record.note(exc.violations)
            raise
        record.note(parsed.violations)
        st.identity.update_profile(info, parsed.fields)
        return no_content(204)
