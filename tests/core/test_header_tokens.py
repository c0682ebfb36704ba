"""``HeaderTokens``: the one reuse rule of ``auth_headers()`` tokens, for every kind of handle (#21)."""

from __future__ import annotations

from mockserver.core.contract import JSON_V1
from mockserver.core.surface import HeaderTokens


def test_a_token_is_reused_for_half_its_lifetime_per_user_then_minted_again() -> None:
    now = [100.0]
    minted: list[str] = []

    def mint(user: str) -> tuple[str, float]:
        minted.append(f"{user}-{len(minted)}")
        return minted[-1], 60.0

    tokens = HeaderTokens(clock=lambda: now[0])
    first = tokens.headers("admin", "admin", lambda: mint("admin"))
    assert first == {"Authorization": "Bearer admin-0", "Accept": JSON_V1}
    now[0] += 29.9
    assert tokens.headers("admin", "admin", lambda: mint("admin")) == first
    assert tokens.headers("viewer", "viewer", lambda: mint("viewer"))["Authorization"] == "Bearer viewer-1"
    assert tokens.headers("admin", "other", lambda: mint("admin"))["Authorization"] == "Bearer admin-2"
    now[0] += 0.1  # half the lifetime: a fresh one
    assert tokens.headers("admin", "admin", lambda: mint("admin"))["Authorization"] == "Bearer admin-3"
    tokens.clear()
    assert tokens.headers("admin", "admin", lambda: mint("admin"))["Authorization"] == "Bearer admin-4"
