"""The contract: request bodies validated against the document, coercions, unknown members, seeds.

Bodies are validated against the component schemas of the hand-written OpenAPI document (``openapi/cxmock.yaml``),
so the document is literally the source of truth of what is accepted; this module adds what a schema cannot say
(friendly messages, canonical output, coercions reported to the contract-lint, strict mode).

Imitate, don't judge (issue #22, docs/fidelity.md): the document refuses only what the service's swagger refuses;
members bind as ASP.NET binds them (``binding.py``); what the service takes but a reviewer would question is linted.
``--strict`` validates against the document with its ``x-cxmock-strict`` rules merged in (the earlier refusals).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import jsonschema

from ..errors import (
    BadRequest,
    ConfigError,
    MessageCode,
)
from .binding import DOC_RECEIVER as DOC_RECEIVER
from .binding import ENCRYPTION_DEFAULT as ENCRYPTION_DEFAULT
from .binding import RECEIVER as RECEIVER
from .binding import (
    bind_members,
    read_default_credentials,
    read_encryption,
    read_port,
    unknown_member,
    value_findings,
)
from .document import component_schema, show
from .document import document_bytes as document_bytes
from .document import ecma_regex as ecma_regex
from .document import load_document as load_document
from .document import schema_validator as schema_validator
from .jsonbody import MAX_JSON_DEPTH as MAX_JSON_DEPTH
from .jsonbody import parse_json as parse_json
from .lint.lint import Violation, did_you_mean, violation
from .lint.values import address_findings, split_address

__all__ = [
    "API_VERSION",
    "JSON_V1",
    "ParsedBody",
    "load_document",
    "parse_json",
    "parse_profile",
    "parse_seed",
    "parse_settings",
    "parse_test_connection",
    "show",
]

API_VERSION = "1.0"
JSON_V1 = "application/json;v=1.0"

#: JSON names of a settings record -> canonical (store) names
_CANONICAL = {
    "host": "host",
    "port": "port",
    "encryptionType": "encryption_type",
    "fromAddress": "from_address",
    "useDefaultCredentials": "use_default_credentials",
    "username": "username",
    "password": "password",
    "displayName": "display_name",
    "recieverEmail": "receiver",
}


@cache
def _validator(name: str, strict: bool = False) -> jsonschema.protocols.Validator:
    schema = component_schema(name)
    return schema_validator(_with_strict_rules(schema) if strict else schema)


def _with_strict_rules(node: Any) -> Any:
    """``node`` with every ``x-cxmock-strict`` merged in: the stricter rules of ``--strict`` (cxmock's refusals
    before issue #22, kept for teams that want them; the document shows them next to the service's rules)."""
    if isinstance(node, dict):
        out = {k: _with_strict_rules(v) for k, v in node.items() if k != "x-cxmock-strict"}
        out.update(node.get("x-cxmock-strict") or {})
        return out
    if isinstance(node, list):
        return [_with_strict_rules(v) for v in node]
    return node


# -- messages -------------------------------------------------------------------------------------------------


def _describe(error: jsonschema.ValidationError, prop_schema: Mapping[str, Any]) -> str:
    custom = prop_schema.get("x-cxmock-message")
    kind = error.validator
    # a write-only member (the password) is never echoed back, not even when it is malformed
    got = "" if prop_schema.get("writeOnly") else f", got {show(error.instance)}"
    if kind == "anyOf":
        # the branch of the instance's own type says what is wrong with it (a port of 70000: its range)
        fitting = [e for e in error.context or () if e.validator in ("minimum", "maximum")]
        if fitting:
            return _describe(fitting[0], fitting[0].schema)
        return f"{custom}{got}" if custom else f"is invalid{got}"
    if kind == "type":
        expected = error.validator_value
        if isinstance(expected, list):
            expected = " or ".join(t for t in expected if t != "null")
        article = "an" if str(expected)[0] in "aeiou" else "a"
        return f"must be {article} {expected}{got}"
    if kind in ("minimum", "maximum") and "minimum" in prop_schema and "maximum" in prop_schema:
        return f"must be between {prop_schema['minimum']} and {prop_schema['maximum']}{got}"
    if kind == "minimum":
        return f"must be at least {error.validator_value}{got}"
    if kind == "maximum":
        return f"must be at most {error.validator_value}{got}"
    if kind == "maxLength":
        return f"must be at most {error.validator_value} characters long, got {len(error.instance)}"
    if kind == "minLength":
        return (
            "must not be empty"
            if error.validator_value == 1
            else f"must be at least {error.validator_value} characters"
        )
    if custom:
        return f"{custom}{got}"
    if kind == "enum":
        return f"must be one of {', '.join(map(str, error.validator_value))}{got}"
    if prop_schema.get("writeOnly"):
        return "is invalid"
    return f"is invalid: {error.message[:120]}"


@dataclass
class ParsedBody:
    """A validated body: canonical fields (store names) and what the contract-lint noticed."""

    fields: dict[str, Any]
    violations: list[Violation] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)


