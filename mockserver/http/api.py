"""The SMTP Settings endpoints under ``/cxrestapi/auth``: translate HTTP to core calls, nothing more.

Paths are matched without regard to case (``casing.py``); errors are the service's ``{"message"}`` (``errors.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask import Response, current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint
from werkzeug.routing import BaseConverter

from ..core import contract, negotiation
from ..core.contract import JSON_V1, ParsedBody
from ..core.lint.lint import Violation, violation
from ..core.schemas import (
    CreateSmtpSettingsSchema,
    ErrorSchema,
    SmtpSettingsSchema,
    TestConnectionSchema,
    UpdateSmtpSettingsSchema,
)
from ..core.state import State
from ..errors import ApiError, NotAcceptable
from .errors import json_response
from .record import current

API_PREFIX = "/cxrestapi/auth"

blp = Blueprint("smtp_settings", __name__, url_prefix=API_PREFIX, description="SMTP Settings")


class SettingsIdConverter(BaseConverter):
    """``{id}`` of ``/SMTPSettings/{id}``: any segment but ``testconnection``, whose path is its own resource.

    Without the exclusion ``OPTIONS /SMTPSettings/testconnection`` would advertise the item's ``GET, PUT, DELETE``
    in ``Allow``. Any other segment reaches the view: 404 for a segment that is no Int32 (the service's
    ``{id:int}`` route) and for an Int32 no record has (``negotiation.parse_id``; 400 below 1 in strict mode).
    """

    regex = r"(?!testconnection\Z)[^/]+"


# registered before the routes below are added (deferred setup functions run in the order they were recorded)
blp.record_once(lambda setup: setup.app.url_map.converters.setdefault("settings_id", SettingsIdConverter))

_settings_schema = SmtpSettingsSchema()

ERRORS: dict[int, str] = {
    400: "The request is invalid (the message names the field and the problem).",
    401: "Missing, malformed, unknown or expired token.",
    403: "The user lacks 'Manage System Settings', or the token lacks the `access_control_api` scope.",
    404: "No SMTP settings with this id (or the id is no Int32).",
    406: "The Accept header names only unsupported versions or media types.",
    413: "The body exceeds the size limit (64 KiB by default).",
    415: "The body is not JSON (`application/json`, `text/json` or `application/*+json`), or names a version other "
    "than 1.0.",
}


def error_responses(
    on: Blueprint, *codes: int, described: Mapping[int, str] | None = None
) -> Callable[[Any], Any]:
    """Document the error responses of an operation of ``on`` (the error schema, the vendor media type, the
    ``WWW-Authenticate`` header of a 401); ``described`` replaces the sentences of :data:`ERRORS` it names."""
    sentences = {**ERRORS, **(described or {})}

    def wrap(func: Any) -> Any:
        for code in codes:
            headers = {"WWW-Authenticate": {"required": True, "schema": {"type": "string"}}} if code == 401 else None
            func = on.alt_response(
                code, schema=ErrorSchema, description=sentences[code], content_type=JSON_V1, headers=headers
            )(func)
        return func

    return wrap


def _errors(*codes: int) -> Callable[[Any], Any]:
    return error_responses(blp, *codes)


#: the request body media types ASP.NET's JSON input formatter reads (the service's swagger lists them; NSwag
#: clients send the first, application/json-patch+json), after the vendor documentation's versioned one
BODY_MEDIA_TYPES = (JSON_V1, "application/json-patch+json", "application/json", "text/json", "application/*+json")


def _body_doc(schema: type) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {m: {"schema": schema} for m in BODY_MEDIA_TYPES}}}


def state() -> State:
    st: State = current_app.extensions["cxmock.state"]
    return st


def note(violations: list[Any]) -> None:
    """Remember contract-lint violations for this request's journal entry."""
    current().note(violations)


def guard(*, accept_406: bool) -> None:
    """Common checks of every API operation: bearer token, permission, Accept negotiation."""
    st = state()
    record = current()
    headers = request.headers  # one context lookup instead of three (this runs on every request)
    info = st.identity.authenticate(headers.get("Authorization"))
    record.user = info.username
    st.identity.authorize(info)
    try:
        record.note(negotiation.negotiate_accept(headers.get("Accept"), strict=st.config.strict))
    except NotAcceptable as exc:
        if accept_406:
            raise
        record.note(exc.violations)
    if "cxOrigin" not in headers:
        record.note([NO_CXORIGIN])


#: the contract-lint note of a request without ``cxOrigin`` (also ``PUT /MyProfile``'s)
NO_CXORIGIN: Violation = violation("cxorigin-missing", "no cxOrigin header (the vendor's audit-trail origin)")


