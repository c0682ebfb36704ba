"""cxmock: a mock and contract-testing server for the Checkmarx CxSAST Access Control SMTP Settings API.

Start one in-process (HTTP + SMTP sink on ephemeral ports)::

    from mockserver import MockServer

    with MockServer() as server:
        requests.get(server.api_url + "/SMTPSettings", headers=server.auth_headers())

In pytest, installing cxmock is enough: the ``cxmock``, ``cxmock_server`` and ``smtp_sink`` fixtures are there.

``MockServer``, its sandboxes (``server.sandbox("ci-1")``) and ``RemoteServer`` implement one declared test surface,
:class:`MockSurface` (``mockserver.core.surface``): type a helper with it to run it against any of them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .errors import ApiError as ApiError
from .errors import AssertionHelperError as AssertionHelperError
from .errors import ConfigError as ConfigError
from .errors import CxMockError as CxMockError
from .errors import ServerError as ServerError
from .errors import SmtpTestFailed as SmtpTestFailed

if TYPE_CHECKING:
    from .config import Config as Config
    from .core.journal.entry import JournalEntry as JournalEntry
    from .core.lint.lint import Violation as Violation
    from .core.mail.store import CapturedMessage as CapturedMessage
    from .core.surface import MockSurface as MockSurface
    from .remote.server import RemoteServer as RemoteServer
    from .runtime.server import MockServer as MockServer

__version__ = "0.1.0"

__all__ = [
    "ApiError",
    "AssertionHelperError",
    "CapturedMessage",
    "Config",
    "ConfigError",
    "CxMockError",
    "JournalEntry",
    "MockServer",
    "MockSurface",
    "RemoteServer",
    "ServerError",
    "SmtpTestFailed",
    "Violation",
    "__version__",
]

#: public names imported on first use: ``import mockserver`` (and so the pytest plugin of a session that uses no
#: cxmock fixture) does not pay for flask, aiosmtpd and cryptography
_LAZY = {
    "CapturedMessage": ".core.mail.store",
    "Config": ".config",
    "JournalEntry": ".core.journal.entry",
    "MockServer": ".runtime.server",
    "MockSurface": ".core.surface",
    "RemoteServer": ".remote.server",
    "Violation": ".core.lint.lint",
}


def _public(obj: Any) -> Any:
    # Tracebacks and reprs show the public names (``mockserver.MockServer``), as httpx does.
    if isinstance(obj, type):
        obj.__module__ = __name__
    return obj


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = _public(getattr(importlib.import_module(_LAZY[name], __name__), name))
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


for _name in __all__:
    if _name not in _LAZY:
        _public(globals()[_name])
del _name
