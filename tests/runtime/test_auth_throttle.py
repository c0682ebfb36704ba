"""The throttle on failed client-secret and password checks per client address (#23: 474 wrong client secrets a
second were answered). Over real sockets; the clock is the throttle's own, moved by the test (no sleeping)."""

from __future__ import annotations

from collections.abc import Callable

import requests

from mockserver.config import DEFAULT_CLIENT_SECRET
from mockserver.core.identity.throttle import BURST, PER_SECOND, AuthThrottle
from mockserver.runtime.server import MockServer

TIMEOUT = 10


def _login(server: MockServer, password: str = "admin", secret: str = DEFAULT_CLIENT_SECRET) -> requests.Response:
    form = {
        "grant_type": "password",
        "username": "admin",
        "password": password,
        "scope": "access_control_api",
        "client_id": "resource_owner_client",
        "client_secret": secret,
    }
    return requests.post(server.api_url + "/identity/connect/token", data=form, timeout=TIMEOUT)


def _with_clock(server: MockServer) -> list[float]:
    now = [1000.0]
    throttle = server.state.identity.throttle
    assert isinstance(throttle, AuthThrottle)
    throttle._clock = lambda: now[0]
    return now


def test_failed_checks_past_the_burst_get_429_with_retry_after_then_refill(
    make_server: Callable[..., MockServer],
) -> None:
    server = make_server(auth_throttle=True)
    now = _with_clock(server)
    assert _login(server).status_code == 200  # successes take nothing
    for index in range(BURST):
        wrong = _login(server, password="guess") if index % 2 else _login(server, secret="guess")
        assert wrong.status_code == 400 and wrong.json()["error"] in ("invalid_grant", "invalid_client")
    throttled = _login(server)  # even the right password: no guess gets through while throttled
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "1"
    assert throttled.json()["error"] == "temporarily_unavailable"
    assert "--no-auth-throttle" in throttled.json()["error_description"]
    # the API itself is not throttled, nor a sandbox's token endpoint through another door than the address
    assert requests.get(server.base_url + "/_mock/health", timeout=TIMEOUT).status_code == 200
    now[0] += 1.0 / PER_SECOND  # refilled by one
    assert _login(server).status_code == 200
    assert _login(server, password="guess").status_code == 400
    assert _login(server).status_code == 429


def test_without_the_throttle_every_failed_check_is_answered_400(make_server: Callable[..., MockServer]) -> None:
    server = make_server()  # MockServer's default (cxmock serve turns it on; --no-auth-throttle off)
    assert server.state.identity.throttle is None
    assert all(_login(server, password="guess").status_code == 400 for _ in range(BURST + 5))
    assert _login(server).status_code == 200


def test_the_throttle_keeps_a_bounded_number_of_addresses() -> None:
    now = [0.0]
    throttle = AuthThrottle(burst=1, per_second=1.0, clock=lambda: now[0], addresses=3)
    for address in ("a", "b", "c", "d"):
        throttle.failed(address)
    assert list(throttle._buckets) == ["b", "c", "d"]
    throttle.check("a")  # forgotten: a full bucket again
    try:
        throttle.check("d")
    except Exception as exc:
        assert getattr(exc, "status", None) == 429
    else:
        raise AssertionError("d has no failed check left")