def read_json_body() -> bytes:
    """The raw body after the media-type and size checks (415, 413)."""
    try:
        note(negotiation.check_content_type(request.headers.get("Content-Type")))
    except ApiError as exc:
        note(exc.violations)
        raise
    limit = state().config.max_body
    negotiation.check_body_size(request.content_length, limit)
    raw = request.stream.read(limit + 1)
    negotiation.check_body_size(len(raw), limit)
    current().body = raw
    return raw


def _parse_id(raw: str) -> int:
    # "testconnection" never gets here: the route converter excludes it
    return negotiation.parse_id(raw, strict=state().config.strict)


def _parsed(parse: Callable[..., ParsedBody], raw: bytes, **options: Any) -> ParsedBody:
    """``parse(raw, **options)`` with its contract-lint violations noted, also when it refuses the body."""
    try:
        parsed = parse(raw, **options)
    except ApiError as exc:
        note(exc.violations)
        raise
    note(parsed.violations)
    return parsed


def no_content(status: int, headers: dict[str, str] | None = None) -> Response:
    response = Response(status=status, headers=headers or {})
    response.headers.pop("Content-Type", None)
    return response


@blp.route("/SMTPSettings")
class SettingsCollection(MethodView):
    @blp.doc(operationId="getAllSmtpSettings", summary="Get details of all SMTP settings")
    @blp.response(200, SmtpSettingsSchema(many=True), content_type=JSON_V1, description="All SMTP settings")
    @_errors(401, 403, 406)
    def get(self) -> Response:
        guard(accept_406=True)
        # public() already has SmtpSettingsSchema's members, order and types; a marshmallow dump of each record
        # was ~85 % of the time of a 10 000-record list (see docs/benchmarks.md)
        return json_response([r.public() for r in state().settings.list()])

    @blp.doc(
        operationId="createSmtpSettings", summary="Create new SMTP settings", **_body_doc(CreateSmtpSettingsSchema)
    )
    @blp.response(
        201,
        description="Created; the body is empty.",
        headers={"Location": {"required": True, "schema": {"type": "string"}}},
    )
    @_errors(400, 401, 403, 413, 415)
    def post(self) -> Response:
        guard(accept_406=False)
        st = state()
        parsed = _parsed(contract.parse_settings, read_json_body(), strict=st.config.strict)
        record = st.settings.create(parsed.fields)
        # in a sandbox the script root is /sandbox/<name>: the Location is the record's URL there
        return no_content(201, {"Location": f"{request.script_root}{API_PREFIX}/SMTPSettings/{record.id}"})


@blp.route("/SMTPSettings/<settings_id:id>")
class SettingsItem(MethodView):
    @blp.doc(operationId="getSmtpSettingsById", summary="Get SMTP settings by id")
    @blp.response(200, SmtpSettingsSchema, content_type=JSON_V1, description="The SMTP settings")
    @_errors(400, 401, 403, 404, 406)
    def get(self, id: str) -> Response:  # noqa: A002 - the vendor's parameter name
        guard(accept_406=True)
        record = state().settings.get(_parse_id(id))
        return json_response(_settings_schema.dump(record.public()))

    @blp.doc(
        operationId="updateSmtpSettings", summary="Update SMTP settings by id", **_body_doc(UpdateSmtpSettingsSchema)
    )
    @blp.response(204, description="Updated; the body is empty.")
    @_errors(400, 401, 403, 404, 413, 415)
    def put(self, id: str) -> Response:  # noqa: A002
        guard(accept_406=False)
        st = state()
        record_id = _parse_id(id)
        parsed = _parsed(contract.parse_settings, read_json_body(), strict=st.config.strict, update=True)
        st.settings.update(record_id, parsed.fields)
        return no_content(204)

    @blp.doc(operationId="deleteSmtpSettings", summary="Delete SMTP settings by id")
    @blp.response(204, description="Deleted; the body is empty.")
    @_errors(400, 401, 403, 404)
    def delete(self, id: str) -> Response:  # noqa: A002
        guard(accept_406=False)
        state().settings.delete(_parse_id(id))
        return no_content(204)


@blp.route("/SMTPSettings/testconnection")
class TestConnection(MethodView):
    @blp.doc(operationId="testSmtpConnection", summary="Test an SMTP connection", **_body_doc(TestConnectionSchema))
    @blp.response(200, description="The SMTP session succeeded; the body is empty.")
    @_errors(400, 401, 403, 413, 415)
    def post(self) -> Response:
        guard(accept_406=False)
        st = state()
        parsed = _parsed(contract.parse_test_connection, read_json_body(), strict=st.config.strict)
        smtp_test = current_app.extensions["cxmock.smtp_test"]
        record = current()
        # SMTP faults fired by this session belong to this request's journal entry and log line (#25); they are
        # reported from the sink's thread, into the record's list bound here
        record.mail = smtp_test(parsed.fields, on_fault=record.faults.append)
        return no_content(200)
