"""The one conversion every option value goes through, whatever its source, and the check of the result.

``convert`` turns a value (a CLI flag's, a ``CXMOCK_*`` string, a YAML value, a Python keyword argument, a
``@pytest.mark.cxmock`` argument) into the field's type: ``"false"`` into ``False``, ``"10.0.0.0/8, ::1"`` into
``("10.0.0.0/8", "::1")``, refusing what does not fit with a message naming the option, where the value came from
and the default. ``check`` then lists what breaks the choices and bounds declared on the fields (``spec.py``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import Field
from typing import Any

from ..errors import ConfigError
from .checks import unsafe_start
from .spec import spec_of, suite_default

__all__ = ["check", "convert", "kind_of"]

#: what a value of each kind of option looks like, for error messages
_EXPECTED = {
    "bool": "a boolean (true/false, yes/no, on/off, 1/0)",
    "int": "an integer",
    "float": "a number",
    "str": "a string",
    "str | None": "a string (a file path)",
    "tuple[str, ...]": "a list of strings: a YAML list, or one comma-separated string",
}
_IN_EFFECT: Any = object()  # convert()'s default: the option's default in effect
#: the Python type a value of each kind of option already has when it needs no conversion
_EXACT: dict[str, type] = {"bool": bool, "int": int, "float": float, "str": str, "str | None": str}
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off", "")


def kind_of(f: Field[Any]) -> str:
    """The field's type as written (``"int"``, ``"str | None"``, ``"tuple[str, ...]"``...)."""
    return f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return f"{type(value).__name__} {value!r}"


def convert(f: Field[Any], value: Any, where: str, default: Any = _IN_EFFECT) -> Any:
    """``value`` as field ``f``'s type; :class:`ConfigError` naming ``where`` (its source) and ``default`` (by
    default the one in effect) when it cannot be."""
    kind = kind_of(f)
    if type(value) is _EXACT.get(kind) and not (kind == "str | None" and value == ""):
        return value  # already the field's type (every default, and most values): nothing to convert
    if kind.startswith("tuple") and type(value) is tuple and all(type(v) is str for v in value):
        return value
    expected = _EXPECTED.get(kind, kind)
    spec = spec_of(f)
    example = f"; e.g. {spec.example}" if spec.example else ""
    if default is _IN_EFFECT:
        default = suite_default(f.name, spec.default)
    tuple_kind = kind.startswith("tuple")
    if (
        isinstance(value, dict)
        or (isinstance(value, list | tuple) and not tuple_kind)
        or (tuple_kind and isinstance(value, list | tuple) and any(isinstance(v, dict | list | tuple) for v in value))
    ):
        raise ConfigError(
            f"{where}: option {f.name} expects {expected}, got {_kind(value)}{example} (default: {default!r})"
        )
    try:
        return _to_kind(kind, value)
    except (TypeError, ValueError):
        raise ConfigError(
            f"{where}: option {f.name} expects {expected}, got {value!r}{example} (default: {default!r})"
        ) from None


def _to_kind(kind: str, value: Any) -> Any:
    if kind == "bool":
        if isinstance(value, str):
            low = value.strip().lower()
            if low in _TRUE or low in _FALSE:
                return low in _TRUE
            raise ValueError(value)
        if isinstance(value, bool) or (isinstance(value, int) and value in (0, 1)):
            return bool(value)
        raise ValueError(value)
    if kind in ("int", "float"):
        if isinstance(value, bool) or value is None:
            raise ValueError(value)
        if kind == "float":
            return float(value)
        if isinstance(value, float) and not value.is_integer():
            raise ValueError(value)
        return value if type(value) is int else int(value)
    if kind.startswith("tuple"):
        if isinstance(value, str):
            return tuple(v.strip() for v in value.split(",") if v.strip())
        if value is None or not isinstance(value, Iterable):
            raise TypeError(value)
        return tuple(str(v) for v in value)
    if value is None:
        if kind == "str":
            raise TypeError(value)
        return None
    if kind == "str | None" and isinstance(value, str) and value == "":
        return None
    if isinstance(value, bytes | bytearray):
        raise TypeError(value)
    return value if type(value) is str else str(value)


def check(config_fields: Iterable[Field[Any]], values: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(option, what is wrong) for every value of ``values`` (every option's, converted) that breaks the choices
    or bounds its field declares."""
    problems: list[tuple[str, str]] = []
    for f in config_fields:
        spec, value = spec_of(f), values[f.name]
        if spec.choices and value not in spec.choices:
            problems.append((f.name, f"{f.name} must be {' or '.join(map(repr, spec.choices))}, got {value!r}"))
            continue
        bound = spec.bound_problem(f.name, value)
        if bound is not None:
            problems.append((f.name, bound))
    credentials = values.get("smtp_credentials", ())
    if any(":" not in cred for cred in credentials):
        problems.append(
            ("smtp_credentials", "smtp_credentials entries must be 'user:password', got an entry without ':'")
        )
    return problems + unsafe_start(values)
