"""The floor of an integrator's "test": the same 7 steps with the least work the same libraries allow.

``python -m bench.floor_app --port-file F`` runs, in one process as ``cxmock serve`` does:

- a bare Flask app with the same routes (token, the settings collection and item, testconnection, the mail check)
  on cxmock's own HTTP front end (the same server, threads and limits ``MockServer`` uses);
- the same JWT work: an RS256 access token signed with PyJWT (a 2048-bit key, as cxmock signs) and verified on
  every API request;
- a bare aiosmtpd ``Controller`` with the same TLS (a trustme ECDSA certificate, STARTTLS) and AUTH (PLAIN and
  LOGIN, any credentials), which keeps each message's recipients in a dict: the mail check is one lookup;
- smtplib as the testconnection client: connect, EHLO, STARTTLS (verified), EHLO, AUTH, MAIL, RCPT, DATA, QUIT.

What it does not do, and cxmock does: contract validation and the vendor error body, version negotiation,
permissions, the journal and its redaction, the contract-lint, faults, sandboxes, the request log, the SMTP
transcript and the captured message's parsing. The difference is what those cost.
"""

from __future__ import annotations

import argparse
import json
import secrets
import smtplib
import ssl
import threading
import time
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import jwt
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask, Response, request

API = "/cxrestapi/auth"
JSON_V1 = "application/json;v=1.0"


class _Sink:
    """aiosmtpd handler: keeps each message's recipients (the mail check's index) and nothing else."""

    def __init__(self) -> None:
        self.by_recipient: dict[str, int] = {}
        self.lock = threading.Lock()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802 - hook
        with self.lock:
            for rcpt in envelope.rcpt_tos:
                self.by_recipient[rcpt.lower()] = self.by_recipient.get(rcpt.lower(), 0) + 1
        return "250 OK"


def _accept_any(server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any) -> AuthResult:
    return AuthResult(success=isinstance(data, LoginPassword))


def make_floor(smtp_port: int, client_context: ssl.SSLContext, sink: _Sink) -> Flask:
    app = Flask(__name__)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key()
    records: dict[int, dict[str, Any]] = {}
    lock = threading.Lock()
    ids = iter(range(1, 1 << 31))

    def authorized() -> bool:
        header = request.headers.get("Authorization", "")
        try:
            jwt.decode(header.removeprefix("Bearer "), public, algorithms=["RS256"], audience="access_control_api")
        except jwt.PyJWTError:
            return False
        return True

    def denied() -> Response:
        return Response(status=401)

    @app.post(API + "/identity/connect/token")
    def token() -> Response:
        form = request.form
        now = int(time.time())
        claims = {
            "sub": form.get("username", ""),
            "aud": "access_control_api",
            "iat": now,
            "nbf": now,
            "exp": now + 3600,
            "scope": form.get("scope", "").split(),
            "jti": secrets.token_hex(16),
        }
        body = {"access_token": jwt.encode(claims, key, algorithm="RS256"), "expires_in": 3600, "token_type": "Bearer"}
        return Response(json.dumps(body), content_type="application/json")

    @app.post(API + "/SMTPSettings")
    def create() -> Response:
        if not authorized():
            return denied()
        body = request.get_json()
        with lock:
            new = next(ids)
            records[new] = {**body, "id": new}
        return Response(status=201, headers={"Location": f"{API}/SMTPSettings/{new}"})

    @app.route(API + "/SMTPSettings/<int:record>", methods=["GET", "PUT", "DELETE"])
    def item(record: int) -> Response:
        if not authorized():
            return denied()
        with lock:
            if record not in records:
                return Response(status=404)
            if request.method == "GET":
                shown = {k: v for k, v in records[record].items() if k != "password"}
                return Response(json.dumps(shown), content_type=JSON_V1)
            if request.method == "PUT":
                records[record] = {**request.get_json(), "id": record}
            else:
                del records[record]
        return Response(status=204)

    @app.post(API + "/SMTPSettings/testconnection")
    def testconnection() -> Response:
        if not authorized():
            return denied()
        body = request.get_json()
        message = EmailMessage()
        message["From"] = body["fromAddress"]
        message["To"] = body["recieverEmail"]
        message["Subject"] = "Test connection"
        message.set_content("SMTP settings test")
        with smtplib.SMTP("127.0.0.1", smtp_port, timeout=10) as smtp:
            smtp.starttls(context=client_context)
            smtp.login(body["username"], body["password"])
            smtp.send_message(message)
        return Response(status=200)

    @app.get("/_mock/messages")
    def messages() -> Response:
        to = request.args.get("to", "").lower()
        with sink.lock:
            count = sink.by_recipient.get(to, 0)
        return Response(json.dumps([{"to": [to]}] * count), content_type="application/json")

    return app


def main() -> None:
    from mockserver.runtime.http_server import HttpServer

    from ._common import free_port

    parser = argparse.ArgumentParser(prog="python -m bench.floor_app")
    parser.add_argument("--port-file", required=True)
    args = parser.parse_args()
    ca = trustme.CA()
    leaf = ca.issue_cert("localhost", "127.0.0.1")
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    leaf.configure_cert(server_context)
    client_context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ca.configure_trust(client_context)
    client_context.check_hostname = False  # smtplib names the address; the certificate is still verified

    handler = _Sink()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=free_port(),
        tls_context=server_context,
        require_starttls=False,
        auth_require_tls=False,
        authenticator=_accept_any,
    )
    controller.start()
    app = make_floor(controller.port, client_context, handler)
    http = HttpServer(app, host="127.0.0.1", port=0, threads=16)
    http.start()
    Path(args.port_file).write_text(json.dumps({"http": http.port, "smtp": controller.port}) + "\n", encoding="utf-8")
    try:
        threading.Event().wait()
    finally:
        http.stop()
        controller.stop()


if __name__ == "__main__":
    main()
