"""The dashboard: ``GET /_mock/ui/``, a page over the admin API (captured mail, journal, settings, faults, server).

The page is one server-rendered template (``templates/ui/index.html``) and a small vanilla script
(``static/app.js``): no build step, no CDN, works offline. The shell and its static files hold no data, so they are
served without the admin token; every piece of data comes from the admin JSON routes (the ``/_mock`` ones and the
``/_mock/ui/api/*`` ones below), which sit behind the admin blueprint's lock. With ``--admin-token`` the page asks
for the token, keeps it in ``sessionStorage`` and sends it in ``X-Cxmock-Admin-Token`` on every fetch.

Every URL in the page and the script is relative, so the same page works under any prefix (per sandbox at
``/sandbox/<name>/_mock/ui/``). The UI responses carry a strict Content-Security-Policy (scripts only from the
page's own origin); a captured mail's HTML part is rendered in a sandboxed ``srcdoc`` iframe (no scripts, no
remote loads, see ``static/app.js``).
"""

from __future__ import annotations

import urllib.parse
from importlib import metadata
from typing import Any

from flask import Blueprint, Response, current_app, render_template, request

from ...core.faults.files import preset_names
from ...core.journal.entry import JournalEntry
from ...core.mail.attachments import attachment_payload, list_attachments
from ...core.mail.store import CapturedMessage
from ...errors import BadRequest, NotFound
from ..admin import _admin_lock, ok, state
from ..admin_drift import DRIFT_KEY
from ..admin_sandboxes import OWNER_KEY, REGISTRY_KEY
from .inert import inert_html

__all__ = ["CSP", "PUBLIC_ENDPOINTS", "blp"]

blp = Blueprint(
    "ui",
    __name__,
    url_prefix="/_mock/ui",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

#: the page's policy: nothing but its own script, style and the admin API; the mail iframe gets a stricter one
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; frame-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
#: the endpoints served without the admin token: the empty shell and its static files (no data in them)
PUBLIC_ENDPOINTS = frozenset({"ui.index", "ui.static"})
#: the newest entries the live lists load at most
LIST_LIMIT = 1000


@blp.before_request
def _lock() -> None:
    if request.endpoint not in PUBLIC_ENDPOINTS:
        _admin_lock()


@blp.after_request
def _headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CSP)  # an attachment keeps its stricter one
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers.setdefault("Cache-Control", "no-store")
    return response


@blp.get("/")
def index() -> Response:
    """The shell: tabs, forms and empty lists the script fills. No data, no secret: served without the token."""
    return Response(render_template("ui/index.html"), content_type="text/html; charset=utf-8")


def _sandboxes() -> tuple[str | None, list[str]]:
    """The sandbox this app serves (None at the root), and at the root the names of the live sandboxes."""
    owner = current_app.extensions.get(OWNER_KEY)
    registry = current_app.extensions.get(REGISTRY_KEY)
    names = [info.name for info in registry.list()] if registry is not None else []
    return (owner[1] if owner is not None else None), names


def _version() -> str:
    try:
        return metadata.version("cxmock")
    except metadata.PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown"


@blp.get("/api/info")
def info() -> Response:
    """What the Server tab shows: version, bound ports, limits, the fault presets, whether the lock is on, the
    sandbox served (``sandbox``, None at the root) and, at the root, the live sandboxes' names."""
    st = state()
    ports = current_app.extensions.get("cxmock.ports")
    config = st.config
    sandbox, names = _sandboxes()
    return ok(
        {
            "version": _version(),
            "ports": ports() if ports is not None else {},
            "presets": preset_names(),
            "adminLocked": bool(config.admin_token),
            "limits": {"journal": config.journal_limit, "mail": config.capture_limit},
            "counts": {"mail": st.mail.count, "requests": st.journal.count, "settings": len(st.settings)},
            "sandbox": sandbox,
            "sandboxes": names,
            # cxmock proxy: the Drift tab shows its drift list (http/admin_drift.py)
            "proxy": current_app.extensions.get(DRIFT_KEY) is not None,
        }
    )


def _since() -> int | None:
    raw = request.args.get("since")
    if raw is None or raw == "":
        return None
    if not raw.isdigit():
        raise BadRequest(f"since must be the last id seen (a non-negative integer), got {raw[:20]!r}")
    return int(raw)


def _mail_row(m: CapturedMessage) -> dict[str, Any]:
    return {
        "id": m.id,
        "receivedAt": m.received_at,
        "mailFrom": m.mail_from,
        "rcptTos": list(m.rcpt_tos),
        "from": m.from_,
        "to": m.to,
        "subject": m.subject,
        "size": m.size,
        "tls": m.tls is not None,
        "authUser": m.auth_user,
        "testconnection": m.testconnection is not None,
    }


