"""Real clients' wire behaviour, replayed over real sockets: what each sends and what it reads back (issue #12).

- The NSwag C# client generated from the service's swagger (portilha/Checkmarx.API ``AccessControlClient.cs``):
  ``Content-Type: application/json-patch+json`` on every body, ``Accept: application/json``, members as the
  swagger models name them (``recieverEmail``, ``displayName``), a 400/404 read as ``ErrorViewModel``
  (``{"message"}``; anything else makes it throw "Response was null").
- Clients that spell the path ``/CxRestAPI/auth/...`` (Checkmarx/sast-to-ast-export) or wholly lower-cased
  (checkmarx-ts/CxUtils ``/cxrestapi/auth/myprofile``): ASP.NET routing ignores case.
- A client following the documentation page: ``receiverEmail``, which the service does not bind.
"""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
import requests

from mockserver.runtime.server import MockServer

TIMEOUT = 30
PASSWORD = "real-client-secret"


def nswag_headers(server: MockServer) -> dict[str, str]:
    """What the NSwag client sends with a body: its first swagger media type, an unversioned Accept."""
    return {
        "Authorization": server.auth_headers()["Authorization"],
        "Content-Type": "application/json-patch+json",
        "Accept": "application/json",
    }


def nswag_body(**members: Any) -> bytes:
    """``JsonConvert.SerializeObject`` of a swagger model: NullValueHandling.Ignore drops the null members."""
    return json.dumps({k: v for k, v in members.items() if v is not None}).encode()


SETTINGS = {
    "host": "smtp.corp.example",
    "port": 587,
    "encryptionType": "Tls",
    "fromAddress": "noreply@check.org",
    "useDefaultCredentials": False,
    "username": "mailer",
    "password": PASSWORD,
    "displayName": "Checkmarx CxSAST",
}


# -- the NSwag C# client: json-patch+json, recieverEmail, displayName ----------------------------------------------


def test_csharp_client_creates_updates_and_tests_a_connection_with_json_patch(mock: MockServer) -> None:
    base = mock.api_url + "/SMTPSettings"
    headers = nswag_headers(mock)
    created = requests.post(base, data=nswag_body(**SETTINGS), headers=headers, timeout=TIMEOUT)
    assert created.status_code == 201, created.text
    location = created.headers["Location"]
    record_id = int(location.rsplit("/", 1)[1])

    got = requests.get(
        f"{base}/{record_id}",
        headers={"Authorization": headers["Authorization"], "Accept": "application/json"},
        timeout=TIMEOUT,
    )
    assert got.status_code == 200
    view = got.json()  # ReadObjectResponseAsync<SMTPSettingsViewModel>: an object with the swagger's members
    assert view == {"id": record_id, **{k: v for k, v in SETTINGS.items() if k != "password"}}

    update = {**SETTINGS, "port": 2525, "displayName": "Renamed Sender", "password": None}  # null: not serialised
    updated = requests.put(f"{base}/{record_id}", data=nswag_body(**update), headers=headers, timeout=TIMEOUT)
    assert updated.status_code == 204 and updated.content == b""
    assert mock.state.settings.get(record_id).password == PASSWORD  # omitted password kept
    assert mock.state.settings.get(record_id).display_name == "Renamed Sender"

    test = nswag_body(**{**SETTINGS, "recieverEmail": "security-team@check.org"})
    tested = requests.post(base + "/testconnection", data=test, headers=headers, timeout=TIMEOUT)
    assert tested.status_code == 200 and tested.content == b""
    (mail,) = mock.sink.wait_for(count=1, timeout=5, to="security-team@check.org")
    assert mail.rcpt_tos == ["security-team@check.org"]
    assert mail.from_ == "Checkmarx CxSAST <noreply@check.org>"  # displayName as the display name in From:
    assert mail.mail_from == "noreply@check.org"


def test_csharp_client_reads_a_400_as_error_view_model(mock: MockServer) -> None:
    response = requests.post(
        mock.api_url + "/SMTPSettings",
        data=nswag_body(**{**SETTINGS, "port": 70000}),
        headers=nswag_headers(mock),
        timeout=TIMEOUT,
    )
    assert response.status_code == 400
    assert response.headers["Content-Type"].startswith("application/json")
    error = response.json()
    assert set(error) == {"message"} and isinstance(error["message"], str)
    assert "port" in error["message"] and "65535" in error["message"]  # names the field and the problem


def test_csharp_client_reads_a_404_as_error_view_model(mock: MockServer) -> None:
    headers = {"Authorization": mock.auth_headers()["Authorization"], "Accept": "application/json"}
    response = requests.get(mock.api_url + "/SMTPSettings/4242", headers=headers, timeout=TIMEOUT)
    assert response.status_code == 404
    error = response.json()
    assert set(error) == {"message"} and "4242" in error["message"]


