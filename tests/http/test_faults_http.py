"""HTTP fault injection observed by a real client (``requests``) through real sockets on 127.0.0.1.

Every action of PRODUCT.md §4 on the wire, the schedule (``times``, ``after``, seeded ``probability``), the three
ways of setting rules (file, admin API, Python) giving the same behaviour, reset, concurrency, the admin API's
validation and the journal's record of each firing. Delays are asserted as lower bounds only.
"""

from __future__ import annotations

import errno
import json
import logging
import socket
import threading
from collections.abc import Callable, Iterator
from http.client import RemoteDisconnected
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from flask import Flask
from flask.testing import FlaskClient
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from mockserver.core.contract import JSON_V1
from mockserver.core.state import State
from mockserver.errors import ConfigError
from mockserver.http.oidc import OPERATIONS as OIDC_OPERATIONS
from mockserver.http.record import operation_id, operation_ids
from mockserver.runtime.server import MockServer

SETTINGS = "/SMTPSettings"
TIMEOUT = 10  # every client call: nothing waits forever

GET_LIST_503: dict[str, Any] = {
    "name": "flaky-list",
    "match": {"method": "GET", "path": "/cxrestapi/auth/SMTPSettings"},
    "action": {"type": "status", "status": 503, "headers": {"X-Fault": "yes"}},
    "times": 2,
}


# -- fixtures ----------------------------------------------------------------------------------------------------


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


def get_list(server: MockServer, http: requests.Session, **kwargs: Any) -> requests.Response:
    headers = {**server.auth_headers(), **kwargs.pop("headers", {})}
    return http.get(server.api_url + SETTINGS, headers=headers, timeout=kwargs.pop("timeout", TIMEOUT), **kwargs)


def outcome(server: MockServer, http: requests.Session) -> int | str:
    """The status of one list call, or the kind of connection error."""
    try:
        return get_list(server, http).status_code
    except requests.exceptions.ConnectionError:
        return "connection-error"


def chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and what it wraps (cause, context, args): requests wraps urllib3, which wraps the OSError."""
    seen: list[BaseException] = []
    todo: list[Any] = [exc]
    while todo:
        item = todo.pop()
        if isinstance(item, BaseException) and all(item is not s for s in seen):
            seen.append(item)
            todo.extend([item.__cause__, item.__context__, *item.args])
    return seen


def was_reset(exc: BaseException) -> bool:
    """A TCP RST reached the client (``ECONNRESET``), as opposed to a clean close (``RemoteDisconnected``)."""
    return any(isinstance(e, OSError) and e.errno == errno.ECONNRESET for e in chain(exc))


# -- each action on the wire -------------------------------------------------------------------------------------


def test_status_with_body_and_headers(mock: MockServer, http: requests.Session) -> None:
    mock.faults.add(
        match={"path": "/cxrestapi/auth/SMTPSettings"},
        action={"type": "status", "status": 502, "body": {"oops": True}, "headers": {"X-Upstream": "down"}},
    )
    response = get_list(mock, http)
    assert response.status_code == 502
    assert response.json() == {"oops": True}
    assert response.headers["X-Upstream"] == "down"
    assert response.headers["Content-Type"] == JSON_V1


def test_status_default_body_is_the_vendor_error_shape(mock: MockServer, http: requests.Session) -> None:
    mock.faults.add(action={"type": "status", "status": 500}, name="boom")
    response = get_list(mock, http)
    assert response.status_code == 500
    body = response.json()
    assert set(body) == {"message"}
    assert "boom" in body["message"] and "500" in body["message"]


def test_rate_limit_has_retry_after(mock: MockServer, http: requests.Session) -> None:
    mock.faults.add(action={"type": "rate_limit", "retry_after": 7}, times=1)
    response = get_list(mock, http)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    assert set(response.json()) == {"message"}
    assert get_list(mock, http).status_code == 200


def test_expire_token_then_the_same_token_works(mock: MockServer, http: requests.Session) -> None:
    headers = mock.auth_headers()
    mock.faults.add(action="expire_token", times=2)
    url = mock.api_url + SETTINGS
    statuses = []
    for _ in range(3):
        response = http.get(url, headers=headers, timeout=TIMEOUT)
        statuses.append(response.status_code)
        if response.status_code == 401:
            assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
            assert set(response.json()) == {"message"}
    assert statuses == [401, 401, 200]


@pytest.mark.parametrize(
    ("action", "minimum_s"),
    [
        ({"type": "delay", "ms": 250}, 0.25),
        ({"type": "delay", "jitter": {"distribution": "uniform", "min_ms": 150, "max_ms": 200}}, 0.15),
    ],
    ids=["fixed", "uniform-jitter"],
)
def test_delay_then_the_normal_response(
    mock: MockServer, http: requests.Session, action: dict[str, Any], minimum_s: float
) -> None:
    mock.faults.add(action=action, times=1)
    response = get_list(mock, http)
    assert response.status_code == 200
    assert isinstance(response.json(), list)
    assert response.elapsed.total_seconds() >= minimum_s  # a lower bound only


def test_drop_closes_the_connection_without_a_response(mock: MockServer, http: requests.Session) -> None:
    mock.faults.add(action="drop", times=1)
    with pytest.raises(requests.exceptions.ConnectionError) as info:
        get_list(mock, http)
    assert not was_reset(info.value)  # a FIN, not a RST
    assert any(isinstance(e, RemoteDisconnected) for e in chain(info.value))
    assert get_list(mock, http).status_code == 200  # the same session reconnects


def test_drop_with_a_request_body(mock: MockServer, http: requests.Session) -> None:
    mock.faults.add(match={"method": "POST"}, action="drop", times=1)
    body = {"host": "smtp.example.org", "port": 25, "password": "drop-secret"}
    headers = {**mock.auth_headers(), "Content-Type": JSON_V1}
    with pytest.raises(requests.exceptions.ConnectionError):
        http.post(mock.api_url + SETTINGS, json=body, headers=headers, timeout=TIMEOUT)
    (entry,) = mock.requests(method="POST")
    assert entry.status is None
    assert entry.body["host"] == "smtp.example.org" and entry.body["password"] == "***"


def test_reset_sends_a_tcp_reset(mock: MockServer, http: requests.Session) -> None:
    mock.faults.add(action="reset", times=1)
    with pytest.raises(requests.exceptions.ConnectionError) as info:
        get_list(mock, http)
    assert was_reset(info.value)
    assert get_list(mock, http).status_code == 200


def test_connection_faults_log_nothing_above_info(
    mock: MockServer, http: requests.Session, caplog: pytest.LogCaptureFixture
) -> None:
    mock.faults.add(action="drop", times=1)
    mock.faults.add(action="reset", times=1)
    with caplog.at_level(logging.DEBUG):
        for _ in range(2):
            with pytest.raises(requests.exceptions.ConnectionError):
                get_list(mock, http)
        assert get_list(mock, http).status_code == 200
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


@pytest.mark.slow
def test_hang_trips_the_client_timeout(make_server: Callable[..., MockServer]) -> None:
    server = make_server()
    server.faults.add(action={"type": "hang", "seconds": 30}, times=1)
    with requests.Session() as http, pytest.raises(requests.exceptions.ReadTimeout):
        get_list(server, http, timeout=1)
    server.stop()  # returns although the hang had 30 s to go (no time is asserted)
    (entry,) = server.requests()
    assert entry.status is None
    assert [f["action"] for f in entry.faults] == ["hang"]


def test_stop_ends_a_hang_that_is_still_holding(make_server: Callable[..., MockServer]) -> None:
    server = make_server()
    hang = server.faults.add(action={"type": "hang", "seconds": 30}, times=1)
    request = (
        f"GET /cxrestapi/auth/SMTPSettings HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {server.token()}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", server.http_port), timeout=TIMEOUT) as client:
        client.sendall(request)
        client.settimeout(0.3)
        with pytest.raises(TimeoutError):  # held: nothing comes back while the server runs
            client.recv(1)
        assert hang.hits == 1
        server.stop()
        client.settimeout(TIMEOUT)
        assert client.recv(1) == b""  # then dropped, without a byte of response


@pytest.mark.parametrize("mode", ["invalid", "truncated"])
def test_malformed_keeps_the_status_and_breaks_the_json(mock: MockServer, http: requests.Session, mode: str) -> None:
    mock.faults.add(action={"type": "malformed", "mode": mode}, times=1)
    response = get_list(mock, http)
    assert response.status_code == 200
    with pytest.raises(requests.exceptions.JSONDecodeError):
        response.json()
    assert get_list(mock, http).json()  # healthy again


def test_content_type_changes_only_the_media_type(mock: MockServer, http: requests.Session) -> None:
    mock.faults.add(action={"type": "content_type", "value": "text/html; charset=utf-8"}, times=1)
    response = get_list(mock, http)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert isinstance(json.loads(response.content), list)


def test_connection_faults_under_a_server_without_abort_answer_502(
    app_state: State, client: FlaskClient, headers: dict[str, str]
) -> None:
    app_state.faults.add(action="drop", times=1)
    response = client.get("/cxrestapi/auth/SMTPSettings", headers=headers)
    assert response.status_code == 502
    assert "cxmock HTTP server" in response.get_json()["message"]


# -- matching ---------------------------------------------------------------------------------------------------


def test_match_on_operation_id_user_and_header(mock: MockServer, http: requests.Session) -> None:
    mock.faults.add(match={"operationId": "getSmtpSettingsById"}, action={"type": "status", "status": 418})
    mock.faults.add(match={"user": "viewer"}, action={"type": "status", "status": 503})
    mock.faults.add(match={"headers": {"X-Worker": "gw3"}}, action={"type": "status", "status": 504})
    assert get_list(mock, http).status_code == 200
    item = http.get(mock.api_url + SETTINGS + "/1", headers=mock.auth_headers(), timeout=TIMEOUT)
    assert item.status_code == 418
    viewer = http.get(mock.api_url + SETTINGS, headers=mock.auth_headers("viewer", "viewer"), timeout=TIMEOUT)
    assert viewer.status_code == 503  # without the rule: 403
    assert get_list(mock, http, headers={"X-Worker": "gw3"}).status_code == 504
    assert get_list(mock, http, headers={"X-Worker": "gw4"}).status_code == 200


def test_the_admin_api_is_never_faulted(mock: MockServer, http: requests.Session) -> None:
    mock.faults.add(match={"path": "*"}, action="drop")
    listing = http.get(mock.base_url + "/_mock/faults", timeout=TIMEOUT)
    assert listing.status_code == 200 and len(listing.json()["rules"]) == 1
    assert http.delete(mock.base_url + "/_mock/faults", timeout=TIMEOUT).status_code == 204
    assert get_list(mock, http).status_code == 200


# -- schedule ---------------------------------------------------------------------------------------------------


def test_retrying_client_meets_times_2_as_503_503_200(mock: MockServer) -> None:
    mock.faults.add(GET_LIST_503)
    retry = Retry(total=3, status_forcelist=[503], backoff_factor=0, allowed_methods=None, raise_on_status=False)
    with requests.Session() as http:
        http.mount("http://", HTTPAdapter(max_retries=retry))
        response = get_list(mock, http)
    assert response.status_code == 200
    assert [entry.status for entry in mock.requests()] == [503, 503, 200]


def test_after_3_lets_three_through(mock: MockServer, http: requests.Session) -> None:
    mock.faults.add(action={"type": "status", "status": 503}, after=3, times=1)
    assert [outcome(mock, http) for _ in range(5)] == [200, 200, 200, 503, 200]


def _probability_outcomes(make_server: Callable[..., MockServer], seed: int) -> list[int | str]:
    server = make_server(fault_seed=seed)
    server.faults.add(action={"type": "status", "status": 503}, probability=0.3)
    with requests.Session() as http:
        outcomes = [outcome(server, http) for _ in range(40)]
    server.stop()
    return outcomes


def test_probability_is_reproducible_with_a_seed(make_server: Callable[..., MockServer]) -> None:
    first = _probability_outcomes(make_server, seed=1234)
    again = _probability_outcomes(make_server, seed=1234)
    other = _probability_outcomes(make_server, seed=4321)
    assert first == again
    assert set(first) == {200, 503}
    assert other != first


def test_times_5_fires_exactly_5_times_under_8_threads(mock: MockServer) -> None:
    fault = mock.faults.add(action={"type": "status", "status": 503}, times=5, name="five")
    headers = mock.auth_headers()
    url = mock.api_url + SETTINGS
    statuses: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker() -> None:
        try:
            with requests.Session() as http:
                for _ in range(6):
                    code = http.get(url, headers=headers, timeout=TIMEOUT).status_code
                    with lock:
                        statuses.append(code)
        except BaseException as exc:  # re-raised in the test below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors and len(statuses) == 48
    assert statuses.count(503) == 5
    journaled = [entry for entry in mock.requests() if entry.faults]
    assert len(journaled) == 5 and {entry.status for entry in journaled} == {503}
    assert fault.hits == 5
    assert mock.faults.list()[0]["remaining"] == 0


# -- file, admin API and Python API -----------------------------------------------------------------------------


def _arm_by_file(make_server: Callable[..., MockServer], tmp_path: Path) -> MockServer:
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump([GET_LIST_503]), encoding="utf-8")
    return make_server(faults=(str(path),))


def _arm_by_admin(make_server: Callable[..., MockServer], tmp_path: Path) -> MockServer:
    server = make_server()
    response = requests.post(server.base_url + "/_mock/faults", json=GET_LIST_503, timeout=TIMEOUT)
    assert response.status_code == 201, response.text
    return server


def _arm_by_python(make_server: Callable[..., MockServer], tmp_path: Path) -> MockServer:
    server = make_server()
    server.faults.add(**GET_LIST_503)
    return server


@pytest.mark.parametrize("arm", [_arm_by_file, _arm_by_admin, _arm_by_python], ids=["file", "admin", "python"])
def test_file_admin_and_python_rules_behave_the_same(
    make_server: Callable[..., MockServer], tmp_path: Path, arm: Callable[..., MockServer]
) -> None:
    server = arm(make_server, tmp_path)
    seen = []
    with requests.Session() as http:
        for _ in range(3):
            response = get_list(server, http)
            seen.append((response.status_code, response.headers.get("X-Fault"), response.json()))
        other = http.get(server.api_url + SETTINGS + "/1", headers=server.auth_headers(), timeout=TIMEOUT)
    assert [s[:2] for s in seen] == [(503, "yes"), (503, "yes"), (200, None)]
    assert set(seen[0][2]) == {"message"} and "flaky-list" in seen[0][2]["message"]
    assert isinstance(seen[2][2], list)
    assert other.status_code == 200
    (rule,) = server.faults.list()
    assert (rule["name"], rule["hits"], rule["seen"], rule["remaining"]) == ("flaky-list", 2, 3, 0)
    assert [f["ruleId"] for f in server.faults.firings()] == [rule["id"]] * 2


# -- control ----------------------------------------------------------------------------------------------------


def test_rules_do_not_survive_reset(mock: MockServer, http: requests.Session) -> None:
    mock.faults.add(action={"type": "status", "status": 503})
    assert http.post(mock.base_url + "/_mock/faults", json={"preset": "flaky-5xx"}, timeout=TIMEOUT).ok
    assert len(mock.faults.list()) == 2
    mock.reset()
    assert mock.faults.list() == [] and mock.faults.firings() == []
    assert get_list(mock, http).status_code == 200


def test_file_rules_are_the_baseline_rearmed_by_reset(make_server: Callable[..., MockServer], tmp_path: Path) -> None:
    server = _arm_by_file(make_server, tmp_path)
    server.faults.add(action="drop")
    with requests.Session() as http:
        assert get_list(server, http).status_code == 503  # the file rule comes first
        server.reset()
        assert [r["name"] for r in server.faults.list()] == ["flaky-list"]
        assert [outcome(server, http) for _ in range(3)] == [503, 503, 200]  # counters restarted


def test_faults_option_takes_a_preset_name(make_server: Callable[..., MockServer]) -> None:
    server = make_server(faults=("flaky-5xx",))
    with requests.Session() as http:
        assert [outcome(server, http) for _ in range(3)] == [503, 503, 200]


def test_a_bad_fault_file_names_the_file_and_the_field(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("- action: {type: status, status: 99}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        MockServer(faults=(str(path),))
    assert str(path) in str(info.value) and "rule[0].action.status" in str(info.value)
    with pytest.raises(ConfigError, match="not a preset name either"):
        MockServer(faults=("no-such-preset",))


def test_python_handle_is_a_context_manager(mock: MockServer, http: requests.Session) -> None:
    with mock.faults.add(action={"type": "status", "status": 503}, name="scoped") as fault:
        assert get_list(mock, http).status_code == 503
        assert fault.active
    assert not fault.active and fault.hits == 1
    assert mock.faults.list() == []
    assert get_list(mock, http).status_code == 200
    preset = mock.faults.preset("rate-limited")
    assert len(preset.ids) == 1
    assert mock.faults.remove(preset.id) is True and mock.faults.remove(preset.id) is False
    with pytest.raises(TypeError):
        mock.faults.add(GET_LIST_503, times=1)


def test_admin_api_lists_adds_and_removes(mock: MockServer, http: requests.Session) -> None:
    admin = mock.base_url + "/_mock/faults"
    created = http.post(admin, json={"rules": [GET_LIST_503, {"action": "drop", "after": 100}]}, timeout=TIMEOUT)
    assert created.status_code == 201
    first, second = created.json()["ids"]
    preset = http.post(admin, json={"preset": "slow"}, timeout=TIMEOUT)
    assert preset.status_code == 201 and preset.headers["Location"].endswith("/_mock/faults/" + preset.json()["ids"][0])
    assert http.delete(admin + "/" + preset.json()["ids"][0], timeout=TIMEOUT).status_code == 204
    assert get_list(mock, http).status_code == 503
    listing = http.get(admin, timeout=TIMEOUT).json()
    assert [r["id"] for r in listing["rules"]] == [first, second]
    assert (listing["rules"][0]["hits"], listing["rules"][0]["remaining"]) == (1, 1)
    assert listing["rules"][1]["seen"] == 0  # the first rule took the request
    assert listing["firings"][-1]["ruleId"] == first
    assert http.get(admin + "/" + first, timeout=TIMEOUT).json()["hits"] == 1
    assert http.delete(admin + "/" + first, timeout=TIMEOUT).status_code == 204
    missing = http.delete(admin + "/" + first, timeout=TIMEOUT)
    assert missing.status_code == 404 and "message" in missing.json()
    assert http.delete(admin, timeout=TIMEOUT).status_code == 204
    assert http.get(admin, timeout=TIMEOUT).json()["rules"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"action": {"type": "status", "status": "abc"}}, "rule[0].action.status"),
        ([GET_LIST_503, {"action": {"type": "explode"}}], "rule[1].action.type"),
        ({"match": {"method": "GET"}, "action": "drop", "tims": 2}, "rule[0].tims"),
        ({"preset": "no-such-preset"}, "preset"),
    ],
    ids=["bad-status", "bad-second-rule", "unknown-key", "unknown-preset"],
)
def test_invalid_rule_over_admin_is_400_naming_the_field(
    mock: MockServer, http: requests.Session, body: Any, field: str
) -> None:
    response = http.post(mock.base_url + "/_mock/faults", json=body, timeout=TIMEOUT)
    assert response.status_code == 400
    error = response.json()
    assert set(error) == {"message", "errors"}  # the admin API adds per-field errors next to the message
    assert field in error["message"]
    assert list(error["errors"]) == [field]
    assert mock.faults.list() == []  # nothing half-applied


def test_admin_api_is_under_the_admin_token_lock(make_server: Callable[..., MockServer]) -> None:
    server = make_server(admin_token="s3cret")
    url = server.base_url + "/_mock/faults"
    assert requests.post(url, json=GET_LIST_503, timeout=TIMEOUT).status_code == 401
    ok = requests.post(url, json=GET_LIST_503, headers={"X-Cxmock-Admin-Token": "s3cret"}, timeout=TIMEOUT)
    assert ok.status_code == 201
    assert requests.delete(url, timeout=TIMEOUT).status_code == 401
    assert len(server.faults.list()) == 1


# -- journal ------------------------------------------------------------------------------------------------------


def test_journal_entry_lists_the_fault(mock: MockServer, http: requests.Session) -> None:
    mock.faults.add(GET_LIST_503)
    mock.faults.add(match={"operationId": "getSmtpSettingsById"}, action="reset", name="rst")
    get_list(mock, http)
    with pytest.raises(requests.exceptions.ConnectionError):
        http.get(mock.api_url + SETTINGS + "/1", headers=mock.auth_headers(), timeout=TIMEOUT)
    listed, reset = mock.requests()
    assert listed.status == 503 and listed.operation_id == "getAllSmtpSettings" and listed.user == "admin"
    assert listed.faults == [{"ruleId": mock.faults.list()[0]["id"], "name": "flaky-list", "action": "status"}]
    assert reset.status is None and reset.operation_id == "getSmtpSettingsById"
    assert [(f["name"], f["action"]) for f in reset.faults] == [("rst", "reset")]
    over_admin = http.get(mock.base_url + "/_mock/requests", timeout=TIMEOUT).json()
    assert over_admin[0]["faults"][0]["action"] == "status" and over_admin[1]["status"] is None


def test_every_api_route_resolves_to_its_operation_id(app: Flask) -> None:
    """Rules matching ``operationId`` rely on the route -> operationId map built from the OpenAPI document."""
    operations = operation_ids()
    resolved = {
        operation_id(operations, method, rule.rule)
        for rule in app.url_map.iter_rules()
        # the OIDC endpoints (discovery, JWKS, userinfo, revocation) are outside the OpenAPI document
        if rule.rule.startswith("/cxrestapi/") and not rule.endpoint.startswith("oidc.")
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    }
    assert resolved == set(operations.values())
    # with the OIDC endpoints' own table (what the app's request records use), every API route has one
    everything = operation_ids(OIDC_OPERATIONS)
    missing = [
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/cxrestapi/")
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
        if operation_id(everything, method, rule.rule) is None
    ]
    assert missing == []
