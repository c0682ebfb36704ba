"""Contract-lint of member values the service stores but a later step may choke on (issue #22).

The service's swagger types ``host`` and ``fromAddress`` as plain strings (empty allowed, no pattern, no length) and
``username``/``password``/``displayName`` as nullable strings: the mock stores what the service stores, and these
checks say what the real service, a DNS lookup or a real SMTP server will do with it later. What a testconnection
can connect to and send to is the document's ``TestHost`` and ``TestMailAddress`` (one source: the same patterns
refuse a testconnection and lint a stored record).

Every finding is a :class:`~.lint.Violation` with the code's default severity (``CODES`` in :mod:`.lint`).
"""

from __future__ import annotations

import re
from functools import cache

from ..document import component_schema, ecma_regex, show
from .lint import Violation, violation

__all__ = ["address_findings", "host_findings", "split_address", "unsendable_findings"]

#: the longest DNS name (RFC 1035: 253 characters in text form)
DNS_NAME_MAX = 253
_PORT_SUFFIX = re.compile(r"^[^:\[\]]+:[0-9]*$")


@cache
def _connectable() -> re.Pattern[str]:
    return ecma_regex(component_schema("TestHost")["pattern"])


@cache
def _mail_address() -> re.Pattern[str]:
    return ecma_regex(component_schema("TestMailAddress")["pattern"])


def host_findings(host: str) -> list[Violation]:
    """What the contract-lint says of a stored ``host`` (nothing for an ordinary host name or IP literal)."""
    later = "the service stores it, but its testconnection fails at connect"
    if not _connectable().search(host):
        if not host.strip():
            why = "is empty"
        elif "://" in host:
            why = "has a scheme (send the host name alone)"
        elif any(c.isspace() for c in host):
            why = "contains spaces"
        elif _PORT_SUFFIX.match(host):
            why = "has a port (send it as port)"
        else:
            why = "is no DNS name or IP address"
        return [violation("host-invalid", f"host {show(host)} {why}: {later}")]
    if len(host.rstrip(".")) > DNS_NAME_MAX:
        return [
            violation("host-invalid", f"host is {len(host)} characters long, more than a DNS name can hold: {later}")
        ]
    if "_" in host:
        return [
            violation(
                "host-invalid",
                f"host {show(host)} contains '_', which a host name may not (RFC 1123): many resolvers, mail "
                "servers and TLS certificate checks refuse it; if it does not resolve, testconnection fails at "
                "connect",
            )
        ]
    if not host.isascii():
        return [
            violation(
                "host-idn",
                f"host {show(host)} is an internationalised name: it is looked up as its punycode (xn--) form",
            )
        ]
    return []


def split_address(value: str) -> tuple[str | None, str] | None:
    """``(display name or None, addr-spec)`` of a mail address .NET's MailAddress parses; None when it parses none.

    ``"Checkmarx <noreply@check.org>"`` -> ``("Checkmarx", "noreply@check.org")``; a quoted display name is
    unquoted.
    """
    if not _mail_address().search(value):
        return None
    text = value.strip(" \t")
    if not text.endswith(">"):
        return None, text
    name, _, rest = text[:-1].rpartition("<")
    name = name.strip(" \t")
    if len(name) >= 2 and name.startswith('"') and name.endswith('"'):
        name = re.sub(r"\\(.)", r"\1", name[1:-1])
    return (name or None), rest


def address_findings(member: str, value: str) -> list[Violation]:
    """What the contract-lint says of a stored mail address (``fromAddress``)."""
    parts = split_address(value)
    if parts is None:
        return [
            violation(
                "address-invalid",
                f"{member} {show(value)} is not a mail address .NET's MailAddress parses: the service stores it, "
                "but its testconnection fails before connecting and no mail can be sent from it",
            )
        ]
    name, address = parts
    out: list[Violation] = []
    if name is not None or value.strip(" \t").startswith("<"):
        out.append(
            violation(
                "address-display-name",
                f"{member} {show(value)} carries a display name: .NET's MailAddress parses it (the address is "
                f"{show(address)}); the displayName member, when set, names the sender instead",
            )
        )
    if address.startswith('"'):
        out.append(
            violation(
                "address-quoted",
                f"{member} {show(address)} has a quoted local part: valid (RFC 5321), but some mail servers refuse it",
            )
        )
    if not address.isascii():
        out.append(
            violation(
                "address-non-ascii",
                f"{member} {show(address)} is not ASCII: a mail server without SMTPUTF8 refuses it at MAIL FROM",
            )
        )
    return out


def unsendable_findings(member: str, value: str, *, line_breaks: bool, where: str) -> list[Violation]:
    """A NUL (and, with ``line_breaks``, a CR or LF) in a member that goes into ``where`` (SMTP AUTH, a header)."""
    bad = "\r\n\x00" if line_breaks else "\x00"
    if not any(c in value for c in bad):
        return []
    return [
        violation(
            "value-unsendable",
            f"{member} contains a {'line break or ' if line_breaks else ''}NUL character: stored as sent, but "
            f"{where} cannot carry it, so testconnection with it fails",
        )
    ]
