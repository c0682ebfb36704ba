"""The bounded set of named sandboxes of one server: created on first use or explicitly, deleted explicitly or
after ``idle_timeout`` seconds without use, at most ``limit`` of them (the default sandbox, the server root, is not
one of them and never expires).

The registry is generic over what a sandbox is (the runtime stores its state and HTTP app): ``factory(name)`` builds
one, ``on_drop(value)`` is told when one is deleted, expires or is replaced. Clocks are injected: ``clock`` measures
idleness (monotonic), ``wall`` dates the listing.

:meth:`SandboxRegistry.get` is on the path of every request to a sandbox: a dict lookup and a clock read when the
sandbox exists and is fresh; the lock, the name check and the sweep of expired sandboxes only when one is created.
"""

from __future__ import annotations

import builtins
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from ...errors import ApiError, MessageCode, NotFound
from .names import check_name

__all__ = ["SandboxExists", "SandboxInfo", "SandboxRegistry", "TooManySandboxes"]

T = TypeVar("T")


class TooManySandboxes(ApiError, status=429, code=MessageCode.RATE_LIMITED):
    """429: creating one more sandbox would pass the configured maximum."""


class SandboxExists(ApiError, status=409, code=MessageCode.INVALID_BODY):
    """409: ``POST /_mock/sandboxes`` named a sandbox that exists."""


@dataclass
class _Entry(Generic[T]):
    value: T
    created: float  # wall clock
    last_used: float  # monotonic clock


@dataclass(frozen=True)
class SandboxInfo(Generic[T]):
    """One sandbox as the listing shows it: its name, value, creation and last use (wall-clock seconds)."""

    name: str
    value: T
    created: float
    last_used: float
    idle_seconds: float


class SandboxRegistry(Generic[T]):
    """Named sandboxes, bounded in number and expired when idle.

    :param factory: builds the sandbox called ``name`` (a fresh, empty one).
    :param limit: at most this many sandboxes at once; creating one more raises :class:`TooManySandboxes` (429).
    :param idle_timeout: a sandbox unused for longer is dropped; the next use of its name creates a fresh one.
    :param on_drop: told about each sandbox that is deleted, expires or is replaced (e.g. to end its long-polls).
    """

    def __init__(
        self,
        factory: Callable[[str], T],
        *,
        limit: int,
        idle_timeout: float,
        on_drop: Callable[[T], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        if limit < 0:
            raise ValueError(f"limit must be at least 0, got {limit}")
        if idle_timeout <= 0:
            raise ValueError(f"idle_timeout must be positive, got {idle_timeout}")
        self._factory = factory
        self.limit = limit
        self.idle_timeout = idle_timeout
        self._on_drop = on_drop
        #: the monotonic clock idleness is measured with (tests replace it)
        self.clock = clock
        self._wall = wall
        self._entries: dict[str, _Entry[T]] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, name: object) -> bool:
        entry = self._entries.get(name) if isinstance(name, str) else None
        return entry is not None and not self._expired(entry, self.clock())

    def get(self, name: str) -> T:
        """The sandbox called ``name``, created (empty) when it does not exist or has expired; marks it used.

        :raises BadRequest: ``name`` is not a valid sandbox name.
        :raises TooManySandboxes: it would be created, and ``limit`` sandboxes exist.
        """
        found = self.existing(name)
        if found is not None:
            return found
        check_name(name)
        with self._lock:
            return self._create_locked(name, exclusive=False).value

    def existing(self, name: str) -> T | None:
        """The sandbox called ``name`` when it exists and has not expired (marked used, as :meth:`get` does); else
        None, without creating it or checking the name."""
        now = self.clock()
        entry = self._entries.get(name)
        if entry is not None and now - entry.last_used <= self.idle_timeout:
            entry.last_used = now
            return entry.value
        return None

    def create(self, name: str) -> T:
        """Create the sandbox ``name``.

        :raises SandboxExists: it exists (and has not expired).
        :raises BadRequest: invalid name. :raises TooManySandboxes: ``limit`` sandboxes exist.
        """
        check_name(name)
        with self._lock:
            return self._create_locked(name, exclusive=True).value

    def delete(self, name: str) -> None:
        """Drop the sandbox ``name``; :class:`NotFound` (404) when there is none (an expired one counts as none)."""
        check_name(name)
        with self._lock:
            entry = self._entries.get(name)
            if entry is None or self._expired(entry, self.clock()):
                self._sweep_locked()
                raise NotFound(
                    f"no sandbox {name!r}: it was never used, was deleted, or expired after "
                    f"{self.idle_timeout:g} s idle; GET /_mock/sandboxes lists the sandboxes"
                )
            del self._entries[name]
        self._dropped(entry.value)

    def clear(self) -> None:
        """Drop every sandbox."""
        with self._lock:
            entries, self._entries = list(self._entries.values()), {}
        for entry in entries:
            self._dropped(entry.value)

    def list(self) -> builtins.list[SandboxInfo[T]]:
        """The live sandboxes, by name (expired ones are dropped first)."""
        with self._lock:
            self._sweep_locked()
            now, wall = self.clock(), self._wall()
            return [
                SandboxInfo(
                    name=name,
                    value=entry.value,
                    created=entry.created,
                    last_used=wall - (now - entry.last_used),
                    idle_seconds=now - entry.last_used,
                )
                for name, entry in sorted(self._entries.items())
            ]

    def values(self) -> builtins.list[T]:
        """Every sandbox held now (expired ones included until they are swept)."""
        return [entry.value for entry in list(self._entries.values())]

    # -- internals ---------------------------------------------------------------------------------------------
    def _expired(self, entry: _Entry[T], now: float) -> bool:
        return now - entry.last_used > self.idle_timeout

    def _create_locked(self, name: str, *, exclusive: bool) -> _Entry[T]:
        now = self.clock()
        entry = self._entries.get(name)
        if entry is not None and not self._expired(entry, now):  # another thread created it meanwhile
            if exclusive:
                raise SandboxExists(
                    f"sandbox {name!r} exists already; use it, DELETE /_mock/sandboxes/{name} first, or pick "
                    "another name"
                )
            entry.last_used = now
            return entry
        self._sweep_locked()
        if len(self._entries) >= self.limit:
            raise TooManySandboxes(
                f"cannot create sandbox {name!r}: {len(self._entries)} sandboxes exist, the maximum "
                f"(--max-sandboxes {self.limit}); delete unused ones (DELETE /_mock/sandboxes/<name>), let them "
                f"expire ({self.idle_timeout:g} s idle, --sandbox-idle-timeout) or raise --max-sandboxes"
            )
        fresh = _Entry(value=self._factory(name), created=self._wall(), last_used=now)
        self._entries[name] = fresh
        return fresh

    def _sweep_locked(self) -> None:
        now = self.clock()
        for name, entry in list(self._entries.items()):
            if self._expired(entry, now):
                del self._entries[name]
                self._dropped(entry.value)

    def _dropped(self, value: T) -> None:
        if self._on_drop is not None:
            self._on_drop(value)
