"""The low items of #23, over real sockets: a seed that would break later creates or store fewer records than it
reports is a 400 naming the problem; an HTML part lost to the capture cut is reported as cut; a used refresh token
does not come back to life in a sandbox created again under the same name."""

from __future__ import annotations

import smtplib
from collections.abc import Callable

import requests

from mockserver.config import DEFAULT_CLIENT_SECRET
from mockserver.core.contract import JSON_V1
from mockserver.runtime.server import MockServer

RECORD = {
    "host": "h.example",
    "port": 25,
    "fromAddress": "a@b.org",
    "encryptionType": "None",
    "useDefaultCredentials": True,
}
TIMEOUT = 10


def _create(server: MockServer) -> requests.Response:
    headers = {**server.auth_headers(), "Content-Type": JSON_V1, "cxOrigin": "tests"}
    return requests.post(server.api_url + "/SMTPSettings", json=RECORD, headers=headers, timeout=TIMEOUT)


def test_a_seed_with_the_last_int32_id_is_refused_and_creates_keep_working(server: MockServer) -> None:
    seeded = requests.post(server.base_url + "/_mock/seed", json=[{**RECORD, "id": 2147483647}], timeout=TIMEOUT)
    assert seeded.status_code == 400
    message = seeded.json()["message"]
    assert "2147483647 is the last Int32" in message and "up to 2147483646" in message
    assert requests.post(server.base_url + "/_mock/seed", json=[{**RECORD, "id": 2147483646}], timeout=TIMEOUT).ok
    created = _create(server)
    assert created.status_code == 201 and created.headers["Location"].endswith("/SMTPSettings/2147483647")
    exhausted = _create(server)
    assert exhausted.status_code == 400 and "a new seed (POST /_mock/seed)" in exhausted.json()["message"]
    server.reset()
    assert _create(server).status_code == 400  # a reset never makes an issued id valid again
    assert requests.post(server.base_url + "/_mock/seed", json=[RECORD], timeout=TIMEOUT).ok
    again = _create(server)  # a new seed starts the ids again: creates work without a restart
    assert again.status_code == 201 and again.headers["Location"].endswith("/SMTPSettings/2")


def test_a_seed_with_a_duplicate_id_is_a_400_naming_it(server: MockServer) -> None:
    seed = [{**RECORD, "id": 7}, {**RECORD, "id": 8}, {**RECORD, "host": "other", "id": 7}]
    answer = requests.post(server.base_url + "/_mock/seed", json=seed, timeout=TIMEOUT)
    assert answer.status_code == 400
    assert "record 2: id 7 is also the id of record 0" in answer.json()["message"]
    assert [r["id"] for r in requests.get(server.base_url + "/_mock/seed", timeout=TIMEOUT).json()] == [1]


def test_an_html_part_lost_to_the_capture_cut_is_reported_as_cut(make_server: Callable[..., MockServer]) -> None:
    server = make_server(capture_raw_limit=4096)
    boundary = "b0undary"
    raw = (
        f"From: a@check.org\r\nTo: ops@check.org\r\nSubject: big\r\nMIME-Version: 1.0\r\n"
        f'Content-Type: multipart/alternative; boundary="{boundary}"\r\n\r\n'
        f"--{boundary}\r\nContent-Type: text/plain\r\n\r\n" + "text line\r\n" * 10_000 + f"--{boundary}\r\n"
        "Content-Type: text/html\r\n\r\n<p>lost</p>\r\n" + f"--{boundary}--\r\n"
    ).encode()
    with smtplib.SMTP("127.0.0.1", server.sink.smtp_port, timeout=TIMEOUT) as smtp:
        smtp.sendmail("a@check.org", ["ops@check.org"], raw)
    (item,) = requests.get(server.base_url + "/_mock/messages", timeout=TIMEOUT).json()
    assert item["html"] is None and item["htmlTruncated"] is True
    assert item["textTruncated"] is True and item["rawTruncated"] is True


def test_a_used_refresh_token_does_not_work_in_a_sandbox_created_again(server: MockServer) -> None:
    box = server.sandbox("again")
    token_url = box.api_url + "/identity/connect/token"
    basic = ("resource_owner_client", DEFAULT_CLIENT_SECRET)
    login = {
        "grant_type": "password",
        "username": "admin",
        "password": "admin",
        "scope": "access_control_api offline_access",
    }
    first = requests.post(token_url, data=login, auth=basic, timeout=TIMEOUT).json()
    refresh = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    assert requests.post(token_url, data=refresh, auth=basic, timeout=TIMEOUT).status_code == 200
    assert requests.post(token_url, data=refresh, auth=basic, timeout=TIMEOUT).status_code == 400  # used
    box.delete_sandbox()
    server.sandbox("again")  # the same name, a new sandbox
    again = requests.post(token_url, data=refresh, auth=basic, timeout=TIMEOUT)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    old_access = requests.get(
        box.api_url + "/SMTPSettings",
        headers={"Authorization": f"Bearer {first['access_token']}", "Accept": JSON_V1},
        timeout=TIMEOUT,
    )
    assert old_access.status_code == 401 and "earlier sandbox 'again'" in old_access.headers["WWW-Authenticate"]
