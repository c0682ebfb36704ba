"""A correct real client gets no warning from the contract-lint (issue #22), over real sockets.

Each test replays one real client's request shapes, rebuilt from its public source, against a live ``MockServer``
and asserts ``assert_no_violations("warning")``: a missing ``v=1.0`` or ``cxOrigin`` is style (``info``), so
``cxmock report --fail-on warning`` passes a correct client's suite.

- CheckmarxPythonSDK (``CxAccessControl/AccessControl.py``): httpx, ``Accept: */*``, ``Content-Type:
  application/json``, bodies ``asdict`` of its request classes (``recieverEmail: null`` in create/update, the
  ``useDefaultCredentials`` string its own tests pass).
- The NSwag C# client of the service's swagger (portilha/Checkmarx.API ``AccessControlClient.cs``):
  ``application/json-patch+json`` (and ``application/json``) bodies without the null members, ``Accept:
  application/json``.
- cxpsemea/CxSASTClientGo (``sastpassclient.go``, ``sastclient.go``): golang.org/x/oauth2 with HTTP Basic client
  authentication, ``Accept: application/json;version=1.0`` and ``Content-Type: application/json`` on every GET.
- checkmarx-ts/CxUtils: wholly lower-cased URLs.
"""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import quote

import pytest
import requests

from mockserver.core.identity.identity import password_grant
from mockserver.runtime.server import MockServer
from tests.support.api import SDK_PROFILE

TIMEOUT = 30
SECRET = "014DF517-39D1-4453-B7B3-9930C563627C"


def login(server: MockServer, scope: str = "sast_rest_api access_control_api") -> str:
    form = password_grant("admin", "admin", scope=scope, client_secret=SECRET)
    response = requests.post(server.api_url + "/identity/connect/token", data=form, timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def check(response: requests.Response, status: int) -> requests.Response:
    assert response.status_code == status, response.text
    return response


def test_checkmarx_python_sdk_shapes(mock: MockServer) -> None:
    url = mock.base_url + "/cxrestapi/auth"
    session = requests.Session()
    session.headers.update({"Accept": "*/*", "Authorization": f"Bearer {login(mock)}"})
    json_body = {"Content-Type": "application/json"}
    request = {
        "password": "sdk-password",
        "host": "smtp.sdk.example",
        "port": 25,
        "encryptionType": "None",
        "fromAddress": "sdk@check.org",
        "useDefaultCredentials": "false",
        "username": "sdk-user",
        "recieverEmail": None,
    }
    check(session.get(url + "/SMTPSettings", timeout=TIMEOUT), 200)
    created = check(
        session.post(url + "/SMTPSettings", data=json.dumps(request), headers=json_body, timeout=TIMEOUT), 201
    )
    item = mock.base_url + created.headers["Location"]
    check(session.get(item, timeout=TIMEOUT), 200)
    check(session.put(item, data=json.dumps(request), headers=json_body, timeout=TIMEOUT), 204)
    test = {**request, "recieverEmail": "sdk-receiver@check.org"}
    check(
        session.post(url + "/SMTPSettings/testconnection", data=json.dumps(test), headers=json_body, timeout=TIMEOUT),
        200,
    )
    check(session.delete(item, timeout=TIMEOUT), 204)
    check(session.get(url + "/MyProfile", timeout=TIMEOUT), 200)
    profile = dict(SDK_PROFILE)
    check(session.put(url + "/MyProfile", data=json.dumps(profile), headers=json_body, timeout=TIMEOUT), 204)
    assert len(mock.requests()) == 9
    mock.assert_no_violations("warning")


@pytest.mark.parametrize("media_type", ["application/json-patch+json", "application/json"])
def test_nswag_csharp_client_shapes(mock: MockServer, media_type: str) -> None:
    url = mock.base_url + "/cxrestapi/auth"
    token = login(mock, "offline_access sast_api access_control_api")
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    body_headers = {**headers, "Content-Type": media_type}
    model = {"host": "smtp.corp.example", "port": 587, "encryptionType": "Tls", "fromAddress": "noreply@check.org"}
    model |= {"useDefaultCredentials": False, "username": "mailer", "password": "pw", "displayName": "Checkmarx"}
    created = check(
        requests.post(url + "/SMTPSettings", data=json.dumps(model), headers=body_headers, timeout=TIMEOUT), 201
    )
    item = mock.base_url + created.headers["Location"]
    check(requests.get(item, headers=headers, timeout=TIMEOUT), 200)
    update = {k: v for k, v in model.items() if k != "password"}  # NullValueHandling.Ignore drops a null password
    check(requests.put(item, data=json.dumps(update), headers=body_headers, timeout=TIMEOUT), 204)
    test = json.dumps({"recieverEmail": "ops@check.org", **model})
    check(requests.post(url + "/SMTPSettings/testconnection", data=test, headers=body_headers, timeout=TIMEOUT), 200)
    check(requests.get(url + "/SMTPSettings", headers=headers, timeout=TIMEOUT), 200)
    check(requests.delete(item, headers=headers, timeout=TIMEOUT), 204)
    profile = {"firstName": "C", "lastName": "Sharp", "email": "cs@check.org", "localeId": 1}
    check(requests.put(url + "/MyProfile", data=json.dumps(profile), headers=body_headers, timeout=TIMEOUT), 204)
    mock.assert_no_violations("warning")


def test_cxsastclientgo_shapes(mock: MockServer) -> None:
    basic = base64.b64encode(f"{quote('resource_owner_client')}:{quote(SECRET)}".encode()).decode()
    form = {"grant_type": "password", "username": "admin", "password": "admin"}
    form["scope"] = "sast_rest_api access_control_api"
    token_response = requests.post(
        mock.base_url + "/cxrestapi/auth/identity/connect/token",
        data=form,
        headers={"Authorization": f"Basic {basic}"},
        timeout=TIMEOUT,
    )
    check(token_response, 200)
    headers = {
        "Authorization": f"Bearer {token_response.json()['access_token']}",
        "Accept": "application/json;version=1.0",
        "Content-Type": "application/json",
        "User-Agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:105.0) Gecko/20100101 Firefox/105.0",
    }
    check(requests.get(mock.base_url + "/cxrestapi/auth/MyProfile", headers=headers, timeout=TIMEOUT), 200)
    check(requests.get(mock.base_url + "/cxrestapi/auth/SMTPSettings", headers=headers, timeout=TIMEOUT), 200)
    mock.assert_no_violations("warning")


def test_cxutils_lower_cased_urls(mock: MockServer) -> None:
    headers: dict[str, Any] = {"Authorization": f"Bearer {login(mock)}", "Accept": "application/json"}
    for path in ("/cxrestapi/auth/myprofile", "/cxrestapi/auth/smtpsettings", "/cxrestapi/auth/smtpsettings/1"):
        check(requests.get(mock.base_url + path, headers=headers, timeout=TIMEOUT), 200)
    assert {v.code for e in mock.requests() for v in e.violations} >= {"path-case"}
    mock.assert_no_violations("warning")
