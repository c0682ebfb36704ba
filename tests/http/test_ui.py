"""The dashboard's HTTP side (``mockserver/http/ui``): the shell and its headers, the lock, the list and detail
routes the page polls, and the inert rewrite of a mail's HTML part. The page itself runs in tests/browser/."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.test import Client

from mockserver.config import Config
from mockserver.core.state import State
from mockserver.http.ui.inert import inert_html
from mockserver.runtime.runner import banner
from mockserver.runtime.server import MockServer

MAIL = (
    b"From: a@example.org\r\nTo: b@example.org\r\nSubject: <script>x</script>\r\nMIME-Version: 1.0\r\n"
    b'Content-Type: multipart/alternative; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nplain\r\n'
    b"--b\r\nContent-Type: text/html\r\n\r\n<p onclick=x()>hi <img src=http://evil.example/t.png></p>\r\n--b--\r\n"
)


def test_the_shell_is_served_with_a_strict_policy_and_relative_urls(client: FlaskClient) -> None:
    response = client.get("/_mock/ui/")
    assert response.status_code == 200 and response.mimetype == "text/html"
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    page = response.get_data(as_text=True)
    assert 'src="static/app.js"' in page and 'href="static/app.css"' in page
    assert not re.search(r"<script>|\son[a-z]+=", page)  # no inline script, no inline handler
    for asset in ("static/app.js", "static/app.css"):
        with client.get("/_mock/ui/" + asset) as static:
            assert static.status_code == 200 and static.headers["Content-Security-Policy"] == csp


def test_the_data_is_locked_but_the_shell_asks_for_the_token(
    make_app: Callable[..., tuple[State, Flask]],
) -> None:
    state, app = make_app(admin_token="ui-secret")
    state.mail.add(MAIL, mail_from="a@example.org", rcpt_tos=["b@example.org"], peer="127.0.0.1:1", listener="smtp")
    client = app.test_client()
    shell = client.get("/_mock/ui/")
    assert shell.status_code == 200 and b"Admin token" in shell.data and b"<script>x" not in shell.data
    for path in ("/_mock/ui/api/info", "/_mock/ui/api/mail", "/_mock/ui/api/requests", "/_mock/ui/api/mail/1/html"):
        assert client.get(path).status_code == 401, path
        assert client.get(path, headers={"X-Cxmock-Admin-Token": "ui-secret"}).status_code == 200, path


def test_the_live_lists_answer_what_is_new_since_the_last_id(client: FlaskClient, app_state: State) -> None:
    for _ in range(3):
        app_state.mail.add(MAIL, mail_from="a@example.org", rcpt_tos=["b@example.org"], peer="p", listener="smtp")
    mail = client.get("/_mock/ui/api/mail").get_json()
    rows = mail["rows"]
    assert [r["id"] for r in rows] == [1, 2, 3] and rows[0]["subject"] == "<script>x</script>"
    assert "text" not in rows[0] and mail["oldest"] == 1  # list rows carry no bodies
    assert client.get("/_mock/ui/api/mail?since=2").get_json() == {"rows": [rows[2]], "oldest": 1}
    assert client.get("/_mock/ui/api/mail?since=x").status_code == 400
    client.get("/cxrestapi/auth/SMTPSettings")
    entries = client.get("/_mock/ui/api/requests").get_json()["rows"]
    assert entries[-1]["status"] == 401 and entries[-1]["path"] == "/cxrestapi/auth/SMTPSettings"
    last = entries[-1]["id"]
    expected = {"rows": [], "oldest": entries[0]["id"], "faultRules": 0}  # the armed rules: the live Faults badge
    assert client.get(f"/_mock/ui/api/requests?since={last}").get_json() == expected
    assert client.get(f"/_mock/ui/api/requests/{last}").get_json()["headers"] is not None
    app_state.reset()  # what the page learns from "oldest": nothing it shows is held any more
    assert client.get("/_mock/ui/api/mail?since=3").get_json() == {"rows": [], "oldest": None}
    emptied: dict[str, object] = {"rows": [], "oldest": None, "faultRules": 0}
    assert client.get(f"/_mock/ui/api/requests?since={last}").get_json() == emptied
    missing = client.get(f"/_mock/ui/api/requests/{last}")
    assert missing.status_code == 404 and "journal" in json.dumps(missing.get_json())


def test_the_html_part_is_served_inert(client: FlaskClient, app_state: State) -> None:
    app_state.mail.add(MAIL, mail_from="a@example.org", rcpt_tos=["b@example.org"], peer="p", listener="smtp")
    assert client.get("/_mock/messages/1").get_json()["html"].startswith("<p onclick")  # the API keeps it as sent
    body = client.get("/_mock/ui/api/mail/1/html").get_json()
    assert body["blocked"] == 1 and "onclick" not in body["html"] and "evil.example" not in body["html"]
    assert "hi <img>" in body["html"]


def test_info_reports_version_presets_and_limits(client: FlaskClient) -> None:
    info = client.get("/_mock/ui/api/info").get_json()
    assert "flaky-5xx" in info["presets"] and info["adminLocked"] is False
    assert info["limits"] == {"journal": Config().journal_limit, "mail": Config().capture_limit}
    assert info["sandboxes"] == []


@pytest.mark.parametrize(
    ("html", "kept", "gone"),
    [
        ("<script>alert(1)</script><p>x</p>", "<p>x</p>", "alert"),
        ("<img src=x onerror=alert(1)>", "<img>", "onerror"),
        ("<a href='javascript:alert(1)'>l</a>", "<a target=", "javascript"),
        ("<a href='https://example.org/'>l</a>", 'href="https://example.org/"', "javascript"),
        ("<svg onload=alert(1)><circle/></svg>ok", "ok", "svg"),
        ("<div style='background:url(http://e.example/x)'>d</div>", "<div>d</div>", "e.example"),
        ("<style>@import 'http://e.example/a.css'; p{color:red}</style>", "p{color:red}", "e.example"),
        ("<style></style><script>x</script>", "<style></style>", "<script"),
        ("<p title='\"><script>alert(1)</script>'>t</p>", "&quot;&gt;&lt;script&gt;", "<script"),
        ("<iframe src=//e.example></iframe><object data=x></object>", "<!doctype html>", "e.example"),
        ("<img src='data:image/png;base64,iVBORw0KGgo='>", 'src="data:image/png;base64,iVBORw0KGgo="', "onerror"),
        ("<meta http-equiv=refresh content='0;url=http://e.example'>", "<!doctype html>", "refresh"),
        ("<math><mi xlink:href=javascript:alert(1)>x</mi></math>", "<!doctype html>", "javascript"),
    ],
)
def test_inert_html_keeps_the_mail_and_drops_what_runs_or_loads(html: str, kept: str, gone: str) -> None:
    out, _ = inert_html(html)
    assert kept in out
    assert gone not in out.split(">", 3)[-1]  # past the head the rewrite adds (its CSP names no such thing)


def test_the_serve_banner_names_the_dashboard(make_server: Callable[..., MockServer]) -> None:
    server = make_server()
    assert f"  dashboard   {server.base_url}/_mock/ui/" in banner(server).splitlines()


def test_the_page_works_under_a_prefix(app: Flask) -> None:
    """Per sandbox the app is mounted under ``/sandbox/<name>``: the page's URLs are relative, so they follow."""
    mounted = DispatcherMiddleware(Flask("outer"), {"/sandbox/team-a": app})
    client = Client(mounted)
    page = client.get("/sandbox/team-a/_mock/ui/")
    assert page.status_code == 200 and 'src="static/app.js"' in page.get_data(as_text=True)
    assert "/_mock" not in page.get_data(as_text=True).split("<body>")[0]  # no absolute URL in the head
    with client.get("/sandbox/team-a/_mock/ui/static/app.js") as script:
        assert script.status_code == 200 and b"new URL('../', UI)" in script.get_data()
    assert client.get("/sandbox/team-a/_mock/ui/api/info").status_code == 200


