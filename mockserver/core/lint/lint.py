"""Contract-lint: what a client did that the vendor contract does not promise to accept.

INTERFACE CONTRACT (keep these names): ``Violation(code, severity, message)``; severities ``info`` <
``warning`` < ``error``; the codes below. Produced by ``core/contract.py`` while parsing a request and stored
on journal entries.

- ``violation(code, message)``: a violation with the code's default severity.
- ``did_you_mean(name, known)``: the near-miss suggestion used in ``unknown-member`` messages.
- ``severity_at_least(sev, min_sev)`` and ``severity_rank(sev)``: the order of severities.

``core/lint/report.py`` turns journaled violations into summaries, the pytest assertion and CI reports.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "CODES",
    "SEVERITIES",
    "Violation",
    "did_you_mean",
    "severity_at_least",
    "severity_rank",
    "violation",
]

SEVERITIES = ("info", "warning", "error")

#: code -> default severity. What a severity means (PRODUCT.md §0, docs/fidelity.md):
#: ``error`` = the service refuses it; ``warning`` = the service answers differently, or a later step (a real SMTP
#: server, a DNS lookup, testconnection) will fail; ``info`` = style: the service takes it and answers the same.
CODES = {
    "version-missing": "info",  # Accept / Content-Type without ;v=1.0 (the vendor: no version = the latest default)
    "version-unsupported": "error",  # a version other than 1.0 was named
    "unknown-member": "info",  # body member not in the contract, ignored as the service ignores it
    "unknown-member-near-miss": "warning",  # ... and it looks like a misspelt member: its value is lost
    "member-case": "info",  # a member bound case-insensitively ("Host" for "host"), as ASP.NET binds it
    "member-duplicate": "warning",  # one member sent twice (in two spellings): the last one wins
    "coerced-boolean": "info",  # "true"/"false" strings or a number accepted for a boolean (Json.NET converts)
    "coerced-number": "info",  # an integer sent as its digits in a string (Json.NET converts)
    "integer-as-float": "error",  # 25.0 for an Int32: read as 25 here; Json.NET (the service) refuses it
    "coerced-enum-case": "info",  # encryptionType in non-canonical case
    "media-type-wrong": "error",  # Content-Type not application/json
    "media-type-missing": "error",  # body sent without Content-Type
    "cxorigin-missing": "info",  # no cxOrigin header
    "response-mismatch": "error",  # the mock's own response disagrees with the document (--validate-responses)
    "doc-spelling": "error",  # a member spelled as the documentation page does, which the service does not bind
    "credentials-missing": "warning",  # stored without username/password and useDefaultCredentials false
    "path-case": "info",  # a path under /cxrestapi/auth in non-canonical case (routing ignores case)
    "host-invalid": "warning",  # a host that cannot be a DNS name or IP literal: testconnection fails at connect
    "host-idn": "info",  # an internationalised host name: resolved as its punycode (xn--) form
    "address-invalid": "warning",  # no mail library parses it: testconnection and every notification fail
    "address-display-name": "info",  # "Name <addr>" in fromAddress: parsed by .NET's MailAddress
    "address-quoted": "info",  # a quoted local part ("a b"@example.org): valid, but some servers refuse it
    "address-non-ascii": "warning",  # a non-ASCII address: a server without SMTPUTF8 refuses it
    "value-unsendable": "warning",  # a line break or NUL in a member that goes into SMTP AUTH or a mail header
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


# ----------------------------------------------------------------------------------------------------
# did you mean


def _edit_distance(a: str, b: str) -> int:
    """Damerau-Levenshtein distance (optimal string alignment: a transposition of neighbours costs 1)."""
    if a == b:
        return 0
    if not a:
        return len(b)
    if not b:
        return len(a)
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, start=1):
            cost = 0 if ca == cb else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[len(b)]


#: names of at most this many characters only get suggestions at distance 1
_SHORT_NAME = 5
#: a name this long or longer that begins exactly one known name suggests it (``fromAddr`` -> ``fromAddress``)
_ABBREVIATION = 4


def did_you_mean(name: str, known: Iterable[str]) -> str | None:
    """The member of ``known`` that ``name`` most likely misspells, or ``None`` when nothing is close.

    Comparison ignores case (``receiveremail`` -> ``receiverEmail``) and counts a swap of two neighbouring
    letters as one edit (``recieverEmail`` -> ``receiverEmail``). A suggestion is made within 2 edits, or
    within 1 edit for names of up to 5 characters, so short names are not matched to unrelated ones. On a tie
    the member first in ``known`` wins. Failing that, a name of 4 or more characters that abbreviates exactly one
    member (``fromAddr`` -> ``fromAddress``) suggests it.
    """
    wanted = name.casefold()
    limit = 1 if len(wanted) <= _SHORT_NAME else 2
    best: tuple[int, str] | None = None
    for candidate in known:
        folded = candidate.casefold()
        if abs(len(folded) - len(wanted)) > limit:
            continue  # the distance is at least the difference in length: skip the O(n*m) computation
        distance = _edit_distance(wanted, folded)
        if distance <= limit and (best is None or distance < best[0]):
            best = (distance, candidate)
    if best is None and len(wanted) >= _ABBREVIATION:
        longer = [candidate for candidate in known if candidate.casefold().startswith(wanted)]
        if len(longer) == 1:
            return longer[0]
    return best[1] if best is not None else None


# ----------------------------------------------------------------------------------------------------
# severities


def severity_rank(severity: str) -> int:
    """The position of ``severity`` in ``SEVERITIES`` (``info`` is 0).

    :raises ValueError: ``severity`` is not one of ``SEVERITIES``.
    """
    try:
        return SEVERITIES.index(severity)
    except ValueError:
        raise ValueError(
            f"unknown severity {severity!r}; expected one of {', '.join(SEVERITIES)} (lowest first)"
        ) from None


def severity_at_least(sev: str, min_sev: str) -> bool:
    """Whether severity ``sev`` is ``min_sev`` or above (``info`` < ``warning`` < ``error``).

    :raises ValueError: either argument is not one of ``SEVERITIES``.
    """
    return severity_rank(sev) >= severity_rank(min_sev)
