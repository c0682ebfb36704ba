"""The hand-written OpenAPI document (``openapi/cxmock.yaml``): loaded once, its schemas inlined for validation.

``load_document``/``document_bytes`` (served as-is by the admin API), ``component_schema`` (``$ref`` inlined,
``nullable`` made JSON Schema), ``schema_validator`` (``pattern`` read as ECMA-262 reads it).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from functools import cache
from typing import Any

import jsonschema
import yaml

from ..errors import ConfigError
from .resources import openapi_path

__all__ = ["component_schema", "document_bytes", "ecma_regex", "load_document", "schema_validator", "show"]


@cache
def load_document() -> dict[str, Any]:
    """The OpenAPI document, parsed once. Served as-is (bytes) by the admin API; see :func:`document_bytes`."""
    # the safe loader of libyaml when PyYAML has it: the pure-Python one took ~75 ms of every start-up
    # (docs/benchmarks.md)
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    data = yaml.load(document_bytes(), Loader=loader)  # nosec B506 - a SafeLoader either way
    if not isinstance(data, dict):  # pragma: no cover - the bundled file is a mapping
        raise ConfigError(f"{openapi_path()} is not an OpenAPI document")
    return data


@cache
def document_bytes() -> bytes:
    return openapi_path().read_bytes()


def component_schema(name: str) -> dict[str, Any]:
    """A component schema of the document with every ``$ref`` inlined and ``nullable`` made JSON-Schema."""
    schema: dict[str, Any] = _inline(copy.deepcopy(load_document()["components"]["schemas"][name]))
    return schema


def _inline(node: Any) -> Any:
    if isinstance(node, dict):
        if "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[-1]
            return _inline(copy.deepcopy(load_document()["components"]["schemas"][name]))
        out = {k: _inline(v) for k, v in node.items()}
        if out.pop("nullable", False) and "type" in out:
            out["type"] = [out["type"], "null"]
        return out
    if isinstance(node, list):
        return [_inline(v) for v in node]
    return node


def schema_validator(schema: Mapping[str, Any]) -> jsonschema.protocols.Validator:
    """A validator of an inlined document schema that reads ``pattern`` as JSON Schema (ECMA-262) does."""
    base = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
    cls = jsonschema.validators.extend(base, {"pattern": _ecma_pattern})
    validator: jsonschema.protocols.Validator = cls(schema)
    return validator


def _ecma_pattern(validator: Any, pattern: str, instance: Any, schema: Mapping[str, Any]) -> Any:
    if validator.is_type(instance, "string") and not ecma_regex(pattern).search(instance):
        yield jsonschema.ValidationError(f"{show(instance)} does not match {pattern!r}")


@cache
def ecma_regex(pattern: str) -> re.Pattern[str]:
    """``pattern`` compiled with ECMA-262's ``$``: the end of the string.

    Python's ``$`` also matches before a final newline, so ``re`` would accept ``"a@b.org\\n"`` where every
    JSON Schema validator (and schemathesis, which expects it rejected) does not. The document's patterns spell
    their classes out (no ``\\s``/``\\d``/``\\w``, whose meaning differs between engines).
    """
    out: list[str] = []
    index, in_class = 0, False
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            out.append(pattern[index : index + 2])
            index += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "$":
            char = r"\Z"
        out.append(char)
        index += 1
    return re.compile("".join(out))


def show(value: Any, limit: int = 40) -> str:
    """A short, escaped rendering of client input for error messages (never echoes raw markup or control bytes)."""
    try:
        text = json.dumps(value, ensure_ascii=True)
    except (TypeError, ValueError):
        text = repr(value)
    except RecursionError:  # parse_json refuses such depth; a value from elsewhere gets a placeholder
        text = "(deeply nested value)"
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