def test_a_request_opens_with_its_redacted_response_body(client: FlaskClient, admin_token: str) -> None:
    """The Requests tab shows what the API answered: a 400's {"message"} can be read back from the page's route."""
    body = {"host": "smtp.example.org", "port": 587, "password": "s3cret-pw"}  # fromAddress missing
    answer = client.post(
        "/cxrestapi/auth/SMTPSettings",
        json=body,
        headers={"Authorization": f"Bearer {admin_token}", "Accept": "application/json;v=1.0"},
    )
    assert answer.status_code == 400
    rows = client.get("/_mock/ui/api/requests").get_json()["rows"]
    entry = client.get(f"/_mock/ui/api/requests/{rows[-1]['id']}").get_json()
    assert entry["status"] == 400
    assert "fromAddress" in json.dumps(entry["responseBody"])
    shown = json.dumps(entry)
    assert "s3cret-pw" not in shown and admin_token not in shown


def test_one_captured_message_is_deleted_and_bodies_are_searched(client: FlaskClient, app_state: State) -> None:
    """``DELETE /_mock/messages/<id>`` forgets one message (404 after); the page's body search answers ids (#25)."""
    for subject, body in (("a", "the word is kiwi"), ("b", "nothing here"), ("c", "KIWI in capitals")):
        app_state.mail.add(
            f"Subject: {subject}\r\n\r\n{body}\r\n".encode(), mail_from="x@check.org", rcpt_tos=["y@check.org"]
        )
    ids = [m.id for m in app_state.mail.list()]
    assert client.get("/_mock/ui/api/mail/search?q=kiwi").get_json() == {"ids": [ids[0], ids[2]]}
    assert client.get("/_mock/ui/api/mail/search?q=").status_code == 400
    assert client.delete(f"/_mock/messages/{ids[0]}").status_code == 204
    assert [m.subject for m in app_state.mail.list()] == ["b", "c"]
    assert client.delete(f"/_mock/messages/{ids[0]}").status_code == 404
    assert client.get("/_mock/ui/api/mail/search?q=kiwi").get_json() == {"ids": [ids[2]]}
    assert [m.subject for m in app_state.mail.list(subject="c")] == ["c"]  # the index forgot the deleted one