def _validate(
    schema_name: str,
    raw_body: Any,
    *,
    strict: bool,
    what: str,
    update: bool = False,
    names: Mapping[str, str] | None = None,
) -> ParsedBody:
    if not isinstance(raw_body, dict):
        raise BadRequest(
            f"{what}: the body must be a JSON object, got {type(raw_body).__name__ if raw_body is not None else 'null'}"
        )
    validator = _validator(schema_name, strict)
    # the validator's own (cached, inlined) schema: inlining it again deep-copied the document on every request
    schema: dict[str, Any] = validator.schema
    props: dict[str, Any] = schema.get("properties", {})
    body, binding = bind_members(raw_body, props, strict=strict)
    known = list(props)
    unknown = [k for k in body if k not in props]
    problems: dict[str, list[str]] = {}

    def add(name: str, message: str) -> None:
        problems.setdefault(name, [])
        if message not in problems[name]:
            problems[name].append(message)

    for error in sorted(validator.iter_errors(body), key=lambda e: list(e.path)):
        path = list(error.absolute_path)
        if path:
            name = str(path[0])
            add(name, _describe(error, props.get(name, {})))
        elif error.validator == "required":
            for name in error.validator_value:
                if name not in body:
                    add(name, _missing(name, unknown, known))
        elif error.validator == "type":
            raise BadRequest(f"{what}: the body must be a JSON object")
        else:
            add("body", error.message[:200])
    spelling = _doc_spelling(body, props)
    if spelling is not None and RECEIVER in problems and RECEIVER not in body:
        exc = BadRequest(
            f"{what}: {RECEIVER} is required: the recipient member of the service is spelled {RECEIVER!r} (sic); "
            f"the documentation page's {DOC_RECEIVER!r} is not bound by the service, which would ignore it and "
            f"send no test mail. Rename {DOC_RECEIVER!r} to {RECEIVER!r}.",
            errors={RECEIVER: ["is required"]},
            message_code=MessageCode.INVALID_BODY,
        )
        exc.violations.append(spelling)
        raise exc
    if strict and unknown:
        for name in unknown:
            hint = did_you_mean(name, known)
            add(name[:100], "is not part of the contract (strict mode)" + (f"; did you mean {hint!r}?" if hint else ""))
    if problems:
        # contract members are named as they are; anything the client made up is shown escaped and shortened
        details = "; ".join(
            f"{name if name in props or name == 'body' else 'member ' + show(name)} {msgs[0]}"
            for name, msgs in problems.items()
        )
        exc = BadRequest(f"{what}: {details}", errors=problems, message_code=MessageCode.INVALID_BODY)
        exc.violations.extend(binding)
        raise exc

    parsed = ParsedBody(fields={}, unknown=unknown, violations=binding)
    if spelling is not None:
        parsed.violations.append(spelling)
    for name in unknown:
        if spelling is not None and name.lower() == DOC_RECEIVER.lower():
            continue
        parsed.violations.append(unknown_member(name, body[name], known))
    for json_name, canonical in (_CANONICAL if names is None else names).items():
        if json_name in props and json_name in body:
            parsed.fields[canonical] = body[json_name]
    if "port" in props:
        parsed.fields["port"] = read_port(parsed.fields["port"], parsed.violations)
    if "encryptionType" in props:
        read_encryption(parsed.fields, parsed.violations)
    if "useDefaultCredentials" in props:
        read_default_credentials(parsed.fields, parsed.violations, body, props, update=update)
    parsed.violations.extend(value_findings(parsed.fields))
    return parsed


def _doc_spelling(body: Mapping[str, Any], props: Mapping[str, Any]) -> Violation | None:
    """The ``doc-spelling`` violation when a testconnection body uses the documentation's ``receiverEmail``."""
    if RECEIVER not in props or not any(key.lower() == DOC_RECEIVER.lower() for key in body):
        return None
    if body.get(RECEIVER) is not None:
        return violation(
            "doc-spelling",
            f"{DOC_RECEIVER!r} (the documentation page's spelling) was ignored, as the service ignores it; the "
            f"recipient came from {RECEIVER!r}. Drop {DOC_RECEIVER!r}.",
        )
    return violation(
        "doc-spelling",
        f"{DOC_RECEIVER!r} is the documentation page's spelling; the service binds only {RECEIVER!r} (sic) and "
        "would silently send no test mail. Rename the member to 'recieverEmail'.",
    )


def _missing(name: str, unknown: list[str], known: list[str]) -> str:
    for sent in unknown:
        if did_you_mean(sent, [name]) == name:
            return f"is required; did you mean {name!r} instead of {show(sent)}?"
    return "is required"


