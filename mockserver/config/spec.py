"""How one option is described: its help, choices, bounds and whether a running server may change it.

Every :class:`~mockserver.config.Config` field is declared with :func:`option`, which keeps that description in the
field's metadata. The CLI's flags and ``--help``, the validation of every source (``convert.check``) and the options
``MockServer.override`` / ``@pytest.mark.cxmock`` accept are all read from it: an option is described once.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import Field, dataclass, field
from typing import Any, TypeVar

__all__ = ["METADATA_KEY", "Spec", "name_defaults", "option", "set_suite_defaults", "spec_of", "suite_default"]

METADATA_KEY = "cxmock"

T = TypeVar("T")

#: defaults changed by ``suite_defaults`` (option -> value), read by every field's default factory
_SUITE_DEFAULTS: dict[str, Any] = {}
_SUITE_LOCK = threading.Lock()


@dataclass(frozen=True)
class Spec:
    """The description of one option (see the module docstring)."""

    #: one or two sentences for ``--help`` (the CLI adds the environment variable and the default)
    help: str
    #: the product's default (a test suite may change the one in effect: ``suite_defaults``)
    default: Any = None
    #: the only values allowed (shown as ``[a|b]`` in ``--help``)
    choices: tuple[str, ...] = ()
    #: inclusive bounds of a number
    low: float | None = None
    high: float | None = None
    #: an exclusive lower bound of a number ("must be positive")
    above: float | None = None
    #: what a number counts ("seconds": the flag shows SECONDS and the errors say so)
    unit: str = ""
    #: said after a bound in an error ("0 picks a free port")
    note: str = ""
    #: a running server may change it for a while (``MockServer.override``, ``@pytest.mark.cxmock(...)``)
    runtime: bool = False
    #: masked by ``Config.masked()`` and left out of ``repr()``
    secret: bool = False
    #: an example of the right shape, for the error when a value has the wrong one
    example: str = ""

    def bound_problem(self, name: str, value: Any) -> str | None:
        """What is wrong with the number ``value`` of option ``name`` against these bounds, or ``None``."""
        if not isinstance(value, int | float) or isinstance(value, bool):
            return None
        note = f" ({self.note})" if self.note else ""
        if self.low is not None and self.high is not None:
            if not self.low <= value <= self.high:
                return f"{name} must be between {self.low:g} and {self.high:g}{note}, got {value}"
            return None
        if self.above is not None and value <= self.above:
            what = f"number of {self.unit}" if self.unit else "number"
            if self.above == 0:
                return f"{name} must be a positive {what}{note}, got {value}"
            return f"{name} must be a {what} above {self.above:g}{note}, got {value}"
        if self.low is not None and value < self.low:
            if self.unit:
                return f"{name} must be {self.low:g} or more {self.unit}{note}, got {value}"
            return f"{name} must be at least {self.low:g}{note}, got {value}"
        if self.high is not None and value > self.high:
            return f"{name} must be at most {self.high:g}{note}, got {value}"
        return None


def option(
    default: T,
    help: str,  # noqa: A002 - the word --help uses
    *,
    choices: tuple[str, ...] = (),
    low: float | None = None,
    high: float | None = None,
    above: float | None = None,
    unit: str = "",
    note: str = "",
    runtime: bool = False,
    secret: bool = False,
    example: str = "",
) -> T:
    """A ``Config`` field with ``default`` and its description (typed as the default, as ``dataclasses.field``)."""
    spec = Spec(
        help=help,
        default=default,
        choices=choices,
        low=low,
        high=high,
        above=above,
        unit=unit,
        note=note,
        runtime=runtime,
        secret=secret,
        example=example,
    )
    made: T = field(default_factory=_Default(default), repr=not secret, metadata={METADATA_KEY: spec})
    return made


class _Default:
    """A field's default factory: the product's default, unless ``suite_defaults`` changed it (the field's name is
    set once the class exists, by ``name_defaults``)."""

    __slots__ = ("name", "value")

    def __init__(self, value: Any) -> None:
        self.name = ""
        self.value = value

    def __call__(self) -> Any:
        return _SUITE_DEFAULTS.get(self.name, self.value)


def name_defaults(config_fields: Iterable[Field[Any]]) -> None:
    """Tell each field's default factory its field's name (called once, right after the class is made)."""
    for f in config_fields:
        factory = f.default_factory
        if not isinstance(factory, _Default):
            raise TypeError(f"Config field {f.name} is not declared with option()")
        factory.name = f.name


def suite_default(name: str, product_default: Any) -> Any:
    """The default in effect for option ``name`` (``suite_defaults``'s value, or the product's)."""
    return _SUITE_DEFAULTS.get(name, product_default)


@contextlib.contextmanager
def set_suite_defaults(values: Mapping[str, Any]) -> Iterator[None]:
    """Use ``values`` (option -> converted value) as the defaults while the block runs (see ``suite_defaults``)."""
    with _SUITE_LOCK:
        saved = dict(_SUITE_DEFAULTS)
        _SUITE_DEFAULTS.update(values)
    try:
        yield
    finally:
        with _SUITE_LOCK:
            _SUITE_DEFAULTS.clear()
            _SUITE_DEFAULTS.update(saved)


def spec_of(f: Field[Any]) -> Spec:
    """The :class:`Spec` of a ``Config`` field."""
    spec = f.metadata.get(METADATA_KEY)
    if not isinstance(spec, Spec):
        raise TypeError(f"Config field {f.name} is not declared with option()")
    return spec
