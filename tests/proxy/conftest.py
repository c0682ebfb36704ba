"""Fixtures of the proxy, verify and record tests; the upstreams themselves are in ``upstreams.py``."""

from tests.proxy.upstreams import recorder, serve_upstream, upstream

__all__ = ["recorder", "serve_upstream", "upstream"]
