"""Where a testconnection connects: the embedded sink (``sink`` mode) or the body's host, if allowed (``direct``).

Pure rules: name resolution is injected (``resolver``), nothing here opens a socket. In direct mode the decision
is taken on the *resolved* addresses and the address returned is the one to connect to, so no second resolution
can land somewhere else (DNS rebinding). The mock must never become an SSRF gadget or an open relay.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Collection, Mapping, Sequence

from ..errors import BadRequest, MessageCode, SmtpTestFailed

__all__ = ["ENCRYPTION_TYPES", "resolve_smtp_target"]

#: the API's ``encryptionType`` values
ENCRYPTION_TYPES = ("None", "Ssl", "Tls")

_IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# A DNS name whose last label is numeric (``127.1``, ``0x7f.1``, ``2130706433``) is no name: resolvers read it
# as a short-hand IPv4 address. Only the canonical dotted quad is accepted as an IPv4 literal.
_NUMERIC_LAST_LABEL = re.compile(r"(?:^|\.)(?:0x[0-9a-f]*|[0-9]+)\.?$", re.IGNORECASE)


def resolve_smtp_target(
    *,
    mode: str,
    host: str,
    port: int,
    encryption: str,
    allow: Sequence[str],
    sink_ports: Mapping[str, int],
    sink_host: str,
    resolver: Callable[[str], list[str]],
    own_listeners: Mapping[int, str] | None = None,
    own_addresses: Collection[str] = (),
) -> tuple[str, int]:
    """The ``(address, port)`` testconnection must connect to.

    :param mode: ``"sink"`` delivers to the embedded sink's listener for ``encryption`` (``Ssl`` → ``smtps``,
        ``None``/``Tls`` → ``smtp``) whatever ``host``/``port`` say; ``"direct"`` connects to ``host:port``.
    :param allow: direct mode's allow-list (``--smtp-allow``): CIDRs, IP addresses or host names. A host is
        allowed when its literal name is listed, or when *every* address it resolves to lies in a listed network.
    :param sink_ports: ``{"smtp": port, "smtps": port}`` of the running sink.
    :param resolver: maps a host name to its addresses (e.g. via ``socket.getaddrinfo``); may raise ``OSError``.
    :param own_listeners: ``{port: "HTTP"}``: the mock's own listeners, never a direct-mode target on a loopback
        address or one of ``own_addresses`` (the addresses the mock listens on), whatever the allow-list says.
    :raises BadRequest: with ``MessageCode.HOST_NOT_ALLOWED`` when direct mode refuses the host.
    :raises SmtpTestFailed: at stage ``connect`` when the host cannot be resolved.
    """
    encryption = _canonical_encryption(encryption)
    if mode == "sink":
        return sink_host, sink_ports["smtps" if encryption == "Ssl" else "smtp"]
    if mode != "direct":
        raise ValueError(f"mode must be 'sink' or 'direct', got {mode!r}")
    if isinstance(port, bool) or not 1 <= port <= 65535:
        raise BadRequest(f"port must be between 1 and 65535, got {port!r}", errors={"port": ["out of range"]})

    name = host.strip()
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    name = name.lower().removesuffix(".")
    if not name:
        raise BadRequest("host must not be empty", errors={"host": ["must not be empty"]})
    networks, names = _parse_allow(allow)

    literal = _ip_literal(name)
    if literal is None and _NUMERIC_LAST_LABEL.search(name):
        raise _not_allowed(host, "it is a non-canonical numeric address; write the IP address in full", allow)
    if literal is not None:
        addresses: list[_IPAddress] = [literal]
    else:
        try:
            resolved = resolver(name)
        except (OSError, UnicodeError) as exc:
            raise SmtpTestFailed(f"cannot resolve host {host!r}: {exc}; check the host name", stage="connect") from None
        addresses = []
        for text in resolved:
            address = _ip_literal(text)
            if address is None:
                raise _not_allowed(host, f"the resolver returned {text!r}, which is not an IP address", allow)
            addresses.append(address)
        if not addresses:
            raise SmtpTestFailed(f"cannot resolve host {host!r}: no addresses; check the host name", stage="connect")

    for address in addresses:
        if address.is_unspecified or address.is_multicast or address == ipaddress.IPv4Address("255.255.255.255"):
            raise _not_allowed(host, f"{address} is not a unicast address", allow)
    own = (own_listeners or {}).get(port)
    if own is not None:
        mine = {_ip_literal(a) for a in own_addresses}
        for address in addresses:
            if address.is_loopback or address in mine:
                raise BadRequest(
                    f"host not allowed: {host!r} port {port} is this mock's own {own} listener ({address}); "
                    "testconnection never connects to the mock itself (each such session would hold a worker for "
                    "the whole --smtp-timeout). Name an SMTP server, or use --smtp-mode sink.",
                    message_code=MessageCode.HOST_NOT_ALLOWED,
                    errors={"port": [f"is the mock's own {own} port"]},
                )
    if literal is None and name in names:
        return str(addresses[0]), port
    outside = [a for a in addresses if not any(a.version == n.version and a in n for n in networks)]
    if outside:
        where = ", ".join(str(a) for a in outside)
        reason = f"{where} is outside the allow-list" if literal else f"it resolves to {where}, outside the allow-list"
        raise _not_allowed(host, reason, allow)
    return str(addresses[0]), port


def _canonical_encryption(encryption: str) -> str:
    for value in ENCRYPTION_TYPES:
        if encryption.lower() == value.lower():
            return value
    raise BadRequest(
        f"encryptionType must be one of {', '.join(ENCRYPTION_TYPES)}, got {encryption!r}",
        errors={"encryptionType": [f"must be one of {', '.join(ENCRYPTION_TYPES)}"]},
    )


def _ip_literal(text: str) -> _IPAddress | None:
    """The address ``text`` spells in canonical form, IPv4-mapped IPv6 unwrapped to IPv4; else ``None``."""
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _parse_allow(allow: Sequence[str]) -> tuple[list[_IPNetwork], set[str]]:
    networks: list[_IPNetwork] = []
    names: set[str] = set()
    for entry in allow:
        text = entry.strip()
        if text.startswith("[") and "]" in text:
            text = text[1:].replace("]", "", 1)
        try:
            network = ipaddress.ip_network(text, strict=False)
        except ValueError:
            if text:
                names.add(text.rstrip(".").lower())
            continue
        if isinstance(network, ipaddress.IPv6Network) and network.prefixlen >= 96:
            mapped = network.network_address.ipv4_mapped
            if mapped is not None:  # ::ffff:10.0.0.0/104 means 10.0.0.0/8
                network = ipaddress.IPv4Network(f"{mapped}/{network.prefixlen - 96}", strict=False)
        networks.append(network)
    return networks, names


def _not_allowed(host: str, reason: str, allow: Sequence[str]) -> BadRequest:
    listed = ", ".join(allow) if allow else "(empty)"
    return BadRequest(
        f"host not allowed: {host!r} ({reason}). In direct mode testconnection only connects to hosts on the "
        f"allow-list ({listed}); extend it with --smtp-allow, or use --smtp-mode sink.",
        message_code=MessageCode.HOST_NOT_ALLOWED,
        errors={"host": ["not on the --smtp-allow list"]},
    )
