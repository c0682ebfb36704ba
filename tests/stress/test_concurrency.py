"""Concurrency on real sockets: 8 threads × N mixed operations against one server, then the invariants.

Each thread owns the records it creates (no other thread touches them), so "the last write acknowledged for a
record" is well defined: the thread's own bookkeeping of the bodies the server answered 201/204 to. Afterwards:

- every id the server handed out is unique;
- the stored records are exactly the union of what the threads believe survived, each equal to its last
  acknowledged write (and a deleted id answers 404);
- no request got a 5xx (every answer is the exact success status expected);
- the journal recorded every request sent (``total_recorded`` grows by exactly the number sent), every response
  carries a distinct ``X-Cxmock-Request-Id``, and the sink captured exactly one message per testconnection.

``CXMOCK_STRESS_OPS`` sets N. The default is issue #8's full count, 1000 (about 25 s on 2 quiet cores: the whole
API runs in this process, client threads included); lower it for a quick local run.
"""

from __future__ import annotations

import os
import random
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests

from mockserver.core.contract import JSON_V1
from mockserver.runtime.server import MockServer

pytestmark = pytest.mark.slow

THREADS = 8
OPS_PER_THREAD = int(os.environ.get("CXMOCK_STRESS_OPS", "1000"))
#: a thread keeps at most this many live records (so the list stays small and every operation finds a target)
MAX_OWN = 4
#: every request's own timeout, and the bound on joining the worker threads
REQUEST_TIMEOUT = 30.0
JOIN_TIMEOUT = 300.0

OPERATIONS = ("create", "get", "list", "update", "delete", "testconnection")
WEIGHTS = (20, 20, 10, 25, 10, 15)


@dataclass
class Worker:
    """What one thread sent and what the server acknowledged."""

    index: int
    #: id -> the public view of the last write the server acknowledged for it
    live: dict[int, dict[str, Any]] = field(default_factory=dict)
    deleted: list[int] = field(default_factory=list)
    created_ids: list[int] = field(default_factory=list)
    request_ids: list[str] = field(default_factory=list)
    receivers: list[str] = field(default_factory=list)
    sent: int = 0
    problems: list[str] = field(default_factory=list)
    ops: Counter[str] = field(default_factory=Counter)


def settings_body(rng: random.Random, tag: str) -> dict[str, Any]:
    default_credentials = rng.random() < 0.3
    body: dict[str, Any] = {
        "host": f"{tag}.example.org",
        "port": rng.randint(1, 65535),
        "encryptionType": rng.choice(("None", "Ssl", "Tls")),
        "fromAddress": f"{tag}@example.org",
        "useDefaultCredentials": default_credentials,
    }
    if rng.random() < 0.5:
        body["displayName"] = f"Sender {tag}"
    if not default_credentials:
        body["username"] = f"user-{tag}"
        body["password"] = f"pw-{tag}"
    return body


def public_view(record_id: int, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": record_id,
        "host": body["host"],
        "port": body["port"],
        "encryptionType": body["encryptionType"],
        "fromAddress": body["fromAddress"],
        "useDefaultCredentials": body["useDefaultCredentials"],
        "username": body.get("username"),
        "displayName": body.get("displayName"),
    }


