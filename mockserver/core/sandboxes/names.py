"""What a sandbox name may be, and how mail addresses a sandbox without any client change beyond SMTP settings.

A name is ``[a-z0-9][a-z0-9._-]{0,63}``: safe in a URL path segment, a file name, a log line and an e-mail local
part, never ``.`` or ``..``. Mail sent straight to the sink (not through testconnection) names its sandbox by

- the AUTH user ``<sandbox>/<user>`` (the sandbox part is removed: the message's ``auth_user`` is ``<user>``), or
- a recipient sub-address ``<user>+sandbox-<sandbox>@<domain>``.

Pure functions, no state.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable

from ...errors import BadRequest

__all__ = [
    "NAME_PATTERN",
    "check_name",
    "generated_name",
    "is_valid_name",
    "sandbox_of_recipients",
    "split_login",
]

NAME_PATTERN = r"[a-z0-9][a-z0-9._-]{0,63}"
_NAME = re.compile(NAME_PATTERN)
_SUBADDRESS = re.compile(r"\+sandbox-(" + NAME_PATTERN + r")@", re.IGNORECASE)


def is_valid_name(name: str) -> bool:
    """Whether ``name`` is a valid sandbox name (``[a-z0-9][a-z0-9._-]{0,63}``)."""
    return _NAME.fullmatch(name) is not None


def generated_name() -> str:
    """A fresh, unique sandbox name (``sb-`` and 12 hex digits): what creating a sandbox without a name gives."""
    return "sb-" + secrets.token_hex(6)


def check_name(name: str) -> str:
    """``name`` if valid; else :class:`BadRequest` saying what a name may be (the bad name quoted, shortened)."""
    if is_valid_name(name):
        return name
    shown = name[:70].encode("ascii", "backslashreplace").decode("ascii").replace("'", "\\'")
    what = "an empty name" if not name else f"'{shown}'" + (f" ({len(name)} characters)" if len(name) > 64 else "")
    raise BadRequest(
        f"invalid sandbox name: {what}; a name is 1 to 64 characters of a-z, 0-9, '.', '_' and '-', starting with "
        "a letter or digit (e.g. ci-1234 or pytest-gw0)"
    )


def split_login(login: str | None) -> tuple[str | None, str | None]:
    """``("ci-7", "mailer")`` for the SMTP AUTH user ``ci-7/mailer``; ``(None, login)`` when it names no sandbox."""
    if login is None:
        return None, None
    sandbox, sep, user = login.partition("/")
    if sep and is_valid_name(sandbox):
        return sandbox, user
    return None, login


def sandbox_of_recipients(recipients: Iterable[str]) -> str | None:
    """The sandbox named by the first recipient with a ``+sandbox-<name>@`` sub-address, else ``None``."""
    for recipient in recipients:
        found = _SUBADDRESS.search(recipient)
        if found is not None:
            return found.group(1).lower()
    return None
