"""``RemoteServer``: the ``MockServer`` surface over the admin API of a running server or container.

``server.py`` (``RemoteServer``), ``faults.py`` (``RemoteFaults``), ``mail.py`` (``RemoteSink``), ``http.py`` (the
small JSON-over-HTTP client they share).
"""

from __future__ import annotations

from .faults import RemoteFaults as RemoteFaults
from .mail import RemoteMessage as RemoteMessage
from .mail import RemoteSink as RemoteSink
from .server import RemoteServer as RemoteServer

__all__ = ["RemoteFaults", "RemoteMessage", "RemoteServer", "RemoteSink"]
