"""``GET|PUT /cxrestapi/auth/MyProfile`` (issue #22): the swagger's ``UserProfileModel`` and ``UpdateUserProfileModel``.

PUT answers 204 and keeps the profile per token user and per sandbox until the sandbox is reset; GET reflects it.
Validation as the swagger's model: ``firstName``, ``lastName``, ``email`` required strings (empty allowed, not null),
every string at most 256 characters, ``localeId`` an Int32 that may not be null.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import requests

from mockserver.runtime.server import MockServer
from tests.support.api import SDK_PROFILE

TIMEOUT = 30
SDK_BODY = SDK_PROFILE


def profile_url(server: Any) -> str:
    return str(server.api_url) + "/MyProfile"


def put_profile(server: Any, body: Any, user: str = "admin", content_type: str = "application/json") -> Any:
    headers = {**server.auth_headers(user, user), "Content-Type": content_type}
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return requests.put(profile_url(server), data=data, headers=headers, timeout=TIMEOUT)


def get_profile(server: Any, user: str = "admin") -> dict[str, Any]:
    response = requests.get(profile_url(server), headers=server.auth_headers(user, user), timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    profile: dict[str, Any] = response.json()
    return profile


def test_put_is_204_and_get_reflects_it_for_that_user_only(server: MockServer) -> None:
    before_viewer = get_profile(server, "viewer")
    response = put_profile(server, SDK_BODY)
    assert response.status_code == 204 and response.content == b""
    profile = get_profile(server)
    assert {k: profile[k] for k in SDK_BODY} == SDK_BODY
    assert (profile["id"], profile["userName"], profile["teams"]) == (1, "admin", "/CxServer")
    assert get_profile(server, "viewer") == before_viewer
    server.reset()
    assert get_profile(server)["firstName"] == "admin"


def test_teams_is_a_string_as_the_services_user_profile_model(server: MockServer) -> None:
    assert isinstance(get_profile(server)["teams"], str)


def test_a_profile_update_stays_in_its_sandbox(server: MockServer) -> None:
    sandbox = server.sandbox("profile-a")
    assert put_profile(sandbox, {**SDK_BODY, "firstName": "Sandboxed"}).status_code == 204
    assert get_profile(sandbox)["firstName"] == "Sandboxed"
    assert get_profile(server)["firstName"] == "admin"
    assert get_profile(server.sandbox("profile-b"))["firstName"] == "admin"


def test_optional_members_absent_are_null_and_locale_is_kept(server: MockServer) -> None:
    assert put_profile(server, {"firstName": "", "lastName": "L", "email": "", "jobTitle": None}).status_code == 204
    profile = get_profile(server)
    assert (profile["firstName"], profile["email"], profile["jobTitle"], profile["country"]) == ("", "", None, None)
    assert profile["localeId"] == 1


def test_member_names_bind_in_any_case_and_the_nswag_media_type_is_read(server: MockServer) -> None:
    body = {"FirstName": "Case", "LASTNAME": "Insensitive", "email": "c@example.org", "localeId": 1033}
    assert put_profile(server, body, content_type="application/json-patch+json").status_code == 204
    profile = get_profile(server)
    assert (profile["firstName"], profile["lastName"], profile["localeId"]) == ("Case", "Insensitive", 1033)
    codes = {v.code for v in server.requests(operation_id="updateMyProfile")[-1].violations}
    assert "member-case" in codes


@pytest.mark.parametrize(
    ("change", "member"),
    [
        ({"firstName": None}, "firstName"),
        ({"lastName": 7}, "lastName"),
        ({"email": "e" * 257}, "email"),
        ({"phoneNumber": "1" * 257}, "phoneNumber"),
        ({"country": ["USA"]}, "country"),
        ({"localeId": None}, "localeId"),
        ({"localeId": 2**31}, "localeId"),
        ({"localeId": "one"}, "localeId"),
    ],
)
def test_what_the_model_refuses_is_400_naming_the_member(
    server: MockServer, change: dict[str, Any], member: str
) -> None:
    response = put_profile(server, {**SDK_BODY, **change})
    assert response.status_code == 400
    assert set(response.json()) == {"message"} and member in response.json()["message"]
    assert get_profile(server)["firstName"] == "admin"


@pytest.mark.parametrize("missing", ["firstName", "lastName", "email"])
def test_required_members(server: MockServer, missing: str) -> None:
    response = put_profile(server, {k: v for k, v in SDK_BODY.items() if k != missing})
    assert response.status_code == 400 and f"{missing} is required" in response.json()["message"]


def test_without_a_token_401_and_other_media_types_415(server: MockServer) -> None:
    response = requests.put(profile_url(server), json=SDK_BODY, timeout=TIMEOUT)
    assert response.status_code == 401 and "WWW-Authenticate" in response.headers
    assert put_profile(server, b"firstName=x", content_type="text/plain").status_code == 415
    assert put_profile(server, b"{", content_type="application/json").status_code == 400


def test_a_profile_email_no_mail_library_parses_is_stored_and_linted(server: MockServer) -> None:
    assert put_profile(server, {**SDK_BODY, "email": "***"}).status_code == 204
    assert get_profile(server)["email"] == "***"
    (entry,) = server.requests(operation_id="updateMyProfile")
    assert "address-invalid" in {v.code for v in entry.violations}


def test_strict_mode_refuses_a_member_in_another_case(make_server: Callable[..., MockServer]) -> None:
    server = make_server(strict=True)
    response = put_profile(server, {**{k: v for k, v in SDK_BODY.items() if k != "firstName"}, "FirstName": "x"})
    assert response.status_code == 400 and "firstName is required" in response.json()["message"]
