"""``--validate-responses``: every API response is checked against the document before it is sent.

The checks are :func:`mockserver.core.selfcheck.check_response`; the finishing step (``journaling.finish``) feeds
:func:`mismatches` the request and the response; each mismatch is logged (logger ``cxmock.selfcheck``, level ERROR)
and added to the request's journal entry as a ``response-mismatch`` violation (severity error). A response an
injected fault shaped is not checked. The response itself is sent unchanged: the self-check reports, it never
repairs.
"""

from __future__ import annotations

import logging

from ..core import selfcheck
from ..core.lint.lint import Violation, violation

__all__ = ["mismatches"]

log = logging.getLogger("cxmock.selfcheck")


def mismatches(method: str, path: str, status: int, headers: dict[str, str], body: bytes | None) -> list[Violation]:
    """The ``response-mismatch`` violations of one response (each also logged)."""
    problems = selfcheck.check_response(method, path, status, headers, body)
    for problem in problems:
        log.error("response does not match openapi/cxmock.yaml: %s %s: %s", method, path, problem)
    return [violation("response-mismatch", f"cxmock's response breaks its own contract: {p}") for p in problems]
