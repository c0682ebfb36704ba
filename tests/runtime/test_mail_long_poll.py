"""``GET /_mock/messages?wait=N`` over real sockets: a pending long-poll ends when the server stops (in-process and
``cxmock serve`` on SIGTERM), and at most a quarter of the worker threads long-poll at once (429 beyond).

With ``http_threads=4`` one long-poll may wait. Two ``wait=30`` requests are sent together: exactly one of them is
answered 429 at once, and from then on the other one holds the only slot, i.e. it is pending in the server. That is
how these tests know a wait is pending without sleeping.
"""

from __future__ import annotations

import queue
import signal
import smtplib
import sys
import threading
from collections.abc import Iterator

import pytest
import requests

from mockserver.http.admin_mail import long_poll_limit
from mockserver.runtime.server import MockServer
from tests.support.serve import start_serve, stop

TIMEOUT = 10.0
WAIT = "/_mock/messages?wait=30&count=1&to=nobody"


class LongPolls:
    """Two ``wait=30`` requests sent together; :meth:`pending` returns once one got its 429 (the other waits)."""

    def __init__(self, base_url: str) -> None:
        self._results: queue.Queue[tuple[int, requests.Response | BaseException]] = queue.Queue()
        self._threads = [threading.Thread(target=self._get, args=(i, base_url + WAIT), daemon=True) for i in (0, 1)]
        for thread in self._threads:
            thread.start()

    def _get(self, index: int, url: str) -> None:
        try:
            self._results.put((index, requests.get(url, timeout=60)))
        except BaseException as exc:  # noqa: BLE001 - reported by the test thread
            self._results.put((index, exc))

    def pending(self) -> int:
        """The index of the request that waits in the server, once the other one got 429."""
        index, refused = self._results.get(timeout=TIMEOUT)
        assert isinstance(refused, requests.Response), refused
        assert refused.status_code == 429, (refused.status_code, refused.text)
        return 1 - index

    def answer(self) -> requests.Response:
        """The pending request's answer (bounded wait)."""
        _index, response = self._results.get(timeout=TIMEOUT)
        assert isinstance(response, requests.Response), response
        for thread in self._threads:
            thread.join(timeout=TIMEOUT)
        return response


@pytest.fixture
def server() -> Iterator[MockServer]:
    with MockServer(http_threads=4) as live:
        yield live


def test_the_limit_is_a_quarter_of_the_worker_threads() -> None:
    assert [long_poll_limit(n) for n in (1, 3, 4, 16, 17)] == [1, 1, 1, 4, 4]


def test_beyond_the_limit_a_long_poll_gets_429_and_the_api_still_answers(server: MockServer) -> None:
    polls = LongPolls(server.base_url)
    polls.pending()
    with requests.get(server.base_url + WAIT, timeout=TIMEOUT) as refused:
        assert refused.status_code == 429
        assert refused.headers["Retry-After"] == "1"
        assert refused.headers["Content-Type"].startswith("application/json")
        body = refused.json()
        assert set(body) == {"message"}
        assert "at most 1" in body["message"] and "retry" in body["message"]
    # a plain listing (no wait) and the API are served meanwhile
    with requests.get(server.base_url + "/_mock/messages", timeout=TIMEOUT) as listing:
        assert listing.status_code == 200 and listing.json() == []
    url = server.api_url + "/SMTPSettings"
    with requests.get(url, headers=server.auth_headers(), timeout=TIMEOUT) as api:
        assert api.status_code == 200
    server.state.mail.add(b"Subject: hi\r\n\r\nbody\r\n", mail_from="a@example.org", rcpt_tos=["nobody@example.org"])
    answered = polls.answer()
    assert answered.status_code == 200 and [m["subject"] for m in answered.json()] == ["hi"]
    # the slot is free again: a new long-poll waits instead of being refused
    with requests.get(server.base_url + "/_mock/messages?wait=0.01", timeout=TIMEOUT) as again:
        assert again.status_code == 200


def test_stop_ends_a_pending_long_poll_and_a_restarted_server_waits_normally() -> None:
    server = MockServer(http_threads=4)
    try:
        polls = LongPolls(server.base_url)
        polls.pending()
        stopper = threading.Thread(target=server.stop)
        stopper.start()
        stopper.join(timeout=TIMEOUT)
        assert not stopper.is_alive(), "stop() is held by the pending long-poll"
        answered = polls.answer()
        assert answered.status_code == 200 and answered.json() == []  # what matches now

        server.start()  # restartable: a new long-poll is not interrupted, it waits for its message
        results: queue.Queue[requests.Response] = queue.Queue()
        url = server.base_url + "/_mock/messages?wait=30&count=1&to=after"
        waiter = threading.Thread(target=lambda: results.put(requests.get(url, timeout=60)), daemon=True)
        waiter.start()
        with smtplib.SMTP("127.0.0.1", server.sink.smtp_port, timeout=TIMEOUT) as client:
            client.sendmail("a@example.org", ["after@example.org"], b"Subject: restarted\r\n\r\nbody\r\n")
        response = results.get(timeout=TIMEOUT)
        assert response.status_code == 200 and [m["subject"] for m in response.json()] == ["restarted"]
        waiter.join(timeout=TIMEOUT)
    finally:
        server.stop()


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_sigterm_exits_promptly_with_a_long_poll_pending() -> None:
    proc, ready = start_serve("--http-threads", "4", "--seed", "none")
    try:
        polls = LongPolls(ready["base_url"])
        polls.pending()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0
        answered = polls.answer()
        assert answered.status_code == 200 and answered.json() == []
    finally:
        stop(proc, signal.SIGKILL)
