"""How one option is described: its help, choices, bounds and whether a running server may change it.

Every :class:`~mockserver.config.Config` field is declared with :func:`option`, which keeps that description in the
field's metadata. The CLI's flags and ``--help``, the validation of every source (``convert.check``) and the options
``MockServer.override`` / ``@pytest.mark.cxmock`` accept are all read from it: an option is described once.
"""

from __future__ import annotations

from dataclasses import Field, dataclass, field
from typing import Any, TypeVar

__all__ = ["METADATA_KEY", "Spec", "option", "spec_of"]

METADATA_KEY = "cxmock"

T = TypeVar("T")


@dataclass(frozen=True)
class Spec:
    """The description of one option (see the module docstring)."""

    #: one or two sentences for ``--help`` (the CLI adds the environment variable and the default)
    help: str
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
    made: T = field(default=default, repr=not secret, metadata={METADATA_KEY: spec})
    return made


def spec_of(f: Field[Any]) -> Spec:
    """The :class:`Spec` of a ``Config`` field."""
    spec = f.metadata.get(METADATA_KEY)
    if not isinstance(spec, Spec):
        raise TypeError(f"Config field {f.name} is not declared with option()")
    return spec
