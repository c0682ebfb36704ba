"""resolve_smtp_target: sink mode mapping, direct mode allow-list decided on resolved addresses."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest

from mockserver.config import Config
from mockserver.core.routing import resolve_smtp_target
from mockserver.errors import BadRequest, MessageCode, SmtpTestFailed

DEFAULT_ALLOW = Config().effective_smtp_allow
SINK_PORTS = {"smtp": 2525, "smtps": 4465}


class Resolver:
    """A fake DNS: a dict of name -> addresses; records every lookup."""

    def __init__(self, table: dict[str, list[str]] | None = None) -> None:
        self.table = table or {}
        self.calls: list[str] = []

    def __call__(self, name: str) -> list[str]:
        self.calls.append(name)
        if name not in self.table:
            raise OSError(-2, "Name or service not known")
        return self.table[name]


def direct(host: str, resolver: Callable[[str], list[str]], allow: Sequence[str] = DEFAULT_ALLOW, **kw: Any) -> Any:
    return resolve_smtp_target(
        mode="direct",
        host=host,
        port=kw.pop("port", 25),
        encryption=kw.pop("encryption", "None"),
        allow=allow,
        sink_ports=SINK_PORTS,
        sink_host="127.0.0.1",
        resolver=resolver,
    )


@pytest.mark.parametrize(
    ("encryption", "port"), [("None", 2525), ("Tls", 2525), ("Ssl", 4465), ("ssl", 4465), ("TLS", 2525)]
)
def test_sink_mode_picks_the_listener_for_the_encryption_and_ignores_the_body(encryption: str, port: int) -> None:
    resolver = Resolver()
    target = resolve_smtp_target(
        mode="sink",
        host="smtp.office365.com",
        port=587,
        encryption=encryption,
        allow=(),
        sink_ports=SINK_PORTS,
        sink_host="127.0.0.1",
        resolver=resolver,
    )
    assert target == ("127.0.0.1", port)
    assert resolver.calls == []


def test_unknown_encryption_is_a_bad_request() -> None:
    with pytest.raises(BadRequest, match="encryptionType must be one of None, Ssl, Tls"):
        direct("127.0.0.1", Resolver(), encryption="StartTls")


@pytest.mark.parametrize("host", ["127.0.0.1", "127.5.6.7", "::1", "[::1]", "::ffff:127.0.0.1", "127.0.0.1."])
def test_loopback_literals_are_allowed_by_default_without_resolution(host: str) -> None:
    resolver = Resolver()
    address, port = direct(host, resolver, port=2526)
    assert port == 2526
    assert address in {host.strip("[]").rstrip("."), "127.0.0.1"}
    assert resolver.calls == []


def test_a_listed_name_is_allowed_and_its_resolved_address_returned() -> None:
    resolver = Resolver({"localhost": ["::1", "127.0.0.1"]})
    assert direct("LocalHost", resolver) == ("::1", 25)
    assert resolver.calls == ["localhost"]  # exactly one resolution; the caller connects to the address


def test_an_unlisted_name_is_allowed_when_every_address_is_inside_the_allow_list() -> None:
    resolver = Resolver({"mail.test": ["127.0.0.9"]})
    assert direct("mail.test", resolver) == ("127.0.0.9", 25)


@pytest.mark.parametrize(
    ("host", "table"),
    [
        ("mail.test", {"mail.test": ["10.0.0.1"]}),  # a name resolving elsewhere
        ("mixed.test", {"mixed.test": ["127.0.0.1", "10.0.0.1"]}),  # one address outside is enough
        ("mapped.test", {"mapped.test": ["::ffff:10.0.0.1"]}),
        ("10.0.0.1", {}),
        ("169.254.169.254", {}),  # cloud metadata
        ("[::ffff:10.0.0.1]", {}),  # IPv4-mapped IPv6
        ("::ffff:a00:1", {}),
        ("0.0.0.0", {}),  # "this host": reaches loopback services on Linux
        ("::", {}),
        ("[::]", {}),
        ("224.0.0.1", {}),
        ("fe80::1", {}),
    ],
)
def test_hosts_outside_the_allow_list_are_refused(host: str, table: dict[str, list[str]]) -> None:
    with pytest.raises(BadRequest) as caught:
        direct(host, Resolver(table))
    error = caught.value
    assert error.message_code == MessageCode.HOST_NOT_ALLOWED
    assert error.details.startswith("host not allowed: ")
    assert "--smtp-allow" in error.details


@pytest.mark.parametrize(
    "host", ["127.1", "0x7f.0.0.1", "0177.0.0.1", "2130706433", "0x7f000001", "127.0.1", "1.2.3.4.5"]
)
def test_non_canonical_numeric_hosts_are_refused_without_resolving(host: str) -> None:
    resolver = Resolver({host: ["127.0.0.1"]})  # what getaddrinfo would answer for these shorthands
    with pytest.raises(BadRequest, match="host not allowed.*non-canonical numeric") as caught:
        direct(host, resolver)
    assert caught.value.message_code == MessageCode.HOST_NOT_ALLOWED
    assert resolver.calls == []


def test_unspecified_address_is_refused_even_when_its_name_is_listed() -> None:
    with pytest.raises(BadRequest, match="not a unicast address"):
        direct("trap.test", Resolver({"trap.test": ["0.0.0.0"]}), allow=["trap.test", "0.0.0.0/0"])


def test_allow_list_extends_with_cidrs_ips_and_names() -> None:
    allow = [*DEFAULT_ALLOW, "10.0.0.0/8", "192.0.2.7", "[2001:db8::1]", "relay.corp.test", "::ffff:198.51.100.0/120"]
    assert direct("10.1.2.3", Resolver(), allow=allow) == ("10.1.2.3", 25)
    assert direct("[::ffff:10.0.0.1]", Resolver(), allow=allow) == ("10.0.0.1", 25)
    assert direct("192.0.2.7", Resolver(), allow=allow) == ("192.0.2.7", 25)
    assert direct("2001:db8::1", Resolver(), allow=allow) == ("2001:db8::1", 25)
    assert direct("198.51.100.9", Resolver(), allow=allow) == ("198.51.100.9", 25)
    # a listed name is trusted wherever it resolves
    assert direct("relay.corp.test", Resolver({"relay.corp.test": ["203.0.113.5"]}), allow=allow) == (
        "203.0.113.5",
        25,
    )
    with pytest.raises(BadRequest, match="host not allowed"):
        direct("192.0.2.8", Resolver(), allow=allow)


def test_empty_allow_list_refuses_everything() -> None:
    with pytest.raises(BadRequest, match=r"allow-list \(\(empty\)\)"):
        direct("127.0.0.1", Resolver(), allow=[])


def test_unresolvable_host_fails_at_the_connect_stage() -> None:
    with pytest.raises(SmtpTestFailed, match="cannot resolve host 'nowhere.test'") as caught:
        direct("nowhere.test", Resolver())
    assert caught.value.stage == "connect"


def test_resolver_returning_no_or_bad_addresses() -> None:
    with pytest.raises(SmtpTestFailed, match="no addresses"):
        direct("empty.test", Resolver({"empty.test": []}))
    with pytest.raises(BadRequest, match="not an IP address"):
        direct("odd.test", Resolver({"odd.test": ["localhost"]}))


@pytest.mark.parametrize("port", [0, 65536, -1])
def test_bad_port_is_a_bad_request(port: int) -> None:
    with pytest.raises(BadRequest, match="port must be between 1 and 65535"):
        direct("127.0.0.1", Resolver(), port=port)


@pytest.mark.parametrize("host", ["", "  ", "[]"])
def test_empty_host_is_a_bad_request(host: str) -> None:
    with pytest.raises(BadRequest, match="host must not be empty"):
        direct(host, Resolver())


def test_unknown_mode() -> None:
    with pytest.raises(ValueError, match="mode must be"):
        resolve_smtp_target(
            mode="relay",
            host="x",
            port=25,
            encryption="None",
            allow=(),
            sink_ports=SINK_PORTS,
            sink_host="127.0.0.1",
            resolver=Resolver(),
        )


@pytest.mark.parametrize(
    ("host", "own_addresses", "table"),
    [
        ("127.0.0.1", (), {}),
        ("127.9.9.9", (), {}),
        ("::1", (), {}),
        ("localhost", (), {"localhost": ["127.0.0.1", "::1"]}),
        ("10.1.2.3", ("0.0.0.0", "10.1.2.3"), {}),  # a wildcard bind answers on this host's addresses
        ("me.example", ("10.1.2.3",), {"me.example": ["10.1.2.3"]}),
    ],
)
def test_direct_mode_never_targets_the_mocks_own_listener(
    host: str, own_addresses: tuple[str, ...], table: dict[str, list[str]]
) -> None:
    with pytest.raises(BadRequest) as info:
        resolve_smtp_target(
            mode="direct",
            host=host,
            port=8080,
            encryption="None",
            allow=(*DEFAULT_ALLOW, "10.0.0.0/8", "me.example"),
            sink_ports=SINK_PORTS,
            sink_host="127.0.0.1",
            resolver=Resolver(table),
            own_listeners={8080: "HTTP"},
            own_addresses=own_addresses,
        )
    assert info.value.message_code == MessageCode.HOST_NOT_ALLOWED
    assert "own HTTP listener" in info.value.details


def test_direct_mode_allows_other_ports_and_other_hosts_on_the_own_port() -> None:
    common: dict[str, Any] = {
        "mode": "direct",
        "encryption": "None",
        "allow": (*DEFAULT_ALLOW, "10.0.0.0/8"),
        "sink_ports": SINK_PORTS,
        "sink_host": "127.0.0.1",
        "resolver": Resolver(),
        "own_listeners": {8080: "HTTP"},
        "own_addresses": ("127.0.0.1",),
    }
    assert resolve_smtp_target(host="127.0.0.1", port=2525, **common) == ("127.0.0.1", 2525)
    assert resolve_smtp_target(host="10.1.2.3", port=8080, **common) == ("10.1.2.3", 8080)
