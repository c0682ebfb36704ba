"""One server the scenario runs against (the service, or the in-process mock): its client, its credentials, and
the calls the scenario makes, each returning an :class:`~mockserver.core.drift.shapes.Answer`."""

from __future__ import annotations

import json
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from ..core.contract import JSON_V1
from ..core.drift.shapes import Answer
from ..proxy.upstream import UpstreamClient, UpstreamError

__all__ = ["API", "LoginFailed", "Target", "TOKEN_PATH"]

API = "/cxrestapi/auth"
TOKEN_PATH = API + "/identity/connect/token"
#: what real clients ask for (CheckmarxPythonSDK, the Go client): the SAST and the Access Control APIs
SCOPE = "sast_rest_api access_control_api"


class LoginFailed(Exception):
    """The service refused the login (or gave no usable answer): ``cxmock verify`` exits 2 with this reason."""


@dataclass
class Target:
    """A server and the users the scenario logs in as (``viewer`` optional: a user without the permission)."""

    name: str
    client: UpstreamClient
    username: str
    password: str = field(repr=False)
    client_id: str = "resource_owner_client"
    client_secret: str = field(default="", repr=False)
    viewer: tuple[str, str] | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)

    def login(self, username: str | None = None, password: str | None = None) -> tuple[Answer, str | None]:
        """The password grant; returns the answer and the access token (None when refused)."""
        form = {
            "grant_type": "password",
            "username": username or self.username,
            "password": password or self.password,
            "scope": SCOPE,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
        }
        data = urllib.parse.urlencode(form).encode()
        headers = [("Content-Type", "application/x-www-form-urlencoded"), ("Accept", "application/json")]
        answer = self._send("POST", TOKEN_PATH, headers, data)
        token = None
        if answer.status == 200:
            try:
                value = json.loads(answer.body).get("access_token")
                token = value if isinstance(value, str) and value else None
            except (ValueError, AttributeError):
                token = None
        return answer, token

    def call(self, method: str, path: str, *, body: Any = None, token: str | None = "") -> Answer:
        """An API call with the vendor's headers; ``token`` "" means this target's token, None none at all."""
        headers = [("Accept", JSON_V1), ("cxOrigin", "cxmock-verify")]
        bearer = self.token if token == "" else token
        if bearer:
            headers.append(("Authorization", f"Bearer {bearer}"))
        data = b""
        if body is not None:
            data = json.dumps(body).encode()
            headers.append(("Content-Type", JSON_V1))
        return self._send(method, API + path, headers, data)

    def _send(self, method: str, path: str, headers: list[tuple[str, str]], data: bytes) -> Answer:
        answer = self.client.request(method, path, headers, data)
        return Answer.of(answer.status, answer.headers, answer.body)


def reason_of(answer: Answer) -> str:
    """What an error answer says (``message``, ``error_description`` or ``error``), for exit-2 messages."""
    try:
        data = json.loads(answer.body)
    except ValueError:
        return answer.body[:120].decode("utf-8", "replace") or "(empty body)"
    if isinstance(data, dict):
        for key in ("error_description", "message", "error"):
            if isinstance(data.get(key), str):
                return str(data[key])[:300]
    return "(no message)"


__all__ += ["UpstreamError", "reason_of"]
