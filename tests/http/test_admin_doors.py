"""The admin API and the dashboard belong to their own origin (#23), over real sockets.

State-changing ``/_mock`` requests take JSON (a form or ``text/plain``, which a page of another origin can send
without a preflight, is a 415), an ``Origin`` that is not the server's own is a 403, a ``Host`` that is not one of
the server's names is a 403 (DNS rebinding), nothing can frame the dashboard, and a fault rule's answer is inert.
The browser side of the same doors is in ``tests/browser/test_cross_origin.py``."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest
import requests

from mockserver.core.contract import JSON_V1
from mockserver.http.doors import HostRule
from mockserver.runtime.server import MockServer

TIMEOUT = 10
RULE: dict[str, Any] = {"match": {"method": "GET"}, "action": {"type": "status", "status": 503}}


def _own(server: MockServer) -> str:
    return f"http://127.0.0.1:{server.http_port}"


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/plain", '{"match": {}, "action": {"type": "status", "status": 500}}'),
        ("application/x-www-form-urlencoded", "a=1"),
        ("multipart/form-data; boundary=x", "--x--\r\n"),
    ],
)
def test_a_body_another_page_could_send_without_a_preflight_is_a_415(
    server: MockServer, content_type: str, body: str
) -> None:
    answer = requests.post(
        server.base_url + "/_mock/faults", data=body, headers={"Content-Type": content_type}, timeout=TIMEOUT
    )
    assert answer.status_code == 415
    message = answer.json()["message"]
    assert "JSON" in message and "another web page" in message and content_type.split(";")[0] in message
    assert len(server.faults) == 0


def test_a_form_posted_to_reset_is_refused_and_json_clients_keep_working(server: MockServer) -> None:
    server.faults.add(**RULE)
    form = requests.post(server.base_url + "/_mock/reset", data={"x": "1"}, timeout=TIMEOUT)
    assert form.status_code == 415 and len(server.faults) == 1
    empty_form = requests.post(
        server.base_url + "/_mock/reset",
        headers={"Content-Type": "application/x-www-form-urlencoded", "Content-Length": "0"},
        timeout=TIMEOUT,
    )
    assert empty_form.status_code == 415 and len(server.faults) == 1
    untyped_body = requests.post(server.base_url + "/_mock/seed", data=b"[]", timeout=TIMEOUT)
    assert untyped_body.status_code == 415 and "without a Content-Type" in untyped_body.json()["message"]
    # what the CLI, RemoteServer and curl send: JSON, or no body at all
    assert requests.post(server.base_url + "/_mock/reset", timeout=TIMEOUT).status_code == 200
    assert len(server.faults) == 0
    assert requests.post(server.base_url + "/_mock/faults", json=RULE, timeout=TIMEOUT).status_code == 201
    yaml_rule = "match: {method: GET}\naction: {type: status, status: 500}\n"
    as_yaml = requests.post(
        server.base_url + "/_mock/faults", data=yaml_rule, headers={"Content-Type": "application/yaml"}, timeout=TIMEOUT
    )
    assert as_yaml.status_code == 201
    assert requests.delete(server.base_url + "/_mock/faults", timeout=TIMEOUT).status_code in (200, 204)


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://evil.example"},
        {"Origin": "null"},
        {"Origin": "http://127.0.0.1:1"},  # the same host on another port is another origin
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
    ],
)
def test_a_state_change_from_another_origin_is_a_403(server: MockServer, headers: dict[str, str]) -> None:
    for method, path in (("POST", "/_mock/faults"), ("POST", "/_mock/reset"), ("DELETE", "/_mock/messages")):
        answer = requests.request(method, server.base_url + path, json=RULE, headers=headers, timeout=TIMEOUT)
        assert answer.status_code == 403, (method, path)
        assert "another" in answer.json()["message"]
        assert "Access-Control-Allow-Origin" not in answer.headers
    assert len(server.faults) == 0


def test_the_servers_own_origin_may_change_state(server: MockServer) -> None:
    for origin in (_own(server), f"http://localhost:{server.http_port}"):
        host = origin.removeprefix("http://")
        answer = requests.post(
            server.base_url + "/_mock/faults",
            json=RULE,
            headers={"Origin": origin, "Host": host, "Sec-Fetch-Site": "same-origin"},
            timeout=TIMEOUT,
        )
        assert answer.status_code == 201, answer.text
    assert len(server.faults) == 2


def test_no_preflight_is_granted(server: MockServer) -> None:
    answer = requests.options(
        server.base_url + "/_mock/faults",
        headers={
            "Origin": "http://evil.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
        timeout=TIMEOUT,
    )
    assert not any(name.lower().startswith("access-control-allow") for name in answer.headers)


@pytest.mark.parametrize("path", ["/_mock/messages", "/_mock/config", "/_mock/ui/", "/_mock/ui/api/info"])
def test_a_host_that_is_not_one_of_the_servers_names_is_a_403(server: MockServer, path: str) -> None:
    rebound = requests.get(server.base_url + path, headers={"Host": f"evil.example:{server.http_port}"}, timeout=10)
    assert rebound.status_code == 403
    assert "DNS rebinding" in rebound.json()["message"] and "--allowed-hosts evil.example" in rebound.json()["message"]


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "[::1]", "ci.localhost", "10.1.2.3", "LOCALHOST."])
def test_loopback_names_and_ip_addresses_are_answered(server: MockServer, host: str) -> None:
    value = f"{host}:{server.http_port}"
    assert requests.get(server.base_url + "/_mock/health", headers={"Host": value}, timeout=TIMEOUT).status_code == 200


def test_the_api_answers_any_host_as_the_service_does(server: MockServer) -> None:
    headers = {**server.auth_headers(), "Host": "cxmock.svc.cluster.local"}
    assert requests.get(server.api_url + "/SMTPSettings", headers=headers, timeout=TIMEOUT).status_code == 200


def test_allowed_hosts_widens_the_list(make_server: Callable[..., MockServer]) -> None:
    server = make_server(allowed_hosts=("cxmock", ".corp.example"))
    for host, status in (("cxmock", 200), ("ci.corp.example", 200), ("corp.example", 200), ("other", 403)):
        answer = requests.get(server.base_url + "/_mock/health", headers={"Host": host}, timeout=TIMEOUT)
        assert answer.status_code == status, host


def test_allowed_hosts_star_turns_the_check_off_with_a_warning(
    make_server: Callable[..., MockServer], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="cxmock"):
        server = make_server(allowed_hosts=("*",))
    assert any("DNS rebinding" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    answer = requests.get(server.base_url + "/_mock/health", headers={"Host": "anything.example"}, timeout=TIMEOUT)
    assert answer.status_code == 200


def test_the_host_rule_knows_the_bound_address_and_the_machines_name() -> None:
    rule = HostRule("cxmock-box.lan", machine=["buildhost", "buildhost.corp"])
    assert rule.allows("cxmock-box.lan:8080") and rule.allows("buildhost") and rule.allows("BuildHost.corp:1")
    assert rule.allows(None) and not rule.allows("evil.example") and not rule.allows("buildhost.evil.example")
    assert not HostRule("0.0.0.0", machine=[]).allows("0.0.0.0.evil.example")  # nosec B104 - a name, nothing bound


@pytest.mark.parametrize("path", ["/_mock/health", "/_mock/ui/", "/_mock/ui/static/app.js", "/_mock/nope"])
def test_admin_and_dashboard_answers_cannot_be_framed(server: MockServer, path: str) -> None:
    answer = requests.get(server.base_url + path, timeout=TIMEOUT)
    assert answer.headers["X-Frame-Options"] == "DENY"
    assert answer.headers["Content-Security-Policy"].count("frame-ancestors 'none'") == 1
    assert answer.headers["X-Content-Type-Options"] == "nosniff"


def test_a_fault_rule_cannot_make_the_api_serve_active_content(server: MockServer) -> None:
    page = "<html><script>fetch('/_mock/messages')</script></html>"
    server.faults.add(
        match={"operationId": "getAllSmtpSettings"},
        action={
            "type": "status",
            "status": 200,
            "body": page,
            "headers": {
                "Content-Type": "text/html",
                "Content-Security-Policy": "default-src *",
                "X-Content-Type-Options": "sniff",
            },
        },
        times=1,
    )
    server.faults.add(
        match={"operationId": "getAllSmtpSettings"}, action={"type": "content_type", "value": "text/html"}
    )
    headers = {**server.auth_headers(), "Accept": JSON_V1}
    for _ in range(2):  # the status rule, then the content_type rule over the real body
        answer = requests.get(server.api_url + "/SMTPSettings", headers=headers, timeout=TIMEOUT)
        assert answer.headers["Content-Type"].startswith("text/html")
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert answer.headers["Content-Security-Policy"].startswith("sandbox;")
