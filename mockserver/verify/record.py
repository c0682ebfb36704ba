"""``cxmock record``: the service's SMTP settings (and the token user's profile) as a seed file that
``cxmock serve --seed FILE`` loads: the user's real configuration as test data.

The service never returns a password (write-only), and this module would not write one: a recorded record keeps
``username`` and ``useDefaultCredentials`` but has no ``password`` (the file's header says so). Members the
document does not know are left out and named in a comment; a record the mock would not load is written commented
out with the reason. The profile is written under ``profile:`` for reference: ``cxmock serve`` reads only
``settings:``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import yaml

from ..core.contract import parse_seed
from ..core.redaction import redact_body
from ..errors import ConfigError
from ..proxy.upstream import UpstreamError
from .target import LoginFailed, Target, reason_of

__all__ = ["RECORD_MEMBERS", "record_seed"]

#: the members of a settings record a seed file takes (``id`` kept, so the ids stay the service's)
RECORD_MEMBERS = (
    "id",
    "host",
    "port",
    "encryptionType",
    "fromAddress",
    "useDefaultCredentials",
    "username",
    "displayName",
)


def _get(service: Target, path: str) -> Any:
    try:
        answer = service.call("GET", path)
    except UpstreamError as exc:
        raise LoginFailed(f"the service stopped answering at GET {path}: {exc.message}") from None
    if answer.status != 200:
        raise LoginFailed(f"GET {path} answered HTTP {answer.status}: {reason_of(answer)}")
    try:
        return json.loads(answer.body)
    except ValueError:
        raise LoginFailed(f"GET {path} answered a body that is not JSON") from None


def record_seed(service: Target) -> tuple[str, int]:
    """Log in, read the settings and the profile; returns the seed file's text and the number of records in it.

    :raises LoginFailed: the service is unreachable or refused the login or a read (the reason is the message).
    """
    try:
        answer, token = service.login()
    except UpstreamError as exc:
        raise LoginFailed(f"cannot log in at {service.client.options.display()}: {exc.message}") from None
    if token is None:
        raise LoginFailed(
            f"the service refused the login of {service.username!r}: HTTP {answer.status}: {reason_of(answer)}"
        )
    service.token = token
    records = _get(service, "/SMTPSettings")
    if not isinstance(records, list):
        raise LoginFailed("GET /SMTPSettings did not answer a JSON array")
    try:
        profile = _get(service, "/MyProfile")
    except LoginFailed as exc:
        profile, profile_note = None, str(exc)
    else:
        profile_note = ""
    kept: list[dict[str, Any]] = []
    notes: list[str] = []
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            notes.append(f"record {index} is not an object; left out")
            continue
        unknown = sorted(k for k in record if k not in RECORD_MEMBERS)
        clean = {k: record[k] for k in RECORD_MEMBERS if k in record}
        clean.pop("password", None)
        if unknown:
            notes.append(
                f"record {record.get('id', index)}: members the document does not know, left out: {', '.join(unknown)}"
            )
        try:
            parse_seed([clean], source="recorded")
        except ConfigError as exc:
            notes.append(f"record {record.get('id', index)} would not load ({exc}); left out: {json.dumps(clean)}")
            continue
        kept.append(clean)
    moment = datetime.now(UTC).isoformat(timespec="seconds")
    header = [
        f"# Recorded by `cxmock record` from {service.client.options.display()} at {moment}",
        f"# (user {service.username!r}).",
        "# Load it with: cxmock serve --seed THIS_FILE",
        "# Passwords are omitted: the service never returns them (write-only), and cxmock record never writes one.",
        "# A record with useDefaultCredentials: false and a username therefore has no password in the mock.",
        *(f"# NOTE: {note}" for note in notes),
    ]
    document: dict[str, Any] = {"settings": kept}
    if profile is not None:
        header.append("# profile: the recording user's profile, for reference (cxmock serve reads only settings:).")
        document["profile"] = _no_secrets(profile)
    elif profile_note:
        header.append(f"# profile not recorded: {profile_note}")
    text = "\n".join(header) + "\n" + yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
    return text, len(kept)


def _no_secrets(value: Any) -> Any:
    return redact_body(value)