def test_attachments_are_listed_and_downloaded_inert(client: FlaskClient, app_state: State) -> None:
    """An attachment is offered as bytes to save, whatever it claims to be: octet-stream, a download, never sniffed,
    under a sandbox CSP; a name with a path or quotes is cleaned (#25)."""
    from email.message import EmailMessage

    msg = EmailMessage()
    msg["Subject"] = "report"
    msg.set_content("see attached")
    msg.add_attachment(b"<script>alert(1)</script>", maintype="text", subtype="html", filename='../../evil".html')
    msg.add_attachment(b"%PDF-1.4 fake", maintype="application", subtype="pdf", filename="scan.pdf")
    message = app_state.mail.add(msg.as_bytes(), mail_from="x@check.org", rcpt_tos=["y@check.org"])
    listing = client.get(f"/_mock/ui/api/mail/{message.id}/attachments").get_json()["attachments"]
    assert [(a["index"], a["filename"], a["contentType"], a["size"]) for a in listing] == [
        (0, "evil_.html", "text/html", 25),
        (1, "scan.pdf", "application/pdf", 13),
    ]
    got = client.get(f"/_mock/ui/api/mail/{message.id}/attachments/0")
    assert got.status_code == 200 and got.data == b"<script>alert(1)</script>"
    assert got.headers["Content-Type"] == "application/octet-stream"
    assert got.headers["Content-Disposition"].startswith('attachment; filename="evil_.html"')
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    assert got.headers["Content-Security-Policy"].startswith("default-src 'none'; sandbox")
    assert client.get(f"/_mock/ui/api/mail/{message.id}/attachments/2").status_code == 404
    plain = app_state.mail.add(b"Subject: none\r\n\r\nbody\r\n", mail_from="x@check.org", rcpt_tos=["y@check.org"])
    assert client.get(f"/_mock/ui/api/mail/{plain.id}/attachments").get_json() == {"attachments": []}
