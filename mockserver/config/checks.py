"""Configurations that would start, but unsafely or uselessly, refused at start with the fix (issue #25): an empty
admin token (the admin API unlocked by what looks like a lock), ``--smtp-auth fixed`` without credentials (every
AUTH refused). Part of every configuration's validation (``convert.check``, and ``Config.load`` before an empty
string becomes "not given")."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["EMPTY_ADMIN_TOKEN", "FIXED_WITHOUT_CREDENTIALS", "unsafe_start"]

EMPTY_ADMIN_TOKEN = (
    "admin_token is empty, which would leave the admin API unlocked: give a token (e.g. "
    '--admin-token "$(openssl rand -hex 16)"), or leave --admin-token out and unset CXMOCK_ADMIN_TOKEN to run '
    "without one"
)
FIXED_WITHOUT_CREDENTIALS = (
    "smtp_auth 'fixed' accepts only the --smtp-credentials pairs and none are given, so every AUTH would be "
    "refused: add --smtp-credentials user:password (repeatable), or use --smtp-auth any"
)


def unsafe_start(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(option, what is wrong and the fix) for each such problem of ``config`` (every option's value by name)."""
    problems = []
    token = config.get("admin_token")
    if token is not None and not str(token).strip():
        problems.append(("admin_token", EMPTY_ADMIN_TOKEN))
    if config.get("smtp_auth") == "fixed" and not config.get("smtp_credentials"):
        problems.append(("smtp_auth", FIXED_WITHOUT_CREDENTIALS))
    return problems
