"""Marshmallow schemas of the API's JSON shapes.

Output schemas serialise responses; input schemas document request bodies for flask-smorest (validation itself
runs against the OpenAPI document, see :mod:`mockserver.core.contract`). ``tests/http/test_drift.py`` fails when
the spec flask-smorest generates from these and the hand-written document disagree.
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate

__all__ = [
    "CreateSmtpSettingsSchema",
    "ErrorSchema",
    "OAuthErrorSchema",
    "SmtpSettingsSchema",
    "TestConnectionSchema",
    "TokenRequestSchema",
    "TokenResponseSchema",
    "UpdateSmtpSettingsSchema",
    "UpdateUserProfileSchema",
    "UserProfileSchema",
]

ENCRYPTION_TYPES = ("None", "Ssl", "Tls")
#: the OAuth2 error codes the token endpoint answers (``temporarily_unavailable``: cxmock's auth throttle, 429)
OAUTH_ERRORS = (
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unsupported_grant_type",
    "invalid_scope",
    "temporarily_unavailable",
)


INT32_MAX = 2_147_483_647


class SmtpSettingsSchema(Schema):
    """One SMTP settings record as returned (the service's ``SMTPSettingsViewModel``; never the password)."""

    id = fields.Integer(required=True, validate=validate.Range(min=1, max=INT32_MAX))
    host = fields.String(required=True)
    port = fields.Integer(required=True, validate=validate.Range(min=1, max=65535))
    encryptionType = fields.String(validate=validate.OneOf(ENCRYPTION_TYPES))
    fromAddress = fields.String(required=True)
    useDefaultCredentials = fields.Boolean()
    username = fields.String(allow_none=True)
    displayName = fields.String(allow_none=True)


class _SettingsInput(Schema):
    """The members of ``Create``/``UpdateSMTPSettingsViewModel``: only host, port and fromAddress are required.

    As the service's swagger types them (issue #22): host and fromAddress plain strings, no length; the port a number
    or its digits (``Raw``: the document's ``anyOf``); username, password, displayName nullable, no length.
    """

    host = fields.String(required=True)
    port = fields.Raw(required=True)
    encryptionType = fields.String(allow_none=True)
    fromAddress = fields.String(required=True)
    useDefaultCredentials = fields.Raw()
    username = fields.String(allow_none=True)
    password = fields.String(load_only=True, allow_none=True)
    displayName = fields.String(allow_none=True)


class CreateSmtpSettingsSchema(_SettingsInput):
    pass


class UpdateSmtpSettingsSchema(_SettingsInput):
    pass


class TestConnectionSchema(_SettingsInput):
    """The service's ``TestConnectionViewModel``: the record's members plus ``recieverEmail`` (sic)."""

    recieverEmail = fields.String(required=True, validate=validate.Length(max=256))


class ErrorSchema(Schema):
    """The Access Control API's error body, the service's ``ErrorViewModel``."""

    message = fields.String(required=True)


class TokenRequestSchema(Schema):
    """password grant: username, password; refresh_token grant: refresh_token. Client credentials in the form or
    in an HTTP Basic Authorization header."""

    grant_type = fields.String(required=True, validate=validate.OneOf(["password", "refresh_token"]))
    username = fields.String()
    password = fields.String(load_only=True)
    refresh_token = fields.String(load_only=True)
    scope = fields.String()
    client_id = fields.String()
    client_secret = fields.String(load_only=True)


class TokenResponseSchema(Schema):
    access_token = fields.String(required=True)
    token_type = fields.String(required=True, validate=validate.OneOf(["Bearer"]))
    expires_in = fields.Integer(required=True, validate=validate.Range(min=1))
    refresh_token = fields.String()
    scope = fields.String()


class OAuthErrorSchema(Schema):
    error = fields.String(required=True, validate=validate.OneOf(OAUTH_ERRORS))
    error_description = fields.String()


class UserProfileSchema(Schema):
    """``GET /MyProfile`` (names and types of the swagger's ``UserProfileModel``; ``teams`` is a string)."""

    id = fields.Integer(required=True)
    userName = fields.String(required=True)
    firstName = fields.String(required=True)
    lastName = fields.String(required=True)
    email = fields.String(required=True)
    phoneNumber = fields.String(allow_none=True)
    cellPhoneNumber = fields.String(allow_none=True)
    jobTitle = fields.String(allow_none=True)
    other = fields.String(allow_none=True)
    country = fields.String(allow_none=True)
    localeId = fields.Integer(required=True)
    teams = fields.String(required=True)
    authenticationProviderId = fields.Integer(required=True)


_PROFILE_TEXT = validate.Length(max=256)


class UpdateUserProfileSchema(Schema):
    """``PUT /MyProfile`` (the swagger's ``UpdateUserProfileModel``): firstName, lastName, email required."""

    firstName = fields.String(required=True, validate=_PROFILE_TEXT)
    lastName = fields.String(required=True, validate=_PROFILE_TEXT)
    email = fields.String(required=True, validate=_PROFILE_TEXT)
    phoneNumber = fields.String(allow_none=True, validate=_PROFILE_TEXT)
    cellPhoneNumber = fields.String(allow_none=True, validate=_PROFILE_TEXT)
    jobTitle = fields.String(allow_none=True, validate=_PROFILE_TEXT)
    other = fields.String(allow_none=True, validate=_PROFILE_TEXT)
    country = fields.String(allow_none=True, validate=_PROFILE_TEXT)
    localeId = fields.Integer(validate=validate.Range(min=-INT32_MAX - 1, max=INT32_MAX))
