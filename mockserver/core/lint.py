"""Contract-lint: what a client did that the vendor contract does not promise to accept.

INTERFACE CONTRACT (keep these names): ``Violation(code, severity, message)``; severities ``info`` < ``warning`` <
``error``; the codes below. Produced by ``core/contract.py`` while parsing a request and stored on journal entries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SEVERITIES = ("info", "warning", "error")

#: code -> default severity
CODES = {
    "version-missing": "warning",  # Accept / Content-Type without ;v=1.0
    "version-unsupported": "error",  # a version other than 1.0 was named
    "unknown-member": "warning",  # body member not in the contract (message may carry "did you mean")
    "coerced-boolean": "info",  # "true"/"false" strings accepted for a boolean
    "coerced-enum-case": "info",  # encryptionType in non-canonical case
    "media-type-wrong": "error",  # Content-Type not application/json
    "media-type-missing": "error",  # body sent without Content-Type
    "cxorigin-missing": "info",  # no cxOrigin header
}


@dataclass(frozen=True)
class Violation:
    code: str
    severity: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "severity": self.severity, "message": self.message}


def violation(code: str, message: str) -> Violation:
    """A violation with the default severity of ``code``."""
    return Violation(code, CODES[code], message)
