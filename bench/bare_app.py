"""The baselines: bare Flask apps doing the least a route can do for the same answer as cxmock.

``/bare`` answers the bytes cxmock answers for ``GET /cxrestapi/auth/SMTPSettings`` with the default seed (no
auth, no negotiation, no journal, no fault hooks); ``/bare/token`` reads a form and returns a fresh RS256 JWT
(PyJWT, a 2048-bit key, as cxmock signs), like the token endpoint without the checks: the signature is most of a
token's cost, so a baseline without it would measure RSA, not cxmock. ``app`` is importable by other servers
(``bench.bare_app:app``).
"""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask, Response, request

JSON_V1 = "application/json;v=1.0"

#: the default seed as ``GET /SMTPSettings`` lists it (the vendor documentation's sample record)
DEFAULT_LIST: list[dict[str, Any]] = [
    {
        "id": 1,
        "host": "pod55017.outlook.com",
        "port": 521,
        "encryptionType": "Tls",
        "fromAddress": "noreply@check.org",
        "useDefaultCredentials": False,
        "username": "noreply@check.org",
    }
]


def make_app(records: list[dict[str, Any]] | None = None) -> Flask:
    """A bare Flask app; ``/bare`` serialises ``records`` (default: the default seed's list) per request."""
    data = DEFAULT_LIST if records is None else records
    bare = Flask(__name__)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    @bare.get("/bare")
    def listing() -> Response:
        return Response(json.dumps(data, separators=(",", ":"), ensure_ascii=False), content_type=JSON_V1)

    @bare.post("/bare/token")
    def token() -> Response:
        form = request.form
        now = int(time.time())
        claims = {"sub": form.get("username", ""), "iat": now, "exp": now + 3600, "jti": secrets.token_hex(16)}
        body = {
            "access_token": jwt.encode(claims, key, algorithm="RS256"),
            "token_type": "Bearer",
            "expires_in": 3600,
            "scope": form.get("scope", ""),
        }
        return Response(json.dumps(body), content_type="application/json")

    return bare


app = make_app()
