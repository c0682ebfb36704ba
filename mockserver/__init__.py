"""cxmock: a mock and contract-testing server for the Checkmarx CxSAST Access Control SMTP Settings API.

Start one in-process (HTTP + SMTP sink on ephemeral ports)::

    from mockserver import MockServer

    with MockServer() as server:
        requests.get(server.api_url + "/SMTPSettings", headers=server.auth_headers())

In pytest, installing cxmock is enough: the ``cxmock``, ``cxmock_server`` and ``smtp_sink`` fixtures are there.
"""

from __future__ import annotations

from .config import Config as Config
from .core.journal.entry import JournalEntry as JournalEntry
from .core.lint.lint import Violation as Violation
from .core.mail.store import CapturedMessage as CapturedMessage
from .errors import ApiError as ApiError
from .errors import AssertionHelperError as AssertionHelperError
from .errors import ConfigError as ConfigError
from .errors import CxMockError as CxMockError
from .errors import ServerError as ServerError
from .errors import SmtpTestFailed as SmtpTestFailed
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
    "RemoteServer",
    "ServerError",
    "SmtpTestFailed",
    "Violation",
    "__version__",
]

# Tracebacks and reprs show the public names (``mockserver.MockServer``), as httpx does.
for _name in __all__:
    _obj = globals()[_name]
    if isinstance(_obj, type):
        _obj.__module__ = __name__
del _name, _obj
