"""The sink's AUTH policy: ``any`` credentials, or only the configured ``user:password`` pairs."""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from ..core.sandboxes.names import split_login
from . import activity
from .routing import log_context

__all__ = ["Authenticator"]


class Authenticator:
    """The sink's aiosmtpd ``authenticator``: ``"any"`` accepts any AUTH credentials; ``"fixed"`` only the
    ``"user:password"`` entries of ``credentials``."""

    def __init__(self, mode: str, credentials: Sequence[str] = ()) -> None:
        if mode not in ("any", "fixed"):
            raise ValueError(f"auth_mode must be 'any' or 'fixed', got {mode!r}")
        self.mode = mode
        self._credentials: list[tuple[bytes, bytes]] = []
        for entry in credentials:
            user, sep, password = entry.partition(":")
            if not sep:
                raise ValueError("credentials entries must be 'user:password' (an entry has no ':')")
            self._credentials.append((user.encode(), password.encode()))

    def __call__(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        ok = self.mode == "any"
        if not ok:
            # "<sandbox>/<user>" addresses a sandbox (see core/sandboxes/names.py): the credentials are <user>'s
            sandbox, plain = split_login(auth_data.login.decode("utf-8", "replace"))
            logins = [auth_data.login] + ([plain.encode()] if sandbox is not None and plain is not None else [])
            for user, password in self._credentials:  # compare every pair: no early exit to time
                for candidate in logins:
                    ok |= hmac.compare_digest(user, candidate) & hmac.compare_digest(password, auth_data.password)
        who = activity.who(server)
        login = auth_data.login.decode("utf-8", "replace").encode("ascii", "backslashreplace").decode()[:100]
        # the user name only: a password never reaches a log line
        outcome = "accepted" if ok else "rejected (--smtp-auth fixed: not one of --smtp-credentials)"
        activity.log.info(
            "SMTP session %s: AUTH %s as %r %s", who, mechanism, login, outcome, extra=log_context(server)
        )
        if self.mode == "any":
            return AuthResult(success=True, auth_data=auth_data)
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)