def parse_settings(raw: bytes, *, strict: bool = False, update: bool = False) -> ParsedBody:
    """Validate a create (POST) or update (PUT) body; ``fields`` uses store names."""
    schema = "UpdateSmtpSettingsModel" if update else "CreateSmtpSettingsModel"
    return _validate(schema, parse_json(raw), strict=strict, what="invalid SMTP settings", update=update)


def parse_test_connection(raw: bytes, *, strict: bool = False) -> ParsedBody:
    """Validate a testconnection body; ``fields`` has the settings plus ``receiver`` (from ``recieverEmail``)."""
    parsed = _validate("TestConnectionModel", parse_json(raw), strict=strict, what="invalid testconnection request")
    # the SMTP session speaks addr-specs: "Name <addr>" is the address addr with the display name Name (the
    # displayName member, when set, wins: .NET's MailAddress(address, displayName))
    for canonical in ("from_address", "receiver"):
        parts = split_address(parsed.fields[canonical])
        if parts is not None:  # always, after validation (TestMailAddress); None only for a strict-mode oddity
            name, parsed.fields[canonical] = parts
            if canonical == "from_address" and name and not parsed.fields.get("display_name"):
                parsed.fields["display_name"] = name
    return parsed


#: the members of ``UpdateUserProfileModel`` (the profile keeps the swagger's JSON names)
PROFILE_MEMBERS = (
    "firstName",
    "lastName",
    "email",
    "phoneNumber",
    "cellPhoneNumber",
    "jobTitle",
    "other",
    "country",
    "localeId",
)


def parse_profile(raw: bytes, *, strict: bool = False) -> ParsedBody:
    """Validate a ``PUT /MyProfile`` body (the swagger's ``UpdateUserProfileModel``); ``fields`` has its JSON names.

    An absent optional string is stored as null (the C# default of the service's model); an absent ``localeId``
    keeps the stored one (inference: the C# default 0 is no locale).
    """
    parsed = _validate(
        "UpdateUserProfileModel",
        parse_json(raw),
        strict=strict,
        what="invalid profile",
        names={name: name for name in PROFILE_MEMBERS},
    )
    for name in PROFILE_MEMBERS[3:-1]:
        parsed.fields.setdefault(name, None)
    if "localeId" in parsed.fields:
        parsed.fields["localeId"] = int(parsed.fields["localeId"])
    email = parsed.fields["email"]
    if email:
        parsed.violations.extend(address_findings("email", email))
    return parsed


_SEED_MEMBERS = ["id", *(n for n in _CANONICAL if n != RECEIVER)]


def parse_seed(records: Any, *, source: str = "seed") -> list[dict[str, Any]]:
    """Validate seed records (a list of settings in the API's JSON shape, ``id`` optional)."""
    if isinstance(records, dict) and "settings" in records:
        records = records["settings"]
    if records is None:
        return []
    if not isinstance(records, list):
        raise ConfigError(f"{source}: a seed is a list of SMTP settings records, got {type(records).__name__}")
    out = []
    seen: dict[int, int] = {}  # id -> index of the record that has it
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            raise ConfigError(f"{source}: record {index} must be a mapping, got {type(record).__name__}")
        body = {k: v for k, v in record.items() if k != "id"}
        try:
            parsed = _validate("CreateSmtpSettingsModel", body, strict=False, what=f"{source}: record {index}")
        except BadRequest as exc:
            raise ConfigError(exc.details) from None
        if parsed.unknown:  # a seed is configuration: a member it does not know is a typo to report
            names = ", ".join(show(name) for name in parsed.unknown)
            hints = [h for h in (did_you_mean(name, _SEED_MEMBERS) for name in parsed.unknown) if h]
            raise ConfigError(
                f"{source}: record {index}: unknown member(s) {names}"
                + (f"; did you mean {', '.join(map(repr, hints))}?" if hints else "")
            )
        if "id" in record:
            rid = record["id"]
            if not isinstance(rid, int) or isinstance(rid, bool) or not 1 <= rid <= 2_147_483_647:
                raise ConfigError(
                    f"{source}: record {index}: id must be an Int32 between 1 and 2147483647, got {show(rid)}"
                )
            if rid == 2_147_483_647:  # created records get ids above every seeded one: none would be left
                raise ConfigError(
                    f"{source}: record {index}: id 2147483647 is the last Int32, and records created later get ids "
                    "above every seeded id, so every create would fail; seed ids up to 2147483646"
                )
            if rid in seen:
                raise ConfigError(
                    f"{source}: record {index}: id {rid} is also the id of record {seen[rid]}; ids in a seed must be "
                    "unique (or leave id out: the record gets the next free one)"
                )
            seen[rid] = index
            parsed.fields["id"] = record["id"]
        out.append(parsed.fields)
    return out
