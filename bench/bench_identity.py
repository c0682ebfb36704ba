"""Identity benchmarks (issue #13): what a JWT costs to issue and to verify, and what JWT verification costs a
``GET /SMTPSettings`` against the opaque-token lookup it replaced.

- Issue: ``Identity.issue`` (password grant: client and password checks, claims, RS256 signature) per call, against
  PyJWT signing the same claims with the same key (the library's floor).
- Verify: ``Identity.authenticate`` of a token seen before (the bounded verification cache: a dict hit and the
  expiry check) and of a token seen for the first time (the RSA signature check), against PyJWT's ``decode``.
- ``GET /SMTPSettings`` through the WSGI app (no socket, interleaved chunks), with JWT verification vs with the
  bearer check swapped for the old opaque-token store's work (parse the header, one dict lookup, the expiry check).
  Target: at most 5 % slower, same run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import jwt

from mockserver import MockServer
from mockserver.core.identity.identity import TokenInfo

from ._common import Mode, Row, median, row, token_form

SECTION = "Identity: JWT issue and verify (bench/bench_identity.py)"
LIST_PATH = "/cxrestapi/auth/SMTPSettings"
FORM = token_form()


def _per_call_us(func: Callable[[], Any], calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        func()
    return (time.perf_counter() - start) / calls * 1e6


def _interleaved(mode: Mode, variants: dict[str, Callable[[], Any]], chunk: int) -> dict[str, list[float]]:
    """Per-call µs of each variant: one value per run, the median of many short chunks interleaved variant by
    variant (a burst of other load hits every variant alike)."""
    chunks = 2 if mode.quick else 15
    runs = max(2, mode.runs) if mode.quick else mode.runs
    for func in variants.values():  # warm-up
        _per_call_us(func, chunk)
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(runs):
        per_chunk: dict[str, list[float]] = {name: [] for name in variants}
        for _ in range(chunks):
            for name, func in variants.items():
                per_chunk[name].append(_per_call_us(func, chunk))
        for name, values in per_chunk.items():
            samples[name].append(median(values))
    return samples


def costs(mode: Mode) -> list[Row]:
    server = MockServer(start=False)
    identity = server.state.identity
    signer = identity.signer
    token = identity.issue(FORM)["access_token"]
    claims = jwt.decode(token, options={"verify_signature": False})
    header = {"kid": signer.kid, "typ": "at+jwt"}
    private = signer._private()  # noqa: SLF001 - the same key, for the library-floor anchor
    public = private.public_key()
    fresh = [identity.issue(FORM)["access_token"] for _ in range(2000 if not mode.quick else 200)]
    position = iter(range(10**9))

    def first_sight() -> None:
        identity.authenticate("Bearer " + fresh[next(position) % len(fresh)])

    cached_header = f"Bearer {token}"
    samples = _interleaved(
        mode,
        {
            "issue": lambda: identity.issue(FORM),
            "pyjwt sign": lambda: jwt.encode(claims, private, algorithm="RS256", headers=header),
            "verify cached": lambda: identity.authenticate(cached_header),
            "verify first": first_sight,
            "pyjwt decode": lambda: jwt.decode(token, public, algorithms=["RS256"], options={"verify_aud": False}),
        },
        chunk=10 if mode.quick else 40,
    )
    # the verification cache holds 512 tokens: cycling through 2000 (200 in --quick) makes every "first" call a miss
    return [
        row(
            "token issue (password grant, RS256 JWT), per call",
            "µs",
            samples["issue"],
            section=SECTION,
            baseline=samples["pyjwt sign"],
            baseline_name="PyJWT RS256 encode of the same claims, same key",
            detail="client + password checks, claims from the users file, signature",
        ),
        row(
            "token verify, a token seen before (cache hit), per call",
            "µs",
            samples["verify cached"],
            section=SECTION,
            baseline=samples["pyjwt decode"],
            baseline_name="PyJWT RS256 decode of the same token",
            detail="header parse, bounded per-Identity LRU hit (512 tokens), expiry against the clock",
        ),
        row(
            "token verify, a token seen for the first time (RSA check), per call",
            "µs",
            samples["verify first"],
            section=SECTION,
            baseline=samples["pyjwt decode"],
            baseline_name="PyJWT RS256 decode of the same token",
            detail="kid check, PyJWT decode + RS256 signature, cache insert",
        ),
    ]


def smtp_settings(mode: Mode) -> list[Row]:
    """GET /SMTPSettings with JWT verification vs the opaque-token lookup of before (WSGI, no socket)."""
    from werkzeug.test import EnvironBuilder

    server = MockServer(start=False)
    app, identity = server.app, server.state.identity
    headers = server.auth_headers()
    env = EnvironBuilder(path=LIST_PATH, headers=list(headers.items())).get_environ()
    real = identity.authenticate
    info = real(headers["Authorization"])
    store: dict[str, TokenInfo] = {info.token: info}
    clock = time.time

    def opaque(authorization: str | None) -> TokenInfo:
        """What the replaced token store did per request: parse the header, one dict lookup, the expiry check."""
        scheme, _, value = (authorization or "").strip().partition(" ")
        found = store.get(value.strip()) if scheme.lower() == "bearer" else None
        if found is None or found.expires_at <= clock():
            raise RuntimeError("the benchmark's token is not in the store")
        return found

    def start_response(status: str, response_headers: Any, exc_info: Any = None) -> Callable[[bytes], None]:
        return lambda data: None

    def call(use: Callable[[str | None], TokenInfo]) -> Callable[[], None]:
        def once() -> None:
            identity.authenticate = use  # type: ignore[method-assign,assignment]
            body = app(dict(env), start_response)
            b"".join(body)
            getattr(body, "close", lambda: None)()

        return once

    try:
        samples = _interleaved(mode, {"jwt": call(real), "opaque": call(opaque)}, chunk=50 if mode.quick else 200)
    finally:
        identity.authenticate = real  # type: ignore[method-assign]
    return [
        row(
            "GET /SMTPSettings app time, JWT verification vs the opaque-token store it replaced",
            "µs",
            samples["jwt"],
            section=SECTION,
            baseline=samples["opaque"],
            baseline_name="same app, bearer check = header parse + dict lookup + expiry (the old store's work)",
            target=1.05,
            target_kind="ratio_max",
            detail="WSGI calls, no socket; the same token on every request, as a client reuses it",
        )
    ]
