"""Response self-check: does a response of the API say what the OpenAPI document promises?

``cxmock serve --validate-responses`` (``Config.validate_responses``) runs :func:`check_response` on every API
response before it is sent; a mismatch is a bug in cxmock (the document is the contract integrators code against),
so the HTTP layer logs it and journals it as a ``response-mismatch`` violation. Responses shaped by an injected
fault are not checked: being wrong is their purpose.

What is checked, for the operation the document declares for the request's method and path:

- the status code is declared (exactly, as ``4XX``-style range, or as ``default``);
- a declared body comes with a declared ``Content-Type`` (media type and its parameters, e.g. ``v=1.0``) and
  validates against that media type's schema (``nullable`` honoured, ``writeOnly`` members must be absent);
  a response declared without content has an empty body;
- every header the response declares ``required`` is present, and matches its schema.

Pure functions over the document (no flask, no IO); requests the document does not describe (unknown paths,
undeclared methods such as ``HEAD`` or ``OPTIONS``) are not checked.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import jsonschema

from .contract import load_document, schema_validator

__all__ = ["DocumentOperation", "check_response", "find_operation"]

#: at most this many schema errors are reported per response
MAX_SCHEMA_ERRORS = 3

_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


@dataclass(frozen=True)
class DocumentOperation:
    """One operation of the document: its method, full path template and declared responses."""

    method: str
    template: str
    operation_id: str | None
    responses: Mapping[str, Any]
    regex: re.Pattern[str]


@cache
def _operations() -> tuple[DocumentOperation, ...]:
    document = load_document()
    servers = document.get("servers") or [{}]
    prefix = str(servers[0].get("url", "")).rstrip("/")
    literal: list[DocumentOperation] = []
    templated: list[DocumentOperation] = []
    for path, item in (document.get("paths") or {}).items():
        full = prefix + path
        parts = re.split(r"(\{[^}/]+\})", full)
        regex = re.compile("".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts if p) + r"\Z")
        for method in _METHODS:
            operation = item.get(method)
            if not isinstance(operation, dict):
                continue
            op = DocumentOperation(
                method=method.upper(),
                template=full,
                operation_id=operation.get("operationId"),
                responses=_resolve(operation.get("responses") or {}),
                regex=regex,
            )
            (templated if "{" in full else literal).append(op)
    # OpenAPI: a concrete path wins over a templated one (/SMTPSettings/testconnection over /SMTPSettings/{id})
    return tuple(literal + templated)


def find_operation(method: str, path: str) -> DocumentOperation | None:
    """The document's operation for ``method`` on the request ``path`` (server prefix included), if any."""
    for candidate in _operations():
        if candidate.regex.match(path):
            # the first path that matches decides, as a router would; its other methods are not operations here
            return next(
                (op for op in _operations() if op.template == candidate.template and op.method == method.upper()),
                None,
            )
    return None


def check_response(method: str, path: str, status: int, headers: Mapping[str, str], body: bytes | None) -> list[str]:
    """What is wrong with a response to ``method path``, as sentences (empty when it agrees with the document).

    :param headers: the response headers; names are compared case-insensitively.
    :param body: the body bytes (``None`` when they cannot be known, e.g. a streamed body: then it is not checked).
    """
    operation = find_operation(method, path)
    if operation is None:
        return []
    name = operation.operation_id or f"{operation.method} {operation.template}"
    response = _declared(operation.responses, status)
    if response is None:
        documented = ", ".join(sorted(operation.responses))
        return [f"{name} answered status {status}, which the document does not declare (declared: {documented})"]
    where = f"{name} {status}"
    lowered = {key.lower(): value for key, value in headers.items()}
    problems = _check_headers(where, response, lowered)
    content: Mapping[str, Any] = response.get("content") or {}
    if body is None:
        return problems
    if not content:
        if body:
            problems.append(f"{where}: the document declares no body, but {len(body)} bytes were sent")
        return problems
    content_type = lowered.get("content-type")
    if not content_type:
        problems.append(f"{where}: no Content-Type; the document declares {', '.join(content)}")
        return problems
    media = _match_media(content_type, content)
    if media is None:
        problems.append(f"{where}: Content-Type {content_type!r} is not declared; expected {', '.join(content)}")
        return problems
    schema = (content[media] or {}).get("schema")
    if schema is None:
        return problems
    try:
        instance = json.loads(body.decode("utf-8")) if body else None
    except (UnicodeDecodeError, ValueError) as exc:
        problems.append(f"{where}: the body is not valid JSON ({str(exc)[:80]})")
        return problems
    if not body:
        problems.append(f"{where}: the body is empty; the document declares a {media} body")
        return problems
    validator = _validator(operation.method, operation.template, str(_status_key(operation.responses, status)), media)
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    for error in errors[:MAX_SCHEMA_ERRORS]:
        location = "/" + "/".join(str(p) for p in error.absolute_path)
        if error.schema is False:  # a write-only member: never echo its value (it may be a password)
            problems.append(f"{where}: body at {location}: a write-only member must never be in a response")
        else:
            problems.append(f"{where}: body at {location}: {_message(error)}")
    if len(errors) > MAX_SCHEMA_ERRORS:
        problems.append(f"{where}: and {len(errors) - MAX_SCHEMA_ERRORS} more schema errors in the body")
    return problems


