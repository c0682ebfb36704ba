"""The contract-lint of a request ``cxmock proxy`` forwards is what ``cxmock serve`` journals for the same request
(``core/drift/answers.lint_request`` reuses the core lint): both run on each request, the codes are compared."""

from __future__ import annotations

import requests

from mockserver.core.drift.answers import lint_request
from mockserver.runtime.server import MockServer

#: requests as clients send them; the lint of each must be what cxmock serve journals for it
REQUESTS = [
    ("GET", "/cxrestapi/auth/SMTPSettings", {"Accept": "application/json;v=1.0", "cxOrigin": "x"}, b""),
    ("GET", "/CxRestAPI/auth/smtpsettings", {"Accept": "application/json"}, b""),
    ("GET", "/cxrestapi/auth/SMTPSettings/1", {}, b""),
    ("GET", "/cxrestapi/auth/MyProfile", {"Accept": "*/*"}, b""),
    (
        "POST",
        "/cxrestapi/auth/SMTPSettings",
        {"Content-Type": "application/json-patch+json", "Accept": "application/json"},
        b'{"host":"h","port":25,"fromAdress":"x","fromAddress":"a@b.c","useDefaultCredentials":"true"}',
    ),
    (
        "PUT",
        "/cxrestapi/auth/SMTPSettings/1",
        {"Content-Type": "application/json;v=1.0", "cxOrigin": "x"},
        b'{"host":"h","port":25,"fromAddress":"a@b.c","encryptionType":"tls"}',
    ),
    ("POST", "/cxrestapi/auth/SMTPSettings", {"Content-Type": "text/plain"}, b"host=h"),
    (
        "POST",
        "/cxrestapi/auth/SMTPSettings/testconnection",
        {"Content-Type": "application/json"},
        b'{"host":"h","port":25,"fromAddress":"a@b.c","receiverEmail":"r@b.c","useDefaultCredentials":true}',
    ),
]


def test_the_lint_of_a_proxied_request_is_what_cxmock_serve_journals() -> None:
    with MockServer() as server:
        token = server.auth_headers()["Authorization"]
        for method, path, headers, body in REQUESTS:
            sent = {**headers, "Authorization": token}
            requests.request(method, server.base_url + path, headers=sent, data=body, timeout=10).close()
            (entry,) = server.requests()[-1:]
            mine = sorted(v.code for v in lint_request(method, path, {k.lower(): v for k, v in sent.items()}, body))
            assert mine == sorted(v.code for v in entry.violations), (method, path)
