"""What the app hands the HTTP front end when the server is built: the front end knows no app.

The front end is a WSGI server with three cxmock extensions, named by the app: an environ key the app sets to get
no response and the connection closed (``abort_key``: ``"drop"`` with a FIN, ``"reset"`` with a RST), one holding
an event set when the client goes away (``gone_key``) and one set when the server stops (``stopping_key``). The
answers the front end makes itself (a malformed or timed-out request, a stop, a 500 of a failing app) carry the
body ``error_body`` writes and are handed, once sent, to ``refused``: the app's finishing step (journal, log).
Without hooks (``AppHooks()``) it runs any WSGI app, with plain-text error bodies and no extension keys.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["AppHooks", "Refusal", "plain_error"]


@dataclass(frozen=True, slots=True)
class Refusal:
    """A request the front end answered itself, before (or instead of) the app.

    :param method: the request method, when the head got that far.
    :param path: ``PATH_INFO`` (percent-decoded, latin-1), when the request line was read.
    :param query: the query string.
    :param headers: the request headers read so far (latin-1).
    :param remote: the client's address.
    :param status: the status sent.
    :param content_type: the Content-Type of the answer (``AppHooks.error_body``'s).
    :param body: the body of the answer.
    """

    method: str | None
    path: str | None
    query: str
    headers: list[tuple[str, str]]
    remote: str
    status: int
    content_type: str
    body: bytes


def plain_error(status: int, details: str) -> tuple[str, bytes]:
    """The default error body: the sentence as UTF-8 text."""
    return "text/plain; charset=utf-8", details.encode("utf-8", "backslashreplace")


@dataclass(frozen=True, slots=True)
class AppHooks:
    """The app's side of the front end (see the module docstring).

    :param abort_key: environ key the app sets to ``"drop"`` or ``"reset"``; present (None) in every environ.
    :param gone_key: environ key of a ``threading.Event`` set when the client goes away.
    :param stopping_key: environ key of a ``threading.Event`` set when the server stops.
    :param probe_path: what the start-up probe GETs (any answer will do: "started" means "answers").
    :param probe_header: the header the start-up probe carries, so the app can tell it (and not log it).
    :param error_body: ``(status, sentence) -> (content type, body)`` of the front end's own answers.
    :param refused: called (on the event loop) with each answer the front end made itself; must not block.
    :param headers_key: environ key of the request's header lines as received, ``(name, value)`` bytes in order
        (``cxmock proxy`` forwards them as sent: PEP 3333's ``HTTP_*`` keys lose the names' case, order, repeats).
    """

    abort_key: str | None = None
    gone_key: str | None = None
    stopping_key: str | None = None
    probe_path: str = "/"
    probe_header: str = "X-Probe"
    error_body: Callable[[int, str], tuple[str, bytes]] = plain_error
    refused: Callable[[Refusal], None] | None = None
    headers_key: str | None = None
