"""The JSON names of the records cxmock answers with: the Python field ``operation_id`` is ``operationId`` on the wire
(camelCase, as the vendor's JSON and the admin API name their members)."""

from __future__ import annotations

from typing import Any

__all__ = ["camel", "camel_fields"]


def camel(name: str) -> str:
    """``duration_ms`` → ``durationMs``."""
    first, *rest = name.split("_")
    return first + "".join(word[:1].upper() + word[1:] for word in rest)


def camel_fields(record: object, *names: str) -> dict[str, Any]:
    """``{camel(name): record.name}`` for ``names``, in that order (the order the JSON answer shows)."""
    return {camel(name): getattr(record, name) for name in names}
