"""``cxmock proxy UPSTREAM``: forwards the Access Control API to a user's real Checkmarx and keeps what
``cxmock serve`` keeps (journal, contract-lint, dashboard), plus the drift list of the service's answers against
``openapi/``. ``upstream`` is the HTTP client (also used by ``cxmock verify`` and ``cxmock record``), ``forward`` the
forwarding app, ``shadow`` the in-process mock of ``--shadow``, ``server`` the :class:`ProxyServer`, ``runner``
the CLI's code path.
"""

from .server import ProxyServer as ProxyServer
from .upstream import UpstreamClient as UpstreamClient
from .upstream import UpstreamError as UpstreamError
from .upstream import UpstreamOptions as UpstreamOptions

__all__ = ["ProxyServer", "UpstreamClient", "UpstreamError", "UpstreamOptions"]
