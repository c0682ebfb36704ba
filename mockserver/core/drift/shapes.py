"""The shape of an HTTP answer (status, the headers that matter, the JSON body's members and types, never a
value) and where two answers differ: ``cxmock verify`` compares the service with the mock operation by operation,
``cxmock proxy --shadow`` every proxied request.

Values are never compared nor shown (records, messages and tokens differ between two servers by nature, and a value
could be a secret): only statuses, member names and JSON types. ``null`` agrees with any type, because a nullable
member (``username``, ``displayName``) is null on one server and a string on the other.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Answer", "HEADERS_THAT_MATTER", "compare", "describe", "shape"]

#: headers compared by presence when the status is the same (their values name resources or differ by design)
HEADERS_THAT_MATTER = ("location", "www-authenticate", "allow", "retry-after")
#: at most this many differences are listed per comparison
MAX_DIFFERENCES = 8


@dataclass(frozen=True)
class Answer:
    """One answer: status, headers by lower-case name, body bytes."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    @classmethod
    def of(cls, status: int, headers: Any, body: bytes) -> Answer:
        """From headers as a mapping or ``(name, value)`` pairs (the first of a repeated name is kept)."""
        pairs = headers.items() if isinstance(headers, Mapping) else headers
        lowered: dict[str, str] = {}
        for name, value in pairs:
            lowered.setdefault(str(name).lower(), str(value))
        return cls(status, lowered, body)

    @property
    def media_type(self) -> str | None:
        value = self.headers.get("content-type")
        if not value:
            return None
        return ";".join(
            p.strip().lower() for p in value.split(";") if p.strip() and not p.strip().startswith("charset")
        )


def _type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def shape(body: bytes) -> Any:
    """The body's shape: ``None`` for an empty body, ``"not JSON"`` for bytes that are not, else a structure of
    type names: ``{"member": "integer", ...}`` for an object, ``[element shape]`` for an array (the union of its
    elements' members), a type name for a scalar."""
    if not body.strip():
        return None
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):
        return "not JSON"
    return _shape_of(value, 0)


def _shape_of(value: Any, depth: int) -> Any:
    if depth > 8:
        return _type(value)
    if isinstance(value, dict):
        return {str(k): _shape_of(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        if not value:
            return []
        merged: Any = None
        for item in value[:100]:
            merged = _merge(merged, _shape_of(item, depth + 1))
        return [merged]
    return _type(value)


def _merge(a: Any, b: Any) -> Any:
    if a is None or a == "null":
        return b
    if b == "null":
        return a
    if isinstance(a, dict) and isinstance(b, dict):
        out = dict(a)
        for key, value in b.items():
            out[key] = _merge(out.get(key), value)
        return out
    return a


def describe(answer: Answer) -> str:
    """``200 array<object{id:integer, host:string, ...}>``: the answer in one line (status and shape)."""
    return f"{answer.status} {_text(shape(answer.body))}"


def _text(node: Any) -> str:
    if node is None:
        return "empty"
    if isinstance(node, dict):
        return "object{" + ", ".join(f"{k}:{_text(v)}" for k, v in node.items()) + "}"
    if isinstance(node, list):
        return "array<" + (_text(node[0]) if node else "") + ">"
    return str(node)


def compare(service: Answer, mock: Answer) -> list[str]:
    """Where the mock's answer differs from the service's, one sentence each (empty: they agree)."""
    if service.status != mock.status:
        return [f"status: the service answered {service.status}, the mock {mock.status}"]
    found: list[str] = []
    for header in HEADERS_THAT_MATTER:
        has_service, has_mock = header in service.headers, header in mock.headers
        if has_service != has_mock:
            who = "sent by the service, not by the mock" if has_service else "sent by the mock, not by the service"
            found.append(f"header {_title(header)}: {who}")
    service_shape, mock_shape = shape(service.body), shape(mock.body)
    if service_shape is not None and mock_shape is not None and service.media_type != mock.media_type:
        found.append(f"Content-Type: the service sent {service.media_type!r}, the mock {mock.media_type!r}")
    _diff("body", service_shape, mock_shape, found)
    return found[:MAX_DIFFERENCES]


def _title(header: str) -> str:
    return "-".join(part.capitalize() for part in header.split("-")).replace("Www", "WWW")


def _diff(where: str, service: Any, mock: Any, found: list[str]) -> None:
    if service == mock or service == "null" or mock == "null":
        return
    if isinstance(service, dict) and isinstance(mock, dict):
        only_service = [k for k in service if k not in mock]
        only_mock = [k for k in mock if k not in service]
        if only_service:
            found.append(f"{where}: members only the service sends: {', '.join(only_service)}")
        if only_mock:
            found.append(f"{where}: members only the mock sends: {', '.join(only_mock)}")
        for key in service:
            if key in mock:
                _diff(f"{where}.{key}", service[key], mock[key], found)
        return
    if isinstance(service, list) and isinstance(mock, list):
        if service and mock:
            _diff(f"{where}[]", service[0], mock[0], found)
        return
    found.append(f"{where}: the service sent {_text(service)}, the mock {_text(mock)}")
