"""The cxmock exception tree.

Imports nothing internal. Callers catch the bases::

    CxMockError
    ├── ApiError                  an error of the mocked API: becomes {"message": "<sentence>"} (ErrorViewModel)
    │   ├── BadRequest            400 (invalid body, bad id, failed SMTP test)
    │   │   └── SmtpTestFailed    400: testconnection's SMTP session failed (stage, reply, transcript)
    │   ├── Unauthorized          401 (+ WWW-Authenticate: Bearer)
    │   ├── Forbidden             403
    │   ├── NotFound              404
    │   ├── NotAcceptable         406 (Accept names only unsupported versions or types)
    │   ├── PayloadTooLarge       413
    │   └── UnsupportedMediaType  415
    ├── OAuthError                400 of the token endpoint: {"error", "error_description"}
    ├── ConfigError               invalid configuration, seed, users or fault file
    ├── ServerError               the mock server failed to start or a background thread died
    └── AssertionHelperError      (an AssertionError too) raised by assert_called / wait_for helpers
"""

from __future__ import annotations

import errno
from typing import Any

__all__ = [
    "ApiError",
    "AssertionHelperError",
    "BadRequest",
    "ConfigError",
    "CxMockError",
    "Forbidden",
    "MessageCode",
    "NotAcceptable",
    "NotFound",
    "OAuthError",
    "PayloadTooLarge",
    "ServerError",
    "SmtpTestFailed",
    "Unauthorized",
    "UnsupportedMediaType",
    "bind_advice",
]


class MessageCode:
    """Stable codes, one per kind of error: kept on the exception and in the journal, never on the wire.

    The Access Control API's error body is the service's ``ErrorViewModel``, ``{"message": "..."}`` only
    (``{"messageCode", "messageDetails"}`` is the SAST REST API's shape, not this one).
    """

    INVALID_BODY = 10001
    INVALID_ID = 10002
    SMTP_TEST_FAILED = 10003
    HOST_NOT_ALLOWED = 10004
    UNAUTHORIZED = 10101
    TOKEN_INVALID = 10102
    FORBIDDEN = 10103
    NOT_FOUND = 10104
    METHOD_NOT_ALLOWED = 10105
    NOT_ACCEPTABLE = 10106
    PAYLOAD_TOO_LARGE = 10107
    UNSUPPORTED_MEDIA_TYPE = 10108
    RATE_LIMITED = 10109
    INJECTED_FAULT = 10110
    MOCK_INTERNAL = 10500


class CxMockError(Exception):
    """Base of every error cxmock raises."""


class ApiError(CxMockError):
    """An error answered by the mocked API with the service's ``ErrorViewModel`` body, ``{"message": details}``.

    :param details: the sentence of ``message``: what happened (naming the field), what was expected.
    :param errors: optional per-field messages, ``{"port": ["must be ..."]}`` (journal and lint only).
    :param extra: further structured facts (journal only), e.g. the SMTP stage and transcript.
    """

    status = 400
    message_code = MessageCode.INVALID_BODY

    def __init_subclass__(cls, *, status: int | None = None, code: int | None = None, **kwargs: Any) -> None:
        """``class NotFound(ApiError, status=404, code=MessageCode.NOT_FOUND)``: the status a subclass answers and
        its message code."""
        super().__init_subclass__(**kwargs)
        if status is not None:
            cls.status = status
        if code is not None:
            cls.message_code = code

    def __init__(
        self,
        details: str,
        *,
        errors: dict[str, list[str]] | None = None,
        message_code: int | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(details)
        self.details = details
        self.errors = errors
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})
        #: contract-lint violations (``core.lint.Violation``) that explain this error, for the journal
        self.violations: list[Any] = []
        if message_code is not None:
            self.message_code = message_code

    def body(self) -> dict[str, Any]:
        """The JSON error body on the wire: ``{"message": details}`` (the service's ``ErrorViewModel``)."""
        return {"message": self.details}

    def facts(self) -> dict[str, Any]:
        """The structured details kept off the wire (for the journal): code, per-field errors, extras."""
        out: dict[str, Any] = {"code": self.message_code}
        if self.errors:
            out["errors"] = self.errors
        out.update(self.extra)
        return out


class BadRequest(ApiError, status=400, code=MessageCode.INVALID_BODY):
    """400: an invalid body, id or value."""


class SmtpTestFailed(BadRequest, code=MessageCode.SMTP_TEST_FAILED):
    """testconnection's SMTP session failed at ``stage``; ``transcript`` holds the redacted session."""

    def __init__(
        self,
        details: str,
        *,
        stage: str,
        reply_code: int | None = None,
        reply_text: str | None = None,
        transcript: list[str] | None = None,
    ) -> None:
        extra: dict[str, Any] = {"stage": stage, "transcript": list(transcript or [])}
        if reply_code is not None:
            extra["replyCode"] = reply_code
        if reply_text is not None:
            extra["replyText"] = reply_text
        super().__init__(details, extra=extra)
        self.stage = stage
        self.reply_code = reply_code
        self.reply_text = reply_text
        self.transcript = list(transcript or [])


class Unauthorized(ApiError, status=401, code=MessageCode.UNAUTHORIZED):
    """401: no valid bearer token (answered with ``WWW-Authenticate: Bearer``)."""


class Forbidden(ApiError, status=403, code=MessageCode.FORBIDDEN):
    """403: the token lacks the permission."""


class NotFound(ApiError, status=404, code=MessageCode.NOT_FOUND):
    """404: no such resource."""


class NotAcceptable(ApiError, status=406, code=MessageCode.NOT_ACCEPTABLE):
    """406: ``Accept`` names only unsupported versions or types."""


class PayloadTooLarge(ApiError, status=413, code=MessageCode.PAYLOAD_TOO_LARGE):
    """413: the body is over the limit."""


class UnsupportedMediaType(ApiError, status=415, code=MessageCode.UNSUPPORTED_MEDIA_TYPE):
    """415: the body is not of a supported ``Content-Type``."""


class OAuthError(CxMockError):
    """A token-endpoint error (RFC 6749 §5.2): ``error`` is one of the OAuth2 codes."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


class ConfigError(CxMockError, ValueError):
    """Invalid configuration, seed, users or fault definition; the message names the file and field."""


class ServerError(CxMockError, RuntimeError):
    """The mock server could not start, or one of its background threads failed."""


class AssertionHelperError(CxMockError, AssertionError):
    """Raised by the assertion helpers (``assert_called``, ``wait_for``...) with an explanatory message."""


def bind_advice(exc: OSError, host: str, port: int, *, host_option: str, port_option: str) -> str:
    """What to do about a failed ``bind((host, port))``, matched to its cause (``exc.errno``)."""
    if exc.errno == errno.EADDRNOTAVAIL:
        return (
            f"{host} is not an address of this machine; bind 127.0.0.1 (this machine only), 0.0.0.0 (every "
            f"interface) or one of this machine's addresses ({host_option})"
        )
    if exc.errno == errno.EADDRINUSE:
        return f"port {port} is already in use on {host}; pick another {port_option}, or 0 for a free one"
    if exc.errno == errno.EACCES:
        return f"port {port} needs privileges on this system; use a port above 1023 ({port_option}), or 0"
    if exc.errno in (errno.EAFNOSUPPORT, errno.EINVAL) or exc.errno is None:
        return f"{host!r} is not a usable listen address ({host_option}): give an IPv4/IPv6 address or host name"
    return f"check {host_option} and {port_option} (0 picks a free port)"
