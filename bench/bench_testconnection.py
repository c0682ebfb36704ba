"""``POST /cxrestapi/auth/SMTPSettings/testconnection`` round trips through the HTTP API, per encryption.

One request = validation, routing, a real SMTP session with the embedded sink (EHLO, STARTTLS or implicit TLS,
AUTH, MAIL, RCPT, DATA, QUIT), the capture, the journal. Baseline, in the same run and interleaved: the same SMTP
session by the client alone (``run_test_connection`` against the same sink), so the ratio is what HTTP adds.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import time

from mockserver import MockServer
from mockserver.smtp.client import run_test_connection

from ._common import HOST, JSON_V1, Mode, Row, median, row

SECTION = "testconnection round trip (ms)"
PATH = "/cxrestapi/auth/SMTPSettings/testconnection"
TARGETS = {"None": 10.0, "Tls": 30.0, "Ssl": 30.0}


def _body(encryption: str) -> bytes:
    return json.dumps(
        {
            "host": "smtp.example.com",
            "port": 465 if encryption == "Ssl" else 587,
            "encryptionType": encryption,
            "fromAddress": "cxsast@example.com",
            "useDefaultCredentials": False,
            "username": "alice",
            "password": "secret",
            "recieverEmail": "security-team@example.org",
        }
    ).encode()


def run(mode: Mode) -> list[Row]:
    rows: list[Row] = []
    per_run = 3 if mode.quick else 30
    runs = max(2, mode.runs) if mode.quick else mode.runs
    with (
        MockServer() as server,
        contextlib.closing(http.client.HTTPConnection(HOST, server.http_port, timeout=30)) as conn,
    ):
        headers = {**server.auth_headers(), "Content-Type": JSON_V1}
        context = server.sink.tls.client_context()

        def via_http(encryption: str) -> float:
            body = _body(encryption)
            start = time.perf_counter()
            conn.request("POST", PATH, body=body, headers=headers)
            response = conn.getresponse()
            answer = response.read()
            elapsed = (time.perf_counter() - start) * 1000
            if response.status != 200:
                raise RuntimeError(f"testconnection {encryption} answered {response.status}: {answer[:300]!r}")
            return elapsed

        def direct(encryption: str) -> float:
            start = time.perf_counter()
            run_test_connection(
                host=HOST,
                port=server.sink.smtps_port if encryption == "Ssl" else server.sink.smtp_port,
                encryption=encryption,
                from_address="cxsast@example.com",
                receiver="security-team@example.org",
                username="alice",
                password="secret",
                use_default_credentials=False,
                timeout=10.0,
                ssl_context=context,
                correlation="bench",
                requested_target="smtp.example.com:587",
                tls_server_name="localhost",
            )
            return (time.perf_counter() - start) * 1000

        for encryption, target in TARGETS.items():
            via_http(encryption)  # warm-up
            direct(encryption)
            ours, theirs = [], []
            for _ in range(runs):
                a, b = [], []
                for _ in range(per_run):  # interleaved request by request
                    a.append(via_http(encryption))
                    b.append(direct(encryption))
                ours.append(median(a))
                theirs.append(median(b))
            label = {"None": "None (plain)", "Tls": "Tls (STARTTLS)", "Ssl": "Ssl (implicit TLS)"}[encryption]
            rows.append(
                row(
                    f"testconnection via HTTP, {label}",
                    "ms",
                    ours,
                    section=SECTION,
                    baseline=theirs,
                    baseline_name="the same SMTP session by the client alone",
                    target=target,
                    target_kind="max",
                    detail=f"median of {per_run} requests per run; {len(server.sink.messages)} mails held (capped)",
                )
            )
    return rows