# -- internals ------------------------------------------------------------------------------------------------


def _message(error: jsonschema.ValidationError) -> str:
    if error.validator == "type":
        return f"must be of type {error.validator_value}, got {_json_type(error.instance)}"
    message = str(error.message)
    if len(message) <= 160:
        return message
    return f"does not satisfy {error.validator} {json.dumps(error.validator_value, default=str)[:80]}"


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object" if isinstance(value, dict) else type(value).__name__


def _status_key(responses: Mapping[str, Any], status: int) -> str | None:
    exact = str(status)
    if exact in responses:
        return exact
    ranged = f"{exact[0]}XX"
    for key in responses:
        if str(key).upper() == ranged:
            return str(key)
    return "default" if "default" in responses else None


def _declared(responses: Mapping[str, Any], status: int) -> Mapping[str, Any] | None:
    key = _status_key(responses, status)
    if key is None:
        return None
    declared: Mapping[str, Any] = responses[key]
    return declared


def _check_headers(where: str, response: Mapping[str, Any], headers: Mapping[str, str]) -> list[str]:
    problems = []
    for header, spec in (response.get("headers") or {}).items():
        value = headers.get(header.lower())
        if value is None:
            if spec.get("required"):
                problems.append(f"{where}: the required header {header} is missing")
            continue
        schema = spec.get("schema")
        if schema is not None and not schema_validator(schema).is_valid(_header_value(value, schema)):
            problems.append(f"{where}: header {header} {value[:80]!r} does not match its schema")
    return problems


def _header_value(value: str, schema: Mapping[str, Any]) -> Any:
    kind = schema.get("type")
    try:
        if kind == "integer":
            return int(value)
        if kind == "number":
            return float(value)
    except ValueError:
        return value
    return value


def _media_type(value: str) -> tuple[str, dict[str, str]]:
    pieces = [p.strip() for p in value.split(";")]
    params = {}
    for piece in pieces[1:]:
        key, sep, val = piece.partition("=")
        if sep:
            params[key.strip().lower()] = val.strip().strip('"')
    return pieces[0].lower(), params


def _match_media(content_type: str, content: Mapping[str, Any]) -> str | None:
    """The declared media type ``content_type`` is (same type, every declared parameter with the same value)."""
    actual, actual_params = _media_type(content_type)
    for declared in content:
        media, params = _media_type(declared)
        if media == actual and all(actual_params.get(k) == v for k, v in params.items()):
            return declared
    return None


@cache
def _validator(method: str, template: str, status_key: str, media: str) -> jsonschema.protocols.Validator:
    operation = next(op for op in _operations() if op.method == method and op.template == template)
    schema = operation.responses[status_key]["content"][media]["schema"]
    return schema_validator(_for_response(schema))


def _for_response(node: Any) -> Any:
    """A resolved schema as a response must satisfy it: ``nullable`` as a type, ``writeOnly`` members absent."""
    if isinstance(node, list):
        return [_for_response(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {key: _for_response(value) for key, value in node.items()}
    if out.pop("nullable", False) and "type" in out:
        out["type"] = [out["type"], "null"]
    props = node.get("properties")
    if isinstance(props, dict):
        # a write-only member must never be in a response: ``false`` forbids the member
        out["properties"] = {
            name: False if isinstance(sub, dict) and sub.get("writeOnly") else _for_response(sub)
            for name, sub in props.items()
        }
        hidden = {name for name, sub in props.items() if isinstance(sub, dict) and sub.get("writeOnly")}
        if hidden and "required" in out:
            out["required"] = [name for name in out["required"] if name not in hidden]
    return out


def _resolve(node: Any, seen: tuple[str, ...] = ()) -> Any:
    """``node`` with every local ``$ref`` of the document replaced by a copy of its target."""
    if isinstance(node, list):
        return [_resolve(v, seen) for v in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        if ref in seen:  # pragma: no cover - the document has no recursive schemas
            raise ValueError(f"recursive $ref {ref} in the OpenAPI document")
        target: Any = load_document()
        for part in ref[2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        return _resolve(copy.deepcopy(target), (*seen, ref))
    return {key: _resolve(value, seen) for key, value in node.items()}