@blp.get("/api/mail")
def mail_rows() -> Response:
    """``{"rows", "oldest"}``: the newest captured messages as list rows (no bodies), oldest first, ``since=<id>``
    for the new ones; ``oldest`` is the id of the oldest message held (None when empty), so the page drops what a
    reset, a clear or an eviction removed."""
    held = state().mail.list()
    since = _since()
    found = held if since is None else [m for m in held if m.id > since]
    return ok({"rows": [_mail_row(m) for m in found[-LIST_LIMIT:]], "oldest": held[0].id if held else None})


#: a body search's text, at most this many characters
SEARCH_LIMIT = 200


@blp.get("/api/mail/search")
def mail_search() -> Response:
    """``{"ids"}``: the held messages whose text or HTML part contains ``q`` (case-insensitive; at most
    :data:`SEARCH_LIMIT` characters): the page's search matches bodies too, as Mailpit's does. Bounded by the
    store (``--capture-limit`` messages, each part by ``--capture-raw-limit``)."""
    q = (request.args.get("q") or "").strip().casefold()
    if not q or len(q) > SEARCH_LIMIT:
        raise BadRequest(f"q must be 1 to {SEARCH_LIMIT} characters of text to find in the message bodies")
    ids = [m.id for m in state().mail.list() if q in (m.text or "").casefold() or q in (m.html or "").casefold()]
    return ok({"ids": ids})


@blp.get("/api/mail/<int:message_id>/attachments")
def mail_attachments(message_id: int) -> Response:
    """``{"attachments"}``: the message's attachments (index, file name, type, size, truncated), for the list."""
    message = state().mail.get(message_id)
    found = list_attachments(message.raw, raw_truncated=message.raw_truncated)
    return ok({"attachments": [a.to_dict() for a in found]})


@blp.get("/api/mail/<int:message_id>/attachments/<int:index>")
def mail_attachment(message_id: int, index: int) -> Response:
    """One attachment's bytes, inert: always ``application/octet-stream`` (never the type the mail declares, which
    an attacker chose), always a download (``Content-Disposition: attachment``), never sniffed, never run."""
    found = attachment_payload(state().mail.get(message_id).raw, index)
    if found is None:
        raise NotFound(f"message #{message_id} has no attachment {index} (GET .../attachments lists them)")
    filename, data = found
    ascii_name = filename.encode("ascii", "replace").decode("ascii").replace("?", "_")
    response = Response(data, content_type="application/octet-stream")
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{urllib.parse.quote(filename, safe='')}"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@blp.get("/api/mail/<int:message_id>/html")
def mail_html(message_id: int) -> Response:
    """The message's HTML part made inert (see :mod:`.inert`) for the sandboxed frame: ``{"html", "blocked"}``."""
    html = state().mail.get(message_id).html
    if html is None:
        return ok({"html": None, "blocked": 0})
    inert, blocked = inert_html(html)
    return ok({"html": inert, "blocked": blocked})


def _request_row(e: JournalEntry) -> dict[str, Any]:
    return {
        "id": e.id,
        "time": e.time,
        "method": e.method,
        "path": e.path,
        "status": e.status,
        "durationMs": e.duration_ms,
        "operationId": e.operation_id,
        # an SMTP fault names its stage: "smtp rcpt: reply" on the testconnection it broke
        "faults": [
            f"smtp {f['stage']}: {f.get('action')}" if f.get("stage") else (f.get("action") or f.get("name"))
            for f in e.faults
        ],
        "violations": len(e.violations),
        "user": e.user,
    }


@blp.get("/api/requests")
def request_rows() -> Response:
    """``{"rows", "oldest", "faultRules"}``: the newest journal entries as list rows, oldest first, ``since=<id>`` for
    the new ones; ``oldest`` is the id of the oldest entry held (None when empty); ``faultRules`` how many fault
    rules are armed."""
    held = state().journal.entries()
    since = _since()
    found = held if since is None else [e for e in held if e.id > since]
    # the armed fault rules ride along: the Faults tab's badge stays live on every poll (#25)
    rows = [_request_row(e) for e in found[-LIST_LIMIT:]]
    return ok({"rows": rows, "oldest": held[0].id if held else None, "faultRules": len(state().faults)})


@blp.get("/api/requests/<int:request_id>")
def request_entry(request_id: int) -> Response:
    """One journal entry, whole (already redacted): what the Requests tab opens."""
    for entry in state().journal.entries(since_id=request_id - 1, limit=None):
        if entry.id == request_id:
            return ok(entry.to_dict())
    raise NotFound(f"no journal entry #{request_id} (the journal keeps the newest {state().config.journal_limit})")
