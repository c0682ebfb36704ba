"""``run_proxy()``: the one code path of ``cxmock proxy`` (as ``runtime.runner.run`` is ``cxmock serve``'s):
logging, start, banner, ready line, signals, stop."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from types import FrameType

from ..config import Config
from ..errors import ConfigError, ServerError
from ..runtime.runner import EXIT_OK, EXIT_STARTUP_FAILURE, announce_and_wait, configure_logging
from .server import ProxyServer
from .upstream import UpstreamOptions

__all__ = ["banner", "run_proxy"]


def banner(proxy: ProxyServer) -> str:
    lines = [
        f"cxmock proxy forwarding {proxy.api_url} to {proxy.upstream.display()}/cxrestapi/auth",
        f"  admin API   {proxy.base_url}/_mock  (journal: /_mock/requests, lint: /_mock/violations, "
        "drift: /_mock/drift)",
        f"  dashboard   {proxy.base_url}/_mock/ui/",
    ]
    if proxy.shadow is not None:
        lines.append(
            "  shadow      every request is also answered by the in-process mock (never sent); see /_mock/drift"
        )
    if proxy.upstream.insecure:
        lines.append("  WARNING     the upstream's TLS certificate is NOT verified (--upstream-insecure)")
    return "\n".join(lines)


def run_proxy(
    upstream: UpstreamOptions,
    config: Config,
    *,
    shadow: bool = False,
    ready_json: bool = False,
    port_file: str | None = None,
    quiet: bool = False,
) -> int:
    """Run a proxy until SIGINT/SIGTERM, then stop gracefully. Returns the exit code."""
    handler = configure_logging(config.log_format)
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        if upstream.insecure:
            logging.getLogger("cxmock.proxy").warning(
                "--upstream-insecure: the certificate of %s is not verified; anyone between this machine and it can "
                "read the passwords and tokens your clients send through the proxy",
                upstream.display(),
            )
        try:
            proxy = ProxyServer(upstream, config, shadow=shadow)
        except (ServerError, ConfigError, OSError, ValueError) as exc:
            print(f"cxmock proxy: cannot start: {exc}", file=sys.stderr, flush=True)
            return EXIT_STARTUP_FAILURE
        problem = proxy.client.probe()
        if problem is not None:
            logging.getLogger("cxmock.proxy").warning(
                "the upstream cannot be reached now: %s; until it can, every request is answered 502/504", problem
            )
        try:
            ready = {
                "ready": True,
                "base_url": proxy.base_url,
                "api_url": proxy.api_url,
                "upstream": upstream.display(),
                "http": proxy.port,
            }
            announce_and_wait(ready, banner(proxy), stop, proxy.check, port_file, ready_json, quiet)
        finally:
            proxy.stop()
        return EXIT_OK
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
        logging.getLogger("cxmock").removeHandler(handler)
        handler.close()