def run_worker(server: MockServer, worker: Worker, headers: dict[str, str], ops: int, start: threading.Event) -> None:
    rng = random.Random(1000 + worker.index)
    base = server.api_url + "/SMTPSettings"
    with requests.Session() as session:

        def call(method: str, url: str, expected: int, body: Any = None) -> requests.Response | None:
            worker.sent += 1
            response = session.request(method, url, json=body, headers=headers, timeout=REQUEST_TIMEOUT)
            worker.request_ids.append(response.headers.get("X-Cxmock-Request-Id", "missing"))
            if response.status_code != expected:
                worker.problems.append(
                    f"thread {worker.index}: {method} {url} -> {response.status_code} (expected {expected}): "
                    f"{response.text[:300]}"
                )
                return None
            return response

        if not start.wait(REQUEST_TIMEOUT):
            worker.problems.append(f"thread {worker.index}: never released")
            return
        for seq in range(ops):
            op = rng.choices(OPERATIONS, WEIGHTS)[0]
            if op in ("update", "delete") and not worker.live:
                op = "create"
            if op == "create" and len(worker.live) >= MAX_OWN:
                op = "delete"
            worker.ops[op] += 1
            tag = f"t{worker.index}-{seq}"
            if op == "create":
                body = settings_body(rng, tag)
                response = call("POST", base, 201, body)
                if response is not None:
                    record_id = int(response.headers["Location"].rsplit("/", 1)[1])
                    worker.created_ids.append(record_id)
                    worker.live[record_id] = public_view(record_id, body)
            elif op == "get":
                if worker.deleted and rng.random() < 0.2:
                    call("GET", f"{base}/{rng.choice(worker.deleted)}", 404)
                elif worker.live:
                    record_id = rng.choice(sorted(worker.live))
                    response = call("GET", f"{base}/{record_id}", 200)
                    if response is not None and response.json() != worker.live[record_id]:
                        worker.problems.append(
                            f"thread {worker.index}: GET {record_id} = {response.json()}, "
                            f"last acknowledged write {worker.live[record_id]}"
                        )
                else:
                    call("GET", base, 200)
            elif op == "list":
                response = call("GET", base, 200)
                if response is not None:
                    mine = {r["id"]: r for r in response.json() if r["id"] in worker.live or r["id"] in worker.deleted}
                    if mine != worker.live:
                        worker.problems.append(
                            f"thread {worker.index}: the list shows {mine} of my records, I expect {worker.live}"
                        )
            elif op == "update":
                record_id = rng.choice(sorted(worker.live))
                body = settings_body(rng, tag)
                if rng.random() < 0.3:
                    body.pop("password", None)  # PUT without a password keeps the stored one
                if call("PUT", f"{base}/{record_id}", 204, body) is not None:
                    worker.live[record_id] = public_view(record_id, body)
            elif op == "delete":
                record_id = rng.choice(sorted(worker.live))
                if call("DELETE", f"{base}/{record_id}", 204) is not None:
                    del worker.live[record_id]
                    worker.deleted.append(record_id)
            else:
                body = {**settings_body(rng, tag), "recieverEmail": f"rcpt-{tag}@example.org"}
                if call("POST", f"{base}/testconnection", 200, body) is not None:
                    worker.receivers.append(body["recieverEmail"])
            if len(worker.problems) > 20:
                return  # enough evidence; stop hammering


@pytest.fixture
def stress_server() -> Iterator[MockServer]:
    capture = THREADS * OPS_PER_THREAD + 10
    with MockServer(seed="none", capture_limit=capture, journal_limit=capture) as server:
        yield server


def test_mixed_operations_from_8_threads_keep_every_invariant(stress_server: MockServer) -> None:
    server = stress_server
    headers = {**server.auth_headers(), "Content-Type": JSON_V1}
    journal_before = server.state.journal.total_recorded
    workers = [Worker(i) for i in range(THREADS)]
    start = threading.Event()
    threads = [
        threading.Thread(
            target=run_worker, args=(server, w, headers, OPS_PER_THREAD, start), name=f"stress-{w.index}", daemon=True
        )
        for w in workers
    ]
    for thread in threads:
        thread.start()
    start.set()
    for thread in threads:
        thread.join(JOIN_TIMEOUT)
    assert not [t.name for t in threads if t.is_alive()], f"worker threads still running after {JOIN_TIMEOUT} s"

    problems = [p for w in workers for p in w.problems]
    assert not problems, f"{len(problems)} problem(s):\n" + "\n".join(problems[:20])
    server.check()
    assert sum(w.ops["testconnection"] for w in workers) > 0 and sum(w.ops["delete"] for w in workers) > 0

    # every id handed out is unique, across threads
    created = [i for w in workers for i in w.created_ids]
    duplicates = [i for i, n in Counter(created).items() if n > 1]
    assert not duplicates, f"ids handed out more than once: {duplicates[:20]}"

    # the store holds exactly the survivors, each equal to its last acknowledged write
    expected = {record_id: view for w in workers for record_id, view in w.live.items()}
    with requests.get(server.api_url + "/SMTPSettings", headers=headers, timeout=REQUEST_TIMEOUT) as response:
        assert response.status_code == 200
        stored = {r["id"]: r for r in response.json()}
    assert stored == expected
    # (a record may lack a password: the service's model allows it, and a PUT without one keeps none)

    # the journal saw every request (+1: the final list above); request ids are distinct
    sent = sum(w.sent for w in workers) + 1
    assert server.state.journal.total_recorded - journal_before == sent
    request_ids = [rid for w in workers for rid in w.request_ids]
    assert "missing" not in request_ids
    assert len(set(request_ids)) == len(request_ids)

    # one captured message per acknowledged testconnection, no more, no less
    receivers = [r for w in workers for r in w.receivers]
    captured = [rcpt for m in server.sink.messages for rcpt in m.rcpt_tos]
    assert len(server.sink.messages) == len(receivers)
    assert Counter(captured) == Counter(receivers)
