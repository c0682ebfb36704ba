"""How the service's ASP.NET (Json.NET, docs/fidelity.md) binds a JSON body, and what the contract-lint says of it.

Member names bind in any case (``bind_members``); an Int32 may come as its digits (``read_port``), a boolean as a
string or a number (``read_default_credentials``); the values the service stores but a later step may fail on are
linted (``value_findings``, see ``lint/values.py``). Pure functions over an already validated body: the schema of
``openapi/cxmock.yaml`` decides what is refused (``contract.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .document import show
from .lint.lint import Violation, did_you_mean, violation
from .lint.values import address_findings, host_findings, unsendable_findings

__all__ = [
    "DOC_RECEIVER",
    "ENCRYPTION_DEFAULT",
    "RECEIVER",
    "bind_members",
    "read_default_credentials",
    "read_encryption",
    "read_port",
    "unknown_member",
    "value_findings",
]

#: the testconnection recipient: the service binds ``recieverEmail`` (sic); the documentation page spells
#: ``receiverEmail``, which the service ignores (PRODUCT.md §1, docs/fidelity.md)
RECEIVER = "recieverEmail"
DOC_RECEIVER = "receiverEmail"
_ENCRYPTION = {"none": "None", "ssl": "Ssl", "tls": "Tls"}
#: what an absent or null encryptionType means
ENCRYPTION_DEFAULT = "None"


def bind_members(
    body: Mapping[str, Any], props: Mapping[str, Any], *, strict: bool
) -> tuple[dict[str, Any], list[Violation]]:
    """The members of ``body`` under the names of ``props``, as ASP.NET's Json.NET binds them.

    A member binds to the property of its exact name, else to the one whose name differs only in case (Json.NET:
    ``OrdinalIgnoreCase``); every occurrence sets the property, so the last one wins. Anything else is kept under
    its own name (an unknown member). ``strict`` binds exact names only (a member in another case is unknown).
    """
    folded = {name.lower(): name for name in props}
    bound: dict[str, Any] = {}
    notes: list[Violation] = []
    for key, value in body.items():
        name = key if key in props or strict else folded.get(key.lower(), key)
        if name != key:
            notes.append(
                violation(
                    "member-case",
                    f"member {show(key)} was bound to {name!r}, as the service binds member names in any case; "
                    f"send {name!r}",
                )
            )
        if name in bound and name in props:
            notes.append(
                violation(
                    "member-duplicate",
                    f"{name!r} was sent more than once (in any case): the service keeps the last value, so did "
                    "cxmock; send it once",
                )
            )
        bound[name] = value
    return bound, notes


def unknown_member(name: str, value: Any, known: list[str]) -> Violation:
    hint = did_you_mean(name, known)
    message = f"unknown member {show(name)} was ignored, as the service ignores it"
    if hint is not None and value is not None:
        return violation("unknown-member-near-miss", f"{message}; did you mean {hint!r}? Its value is lost")
    return violation("unknown-member", message + (f"; did you mean {hint!r}?" if hint else ""))


def read_port(value: Any, violations: list[Violation]) -> int:
    """The port as the service's Json.NET reads an Int32: a number, or its digits in a string."""
    if isinstance(value, str):
        port = int(value.strip(_NET_WHITE_SPACE))
        violations.append(
            violation("coerced-number", f"port {show(value)} (a string) was read as {port}, as Json.NET reads it")
        )
        return port
    if isinstance(value, float):
        # inference (docs/fidelity.md): Json.NET refuses "25.0" for an Int32; cxmock accepted it before #22
        violations.append(
            violation(
                "integer-as-float",
                f"port {show(value)} was read as {int(value)}; the service's JSON reader (Json.NET) refuses a "
                f"number with a fraction part for an Int32 and answers 400: send {int(value)}",
            )
        )
    return int(value)


#: the white space .NET's ``int.Parse`` skips around digits (NumberStyles.Integer)
_NET_WHITE_SPACE = "\t\n\v\f\r "


def read_encryption(fields: dict[str, Any], violations: list[Violation]) -> None:
    """``encryption_type`` in canonical case (absent or null: ``ENCRYPTION_DEFAULT``)."""
    enc = fields.get("encryption_type")
    # absent or null: None (inference: the default of the service's C# enum; one place to change, ENCRYPTION_DEFAULT)
    fields["encryption_type"] = ENCRYPTION_DEFAULT if enc is None else _ENCRYPTION[enc.lower()]
    if enc is not None and fields["encryption_type"] != enc:
        violations.append(
            violation("coerced-enum-case", f"encryptionType {show(enc)} was read as {fields['encryption_type']!r}")
        )


def read_default_credentials(
    fields: dict[str, Any],
    violations: list[Violation],
    body: Mapping[str, Any],
    props: Mapping[str, Any],
    *,
    update: bool,
) -> None:
    """``useDefaultCredentials`` as Json.NET reads a boolean; ``credentials-missing`` when no AUTH is possible."""
    flag = fields.get("use_default_credentials", False)
    if isinstance(flag, str):
        violations.append(
            violation("coerced-boolean", f"useDefaultCredentials {show(flag)} (a string) was read as a boolean")
        )
        flag = flag.lower() == "true"
    elif not isinstance(flag, bool):  # a number: Json.NET's Convert.ToBoolean, 0 is false
        violations.append(
            violation(
                "coerced-boolean",
                f"useDefaultCredentials {show(flag)} (a number) was read as {str(flag != 0).lower()}, as Json.NET "
                "reads it",
            )
        )
        flag = flag != 0
    fields["use_default_credentials"] = flag
    fields.setdefault("username", None)
    fields.setdefault("display_name", None)
    if not flag:
        lacking = [n for n in ("username", "password") if n in props and not body.get(n)]
        if lacking and not (update and lacking == ["password"]):
            violations.append(
                violation(
                    "credentials-missing",
                    f"useDefaultCredentials is false and {' and '.join(lacking)} "
                    f"{'is' if len(lacking) == 1 else 'are'} missing: stored as sent, but an SMTP server that "
                    "requires AUTH will refuse it (send username and password, or useDefaultCredentials: true)",
                )
            )


def value_findings(fields: Mapping[str, Any]) -> list[Violation]:
    """The contract-lint of values the service stores but a later step may fail on (``lint/values.py``)."""
    out: list[Violation] = []
    if isinstance(fields.get("host"), str):
        out += host_findings(fields["host"])
    if isinstance(fields.get("from_address"), str):
        out += address_findings("fromAddress", fields["from_address"])
    if isinstance(fields.get("receiver"), str):
        out += address_findings(RECEIVER, fields["receiver"])
    for member, canonical, line_breaks, where in (
        ("username", "username", True, "cxmock's SMTP AUTH"),
        ("password", "password", False, "an SMTP AUTH PLAIN exchange"),
        ("displayName", "display_name", True, "a mail header"),
    ):
        value = fields.get(canonical)
        if isinstance(value, str):
            out += unsendable_findings(member, value, line_breaks=line_breaks, where=where)
    return out
