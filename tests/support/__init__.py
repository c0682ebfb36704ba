"""Helpers shared by cxmock's own tests (one copy each, instead of one per test module).

- :mod:`tests.support.serve`: a ``cxmock serve`` child process on ephemeral ports, ready when its ready line is read.
- :mod:`tests.support.api`: the standard settings body and token request the API tests send.
- :mod:`tests.support.sockets`: reading a raw socket until the server closes or a marker arrives, bounded.

Imported as ``tests.support`` (``pythonpath = ["."]`` in pyproject's pytest options).
"""
