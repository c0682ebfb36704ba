"""What the API tests send: a complete settings record and the token request of a real client."""

from __future__ import annotations

from typing import Any

# the vendor's documented default secret of resource_owner_client (PRODUCT.md §2)
CLIENT_SECRET = "014DF517-39D1-4453-B7B3-9930C563627C"

SETTINGS: dict[str, Any] = {
    "host": "smtp.example.org",
    "port": 587,
    "encryptionType": "Tls",
    "fromAddress": "noreply@example.org",
    "useDefaultCredentials": False,
    "username": "mailer",
    "password": "contract-secret",
}


def settings(**changes: Any) -> dict[str, Any]:
    """A copy of :data:`SETTINGS` with ``changes`` applied."""
    return {**SETTINGS, **changes}


def token_form(username: str = "admin", password: str = "admin", **extra: str) -> dict[str, str]:
    """The form a password-grant token request sends (the SDK's shape)."""
    return {
        "grant_type": "password",
        "username": username,
        "password": password,
        "scope": "access_control_api sast_rest_api",
        "client_id": "resource_owner_client",
        "client_secret": CLIENT_SECRET,
        **extra,
    }


#: CheckmarxPythonSDK's update_my_profile body (asdict of MyProfileUpdateRequest, its own test's values)
SDK_PROFILE: dict[str, Any] = {
    "firstName": "test",
    "lastName": "test",
    "email": "test@test.com",
    "phoneNumber": "123456",
    "cellPhoneNumber": "123456",
    "jobTitle": "software developer",
    "other": "",
    "country": "USA",
    "localeId": 1,
}
