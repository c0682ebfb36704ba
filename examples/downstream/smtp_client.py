"""A tiny integrator-side client for the CxSAST SMTP Settings API: the kind of code cxmock is meant to test."""

from __future__ import annotations

import time
from typing import Any

import requests

CLIENT_SECRET = "014DF517-39D1-4453-B7B3-9930C563627C"
JSON_V1 = "application/json;v=1.0"


class SmtpSettingsClient:
    """Token handling, vendor media types, and a bounded retry on 5xx/429, as a careful integrator writes it."""

    def __init__(self, base_url: str, username: str, password: str, *, retries: int = 3, timeout: float = 10.0):
        self.base_url = base_url.rstrip("/") + "/cxrestapi/auth"
        self.username, self.password = username, password
        self.retries, self.timeout = retries, timeout
        self.session = requests.Session()
        self._token: str | None = None

    def close(self) -> None:
        self.session.close()

    def _login(self) -> str:
        response = self.session.post(
            self.base_url + "/identity/connect/token",
            data={
                "grant_type": "password",
                "username": self.username,
                "password": self.password,
                "scope": "access_control_api",
                "client_id": "resource_owner_client",
                "client_secret": CLIENT_SECRET,
            },
            timeout=self.timeout,
        )
        response.raise_for_status()
        token: str = response.json()["access_token"]
        return token

    def _call(self, method: str, path: str, body: Any = None) -> requests.Response:
        for attempt in range(self.retries + 1):
            if self._token is None:
                self._token = self._login()
            headers = {"Authorization": f"Bearer {self._token}", "Accept": JSON_V1, "cxOrigin": "downstream-example"}
            if body is not None:
                headers["Content-Type"] = JSON_V1
            response = self.session.request(
                method, self.base_url + path, json=body, headers=headers, timeout=self.timeout
            )
            if response.status_code == 401:
                self._token = None  # expired or revoked: log in again once
                continue
            if response.status_code in (429, 502, 503, 504) and attempt < self.retries:
                time.sleep(min(float(response.headers.get("Retry-After", "0.05")), 1.0))
                continue
            return response
        return response

    def list(self) -> list[dict[str, Any]]:
        response = self._call("GET", "/SMTPSettings")
        response.raise_for_status()
        items: list[dict[str, Any]] = response.json()
        return items

    def create(self, settings: dict[str, Any]) -> int:
        response = self._call("POST", "/SMTPSettings", settings)
        response.raise_for_status()
        return int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1])

    def get(self, settings_id: int) -> dict[str, Any]:
        response = self._call("GET", f"/SMTPSettings/{settings_id}")
        response.raise_for_status()
        item: dict[str, Any] = response.json()
        return item

    def test_connection(self, settings: dict[str, Any], receiver: str) -> tuple[bool, str]:
        # recieverEmail (sic) is the service's member name; the documentation page's receiverEmail is not bound
        response = self._call("POST", "/SMTPSettings/testconnection", {**settings, "recieverEmail": receiver})
        if response.status_code == 200:
            return True, ""
        return False, response.json().get("message", response.text)
