"""The refresh tokens one Identity no longer honours: used ones (rotation) and revoked ones (RFC 7009).

Refresh tokens are self-contained (signed by the server's :class:`~.keys.Signer`), so nothing is stored when one is
issued; only its ``jti`` is remembered once it is used or revoked, until it would have expired anyway. The set is
bounded: when it holds ``limit`` live entries, the oldest entry is dropped and its issue time becomes a watermark,
and every refresh token issued at or before the watermark is refused from then on. The policy fails closed: an
overflow can log a client out (it logs in again), never revive a used or revoked token.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

__all__ = ["RevocationSet", "REVOCATION_LIMIT"]

REVOCATION_LIMIT = 10_000


class RevocationSet:
    """Used/revoked refresh-token ids with their expiry, bounded by ``limit`` (see the module docstring)."""

    def __init__(self, limit: int = REVOCATION_LIMIT) -> None:
        self._limit = limit
        self._lock = threading.Lock()
        #: jti -> (iat, exp), oldest first
        self._entries: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._watermark = float("-inf")

    def __len__(self) -> int:
        return len(self._entries)

    def refused(self, jti: str, iat: float) -> bool:
        """True when the token ``jti`` (issued at ``iat``) was used or revoked, or is older than the watermark."""
        with self._lock:
            return iat <= self._watermark or jti in self._entries

    def consume(self, jti: str, iat: float, exp: float, now: float) -> bool:
        """Mark the token used; False when it already was (or is refused): one use per token, even under races."""
        with self._lock:
            if iat <= self._watermark or jti in self._entries:
                return False
            self._add(jti, iat, exp, now)
            return True

    def _add(self, jti: str, iat: float, exp: float, now: float) -> None:
        entries = self._entries
        # drop the entries whose tokens have expired (they are refused for their expiry anyway)
        while entries:
            oldest = next(iter(entries))
            if entries[oldest][1] > now:
                break
            del entries[oldest]
        entries[jti] = (iat, exp)
        while len(entries) > self._limit:
            _, (old_iat, _) = entries.popitem(last=False)
            self._watermark = max(self._watermark, old_iat)

    def revoke(self, jti: str, iat: float, exp: float, now: float) -> None:
        with self._lock:
            if jti not in self._entries and iat > self._watermark:
                self._add(jti, iat, exp, now)
