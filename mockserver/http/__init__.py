"""The HTTP adapter: ``create_app(state)`` builds the Flask app over the domain core.

It reaches SMTP only through the ``smtp_test`` callable the runtime injects.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from flask import Flask
from flask_smorest import Api

from ..core.schemas import ErrorSchema
from ..core.state import State
from ..errors import NotFound, SmtpTestFailed

# admin_drift, admin_faults, admin_identity, admin_journal, admin_mail and admin_sandboxes are imported for their
# routes, which hang on admin.blp
from . import (  # noqa: F401
    admin,
    admin_drift,
    admin_faults,
    admin_identity,
    admin_journal,
    admin_mail,
    admin_sandboxes,
    api,
    casing,
    doors,
    errors,
    faults,
    journaling,
    oidc,
    profile,
    token,
    ui,
)
from .record import MailLink

__all__ = ["create_app"]


class _Api(Api):  # type: ignore[misc]
    """flask-smorest with the API's error schema (ErrorViewModel) and no generic "default" response."""

    ERROR_SCHEMA = ErrorSchema
    DEFAULT_ERROR_RESPONSE_NAME = None


def _no_ca() -> bytes:
    raise NotFound("this app runs without an SMTP sink, so there is no CA certificate")


class SmtpTest(Protocol):
    """testconnection's SMTP session for validated ``fields``: returns what links the captured mail to the request's
    journal id (or None), raises ``SmtpTestFailed``; ``on_fault`` is called with ``{ruleId, name, action, stage}``
    for every SMTP fault rule that fired during the session (from the sink's thread: give it something thread-safe)."""

    def __call__(
        self, fields: dict[str, Any], *, on_fault: Callable[[dict[str, Any]], None] | None = None
    ) -> MailLink | None: ...


def _no_smtp(fields: dict[str, Any], *, on_fault: Callable[[dict[str, Any]], None] | None = None) -> MailLink | None:
    raise SmtpTestFailed("no SMTP path is configured in this app (create_app without smtp_test)", stage="connect")


def create_app(
    state: State,
    *,
    smtp_test: SmtpTest | None = None,
    reset: Callable[[], None] | None = None,
    ca_pem: Callable[[], bytes] | None = None,
    ports: Callable[[], dict[str, int]] | None = None,
) -> Flask:
    """The Flask app of one mock server.

    :param state: the domain state (settings, identity, ...).
    :param smtp_test: performs testconnection's SMTP session for validated fields and returns what links the
        captured mail to the request's journal id (or None); raises ``SmtpTestFailed``; reports the SMTP faults it
        fired (:class:`SmtpTest`).
    :param ca_pem: returns the SMTP sink's CA certificate (``GET /_mock/smtp/ca.pem``).
    :param reset: what ``POST /_mock/reset`` does (default: ``state.reset``).
    :param ports: returns the bound ports by listener, reported by ``GET /_mock/health`` (omitted without it).
    """
    app = Flask(__name__)
    # "//SMTPSettings" is an unknown path (404), not a 308 to a URL built from the client's Host header
    app.url_map.merge_slashes = False
    app.config.update(
        API_TITLE="Checkmarx CxSAST Access Control REST API - SMTP Settings (cxmock)",
        API_VERSION="1.0",
        OPENAPI_VERSION="3.0.3",
        API_SPEC_OPTIONS={
            "servers": [{"url": "/"}],
            "components": {
                "securitySchemes": {
                    "bearer": {
                        "type": "oauth2",
                        "flows": {"password": {"tokenUrl": "/cxrestapi/auth/identity/connect/token", "scopes": {}}},
                    }
                }
            },
            "security": [{"bearer": []}],
        },
        JSON_SORT_KEYS=False,
    )
    app.extensions["cxmock.state"] = state
    app.extensions["cxmock.smtp_test"] = smtp_test or _no_smtp
    app.extensions["cxmock.reset"] = reset or state.reset
    app.extensions["cxmock.ca_pem"] = ca_pem or _no_ca
    if ports is not None:
        app.extensions["cxmock.ports"] = ports
    smorest = _Api(app)
    smorest.register_blueprint(api.blp)
    smorest.register_blueprint(token.blp)
    smorest.register_blueprint(profile.blp)
    app.register_blueprint(oidc.blp)
    app.register_blueprint(admin.blp)
    app.register_blueprint(ui.blp)  # the dashboard, /_mock/ui/
    errors.register(app)
    journaling.init_app(app, state, oidc.OPERATIONS)  # first: every request's record, every answer finished
    doors.init_app(app, state)  # then, before any view: the Host, Origin and content-type guards of /_mock
    faults.init_app(app, state)  # after journaling: the journal sees the faulted response
    app.extensions["cxmock.smorest"] = smorest
    casing.init_app(app)  # last: paths under /cxrestapi/auth ignore case, for every route registered above
    return app
