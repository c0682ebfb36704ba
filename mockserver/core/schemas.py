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
    "UserProfileSchema",
]

ENCRYPTION_TYPES = ("None", "Ssl", "Tls")
OAUTH_ERRORS = ("invalid_request", "invalid_client", "invalid_grant", "unsupported_grant_type", "invalid_scope")


class SmtpSettingsSchema(Schema):
    """One SMTP settings record as returned (never the password)."""

    id = fields.Integer(required=True, validate=validate.Range(min=1))
    host = fields.String(required=True, validate=validate.Length(min=1, max=255))
    port = fields.Integer(required=True, validate=validate.Range(min=1, max=65535))
    encryptionType = fields.String(required=True, validate=validate.OneOf(ENCRYPTION_TYPES))
    fromAddress = fields.String(required=True)
    useDefaultCredentials = fields.Boolean(required=True)
    username = fields.String(required=True, allow_none=True)


class _SettingsInput(Schema):
    host = fields.String(required=True, validate=validate.Length(min=1, max=255))
    port = fields.Integer(required=True, validate=validate.Range(min=1, max=65535))
    encryptionType = fields.String(required=True)
    fromAddress = fields.String(required=True, validate=validate.Length(min=3, max=254))
    useDefaultCredentials = fields.Raw()
    username = fields.String(validate=validate.Length(min=1, max=255))
    password = fields.String(load_only=True, validate=validate.Length(max=255))


class CreateSmtpSettingsSchema(_SettingsInput):
    pass


class UpdateSmtpSettingsSchema(_SettingsInput):
    password = fields.String(load_only=True, allow_none=True, validate=validate.Length(max=255))


class TestConnectionSchema(_SettingsInput):
    receiverEmail = fields.String(required=True, validate=validate.Length(min=3, max=254))


class ErrorSchema(Schema):
    messageCode = fields.Integer(required=True)
    messageDetails = fields.String(required=True)
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))


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
    """``GET /MyProfile`` (names and types of the swagger's user models)."""

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
    teams = fields.List(fields.String(), required=True)
    authenticationProviderId = fields.Integer(required=True)
