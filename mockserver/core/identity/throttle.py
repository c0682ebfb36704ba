"""A throttle on failed client-secret and password checks, per client address (a token bucket).

Each address has a bucket of :data:`BURST` tokens that refills at :data:`PER_SECOND` tokens a second; every failed
check (a wrong client secret: ``invalid_client``; a wrong user name or password: ``invalid_grant``) takes one. While
an address's bucket is empty, its token requests are answered 429 with ``Retry-After`` before any credential is
looked at (so a correct guess does not get through either), as an identity server's lockout does; successful logins
take nothing. A test suite's few failed logins in a row never meet it; a password-guessing loop is held to
:data:`PER_SECOND` guesses a second instead of hundreds (#23). ``--no-auth-throttle`` turns it off (load tests).

At most :data:`ADDRESSES` buckets are kept (the least recently failed go first: a full bucket is the same as none).
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from ...errors import OAuthError

__all__ = ["ADDRESSES", "BURST", "PER_SECOND", "AuthThrottle", "Throttled"]

#: failed checks an address may make in a burst
BURST = 30
#: failed checks an address may make per second, sustained
PER_SECOND = 5.0
#: client addresses tracked at most
ADDRESSES = 10_000


class Throttled(OAuthError):
    """429: the client address failed too many credential checks; ``retry_after`` seconds until the next one."""

    status = 429

    def __init__(self, address: str, retry_after: int) -> None:
        super().__init__(
            "temporarily_unavailable",
            f"too many failed client-secret or password checks from {address[:64]}; retry after {retry_after} s "
            f"(at most {BURST} in a burst, then {PER_SECOND:g} a second; --no-auth-throttle turns this off)",
        )
        self.retry_after = retry_after


class AuthThrottle:
    """Token buckets of failed credential checks by client address (see the module docstring)."""

    def __init__(
        self,
        burst: int = BURST,
        per_second: float = PER_SECOND,
        *,
        clock: Callable[[], float] = time.monotonic,
        addresses: int = ADDRESSES,
    ) -> None:
        self.burst, self.per_second, self._clock, self._addresses = burst, per_second, clock, addresses
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # address -> (tokens, at)
        self._lock = threading.Lock()

    def _tokens(self, address: str, now: float) -> float:
        tokens, at = self._buckets.get(address, (float(self.burst), now))
        return min(float(self.burst), tokens + (now - at) * self.per_second)

    def check(self, address: str | None) -> None:
        """:raises Throttled: ``address`` has no failed check left now."""
        if not address or address not in self._buckets:
            return
        with self._lock:
            now = self._clock()
            tokens = self._tokens(address, now)
        if tokens < 1.0:
            raise Throttled(address, max(1, math.ceil((1.0 - tokens) / self.per_second)))

    def failed(self, address: str | None) -> None:
        """Take one token from ``address``'s bucket (a credential check it sent failed)."""
        if not address:
            return
        with self._lock:
            now = self._clock()
            self._buckets[address] = (max(0.0, self._tokens(address, now) - 1.0), now)
            self._buckets.move_to_end(address)
            while len(self._buckets) > self._addresses:
                self._buckets.popitem(last=False)