@pytest.mark.parametrize("media_type", ["text/json", "application/json", "application/vnd.cx+json;v=1.0"])
def test_every_json_media_type_of_the_input_formatter_is_read(mock: MockServer, media_type: str) -> None:
    headers = {**nswag_headers(mock), "Content-Type": media_type}
    response = requests.post(
        mock.api_url + "/SMTPSettings", data=nswag_body(**SETTINGS), headers=headers, timeout=TIMEOUT
    )
    assert response.status_code == 201, response.text


@pytest.mark.parametrize("media_type", ["application/json-patch+json;v=2.0", "application/xml", "text/plain"])
def test_another_version_or_type_is_415_with_a_message(mock: MockServer, media_type: str) -> None:
    headers = {**nswag_headers(mock), "Content-Type": media_type}
    response = requests.post(
        mock.api_url + "/SMTPSettings", data=nswag_body(**SETTINGS), headers=headers, timeout=TIMEOUT
    )
    assert response.status_code == 415 and set(response.json()) == {"message"}


# -- path casing --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "prefix, collection, test",
    [
        ("/CxRestAPI/auth", "SMTPSettings", "testconnection"),  # sast-to-ast-export's spelling of the prefix
        ("/cxrestapi/auth", "smtpsettings", "testconnection"),  # wholly lower-cased (CxUtils style)
        ("/CXRESTAPI/AUTH", "SMTPSETTINGS", "TESTCONNECTION"),
        ("/CxRestApi/auth", "SMTPSettings", "TestConnection"),  # the product's own swagger URL casing
    ],
)
def test_paths_ignore_case_as_asp_net_routing_does(mock: MockServer, prefix: str, collection: str, test: str) -> None:
    base = mock.base_url + prefix + "/" + collection
    auth = {"Authorization": mock.auth_headers()["Authorization"], "cxOrigin": "casing"}
    json_v1 = {**auth, "Content-Type": "application/json;v=1.0", "Accept": "application/json;v=1.0"}
    listed = requests.get(base, headers=json_v1, timeout=TIMEOUT)
    assert listed.status_code == 200 and listed.json()[0]["id"] == 1
    created = requests.post(base, data=nswag_body(**SETTINGS), headers=json_v1, timeout=TIMEOUT)
    assert created.status_code == 201
    assert created.headers["Location"].startswith("/cxrestapi/auth/SMTPSettings/")  # canonical, as the service
    record_id = created.headers["Location"].rsplit("/", 1)[1]
    assert requests.get(f"{base}/{record_id}", headers=json_v1, timeout=TIMEOUT).status_code == 200
    tested = requests.post(
        f"{base}/{test}",
        data=nswag_body(**{**SETTINGS, "recieverEmail": "case@check.org"}),
        headers=json_v1,
        timeout=TIMEOUT,
    )
    assert tested.status_code == 200, tested.text
    assert requests.delete(f"{base}/{record_id}", headers=json_v1, timeout=TIMEOUT).status_code == 204
    # the journal keeps each path as sent, and notes the non-canonical spelling as info
    entries = mock.requests()
    assert [e.path for e in entries][:2] == [prefix + "/" + collection] * 2
    canonical = prefix == "/cxrestapi/auth" and collection == "SMTPSettings"
    lint = {v.code: v.severity for e in entries for v in e.violations}
    assert lint.get("path-case") == (None if canonical else "info")
    # journal filters ignore case too
    assert len(mock.requests(path="/cxrestapi/auth/SMTPSettings")) == 2


def test_an_unknown_path_is_404_and_a_wrong_method_405_with_allow(mock: MockServer) -> None:
    auth = {"Authorization": mock.auth_headers()["Authorization"]}
    unknown = requests.get(mock.base_url + "/CxRestAPI/auth/SMTPSetting", headers=auth, timeout=TIMEOUT)
    assert unknown.status_code == 404 and set(unknown.json()) == {"message"}
    wrong = requests.patch(mock.base_url + "/cxrestapi/auth/smtpsettings", headers=auth, timeout=TIMEOUT)
    assert wrong.status_code == 405 and set(wrong.json()) == {"message"}
    assert set(wrong.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}


# -- a client following the documentation page ---------------------------------------------------------------------


def test_the_documentation_spelling_alone_is_400_naming_recieverEmail(mock: MockServer) -> None:
    body = {k: v for k, v in SETTINGS.items()} | {"receiverEmail": "ops@check.org"}
    headers = {**mock.auth_headers(), "Content-Type": "application/json;v=1.0", "cxOrigin": "doc-follower"}
    response = requests.post(mock.api_url + "/SMTPSettings/testconnection", json=body, headers=headers, timeout=TIMEOUT)
    assert response.status_code == 400
    message = response.json()["message"]
    assert set(response.json()) == {"message"}
    assert "recieverEmail is required" in message and "receiverEmail" in message and "not bound" in message
    assert mock.sink.messages == []
    (entry,) = mock.requests(operation_id="testSmtpConnection")
    assert [(v.code, v.severity) for v in entry.violations if v.code == "doc-spelling"] == [("doc-spelling", "error")]


