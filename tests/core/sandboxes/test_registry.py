"""The sandbox registry and names: validation, bound, idle expiry (clock injected), create/delete."""

from __future__ import annotations

import pytest

from mockserver.core.sandboxes.names import check_name, is_valid_name, sandbox_of_recipients, split_login
from mockserver.core.sandboxes.registry import SandboxExists, SandboxRegistry, TooManySandboxes
from mockserver.errors import BadRequest, NotFound


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make(limit: int = 3, idle: float = 60.0) -> tuple[SandboxRegistry[list[str]], Clock, list[list[str]]]:
    clock = Clock()
    dropped: list[list[str]] = []
    registry: SandboxRegistry[list[str]] = SandboxRegistry(
        lambda name: [name], limit=limit, idle_timeout=idle, on_drop=dropped.append, clock=clock, wall=lambda: 0.0
    )
    return registry, clock, dropped


@pytest.mark.parametrize("name", ["a", "ci-1234", "pytest-gw0-3f2a", "a.b_c-d", "0", "x" * 64])
def test_valid_names(name: str) -> None:
    assert is_valid_name(name)
    assert check_name(name) == name


@pytest.mark.parametrize("name", ["", ".", "..", "%2e%2e", "-a", ".a", "_a", "A", "Ci", "x" * 65, "é", "a/b", "a b"])
def test_hostile_names_are_a_400_naming_the_rule(name: str) -> None:
    assert not is_valid_name(name)
    with pytest.raises(BadRequest, match="1 to 64 characters of a-z, 0-9"):
        check_name(name)


def test_split_login_and_subaddress() -> None:
    assert split_login("ci-7/mailer") == ("ci-7", "mailer")
    assert split_login("mailer") == (None, "mailer")
    assert split_login("BAD NAME/mailer") == (None, "BAD NAME/mailer")
    assert split_login(None) == (None, None)
    assert sandbox_of_recipients(["ops@x.org", "ops+sandbox-ci-7@x.org"]) == "ci-7"
    assert sandbox_of_recipients(["ops+other@x.org"]) is None


def test_created_on_first_use_and_reused() -> None:
    registry, _, _ = make()
    first = registry.get("a")
    assert registry.get("a") is first
    assert "a" in registry and len(registry) == 1


def test_past_the_bound_is_a_429_that_says_how_to_get_room() -> None:
    registry, _, _ = make(limit=2)
    registry.get("a")
    registry.get("b")
    with pytest.raises(TooManySandboxes, match=r"2 sandboxes exist.*--max-sandboxes") as info:
        registry.get("c")
    assert info.value.status == 429
    registry.delete("a")
    registry.get("c")  # room again


def test_idle_sandbox_expires_and_is_recreated_empty() -> None:
    registry, clock, dropped = make(idle=60.0)
    old = registry.get("a")
    old.append("data")
    clock.now += 59.0
    assert registry.get("a") is old  # used: the idle time starts again
    clock.now += 61.0
    assert "a" not in registry
    fresh = registry.get("a")
    assert fresh == ["a"] and fresh is not old
    assert dropped == [old]


def test_expired_sandboxes_do_not_count_against_the_bound() -> None:
    registry, clock, _ = make(limit=1, idle=10.0)
    registry.get("a")
    clock.now += 11.0
    registry.get("b")
    assert [info.name for info in registry.list()] == ["b"]


def test_create_refuses_an_existing_name_and_delete_an_unknown_one() -> None:
    registry, _, dropped = make()
    registry.create("a")
    with pytest.raises(SandboxExists, match="exists already"):
        registry.create("a")
    registry.delete("a")
    assert len(dropped) == 1
    with pytest.raises(NotFound, match="no sandbox 'a'"):
        registry.delete("a")


def test_listing_reports_last_use() -> None:
    registry, clock, _ = make(idle=100.0)
    registry.get("b")
    clock.now += 5.0
    registry.get("a")
    clock.now += 2.0
    listing = registry.list()
    assert [info.name for info in listing] == ["a", "b"]
    assert [info.idle_seconds for info in listing] == [2.0, 7.0]


def test_clear_drops_everything() -> None:
    registry, _, dropped = make()
    registry.get("a")
    registry.get("b")
    registry.clear()
    assert len(registry) == 0 and len(dropped) == 2
