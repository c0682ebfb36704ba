"""The frozen configuration of a cxmock server.

Built from, in order of precedence: explicit keyword arguments (CLI flags) > ``CXMOCK_<OPTION>`` environment
variables > one YAML file (``--config``) > the defaults. ``Config.load`` does the merge; every option is a field of
:class:`Config`, described once there (help, choices, bounds, run-time changeability: ``spec.py``), so the CLI, the
environment, the file, keyword arguments and the pytest marker share one list of names and one conversion.

- ``model.py``: :class:`Config`, its fields and their descriptions;
- ``spec.py``: how an option is described (``option()``, :class:`Spec`);
- ``convert.py``: the one conversion of a value to its field's type, and the check of choices and bounds;
- ``files.py``: the YAML file (``--config``) and the messages for unknown option names.
"""

from __future__ import annotations

from . import model
from .files import suggest
from .model import *  # noqa: F403  # Config and its constants, as model.__all__ lists them
from .spec import Spec

__all__ = ["Spec", "reachable_host", "suggest"]
__all__ += model.__all__


def reachable_host(bind_host: str) -> str:
    """The address a client on this machine uses to reach a listener bound to ``bind_host``: a wildcard bind
    (``0.0.0.0``, ``::``, empty) is reached on loopback; any other address as it is."""
    # bandit B104: a comparison, not a bind
    if bind_host in ("0.0.0.0", ""):  # nosec B104
        return "127.0.0.1"
    return "::1" if bind_host == "::" else bind_host