def test_a_record_without_credentials_is_stored_and_testconnection_sends_no_auth(mock: MockServer) -> None:
    minimal = {"host": "smtp.corp.example", "port": 25, "fromAddress": "noreply@check.org"}
    headers = nswag_headers(mock)
    created = requests.post(
        mock.api_url + "/SMTPSettings", data=nswag_body(**minimal), headers=headers, timeout=TIMEOUT
    )
    assert created.status_code == 201
    record = requests.get(mock.base_url + created.headers["Location"], headers=headers, timeout=TIMEOUT).json()
    assert record["encryptionType"] == "None" and record["useDefaultCredentials"] is False
    assert record["username"] is None and record["displayName"] is None
    tested = requests.post(
        mock.api_url + "/SMTPSettings/testconnection",
        data=nswag_body(**minimal, recieverEmail="a@check.org"),
        headers=headers,
        timeout=TIMEOUT,
    )
    assert tested.status_code == 200
    (mail,) = mock.sink.messages
    assert mail.auth_user is None and mail.tls is None
    codes = {v.code for e in mock.requests() for v in e.violations}
    assert "credentials-missing" in codes


# -- no 5xx over malformed bodies and paths in the new shapes -------------------------------------------------------


def _sweep_cases() -> list[tuple[str, str, str, bytes | None, str]]:
    rng = random.Random(12)
    prefixes = ["/CxRestAPI/auth", "/cxrestapi/auth", "/CXRESTAPI/Auth", "/cxRestApi/AUTH"]
    paths = [
        "/SMTPSettings",
        "/smtpsettings",
        "/SMTPSettings/testconnection",
        "/smtpSettings/TESTCONNECTION",
        "/SMTPSettings/1",
        "/smtpsettings/2147483647",
        "/SMTPSettings/2147483648",
        "/SMTPSettings/-2147483649",
        "/SMTPSettings/%00",
        "/SMTPSettings/1/TestConnection",
        "/SMTPSETTINGS/abc",
        "/smtpsettings//1",
        "/SmtpSettings/%E2%80%AE1",
        "/MyProfile",
        "/myprofile/x",
        "/IDENTITY/connect/TOKEN",
    ]
    bodies: list[bytes | None] = [
        None,
        b"",
        b"{",
        b"[]",
        b"null",
        b'{"recieverEmail": null}',
        b'{"receiverEmail": "a@b.org"}',
        b'{"displayName": {"x": 1}}',
        b'{"useDefaultCredentials": null, "host": "h", "port": 1, "fromAddress": "a@b.c"}',
        b'{"host": "h", "port": 1, "fromAddress": "a@b.org", "displayName": "a\\r\\nBcc: x@y.z"}',
        b'{"host": "h", "port": 1, "fromAddress": "a@b.org", "recieverEmail": "' + b"a" * 300 + b'@b.org"}',
        b'{"host": "h", "port": 2147483648, "fromAddress": "a@b.org"}',
        b'{"encryptionType": null, "host": "h", "port": 1, "fromAddress": "a@b.org", "recieverEmail": 7}',
        json.dumps({**SETTINGS, "recieverEmail": ["a@b.org"]}).encode(),
        b"\xff\xfe{}",
    ]
    types = [
        "application/json-patch+json",
        "text/json",
        "application/*+json",
        "application/x+json;v=9",
        "text/json;v=1.0",
        "application/merge-patch+json; charset=utf-8",
        "image/svg+xml",
    ]
    methods = ["GET", "POST", "PUT", "DELETE", "PATCH"]
    cases = []
    for index in range(160):
        cases.append(
            (
                rng.choice(methods),
                rng.choice(prefixes) + rng.choice(paths),
                rng.choice(types),
                rng.choice(bodies),
                f"case-{index}",
            )
        )
    return cases


def test_no_5xx_over_malformed_bodies_and_paths_in_the_new_shapes(mock: MockServer) -> None:
    cases = _sweep_cases()
    assert len(cases) >= 100
    session = requests.Session()
    auth = mock.auth_headers()["Authorization"]
    seen: set[int] = set()
    for method, path, media_type, body, name in cases:
        headers = {"Authorization": auth, "Content-Type": media_type, "Accept": "application/json"}
        response = session.request(method, mock.base_url + path, data=body, headers=headers, timeout=TIMEOUT)
        seen.add(response.status_code)
        assert response.status_code < 500, (name, method, path, media_type, body, response.text[:300])
        if response.status_code >= 400 and "/identity/" not in path.lower():
            assert set(response.json()) == {"message"}, (name, path, response.text[:300])
    session.close()
    assert {400, 404, 405, 415} <= seen
    # still serving, and nothing stored by the sweep broke the list
    assert requests.get(mock.api_url + "/SMTPSettings", headers=mock.auth_headers(), timeout=TIMEOUT).ok
