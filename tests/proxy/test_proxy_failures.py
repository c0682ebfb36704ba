"""``cxmock proxy`` when the upstream fails: down, slow, not HTTP, closing, 5xx, untrusted TLS. The client gets a
502/504 in the service's error shape naming the problem; the journal keeps the request; no secret is in any log
line, journal entry, drift record or report."""

from __future__ import annotations

import json
import logging
import select
import socket
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import trustme

from mockserver.config import Config
from mockserver.proxy import ProxyServer, UpstreamOptions
from mockserver.runtime.server import MockServer
from tests.proxy.upstreams import Recorder, Reply, raw_upstream, tls_context, token_form

SECRET_PASSWORD = "Sup3r-Secret-Pa55"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _journal(proxy: ProxyServer) -> list[dict[str, Any]]:
    with requests.get(proxy.base_url + "/_mock/requests", timeout=10) as response:
        entries: list[dict[str, Any]] = response.json()
        return entries


def _get(proxy: ProxyServer, path: str = "/SMTPSettings") -> requests.Response:
    return requests.get(proxy.api_url + path, headers={"Authorization": "Bearer tok"}, timeout=20)


def test_upstream_down_is_a_502_naming_it() -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    with ProxyServer(UpstreamOptions(url), Config()) as proxy:
        with _get(proxy) as response:
            assert response.status_code == 502
            assert response.headers["Content-Type"] == "application/json;v=1.0"
            message = response.json()["message"]
        assert f"cannot reach the upstream {url}" in message
        [entry] = _journal(proxy)
        assert (entry["status"], entry["operationId"]) == (502, "getAllSmtpSettings")
        assert entry["error"]["stage"] == "connect"
        # the client's request is linted whatever the upstream did
        assert {v["code"] for v in entry["violations"]} == {"version-missing", "cxorigin-missing"}


def test_a_slow_upstream_is_a_504_after_the_timeout(recorder: Recorder) -> None:
    recorder.reply = Reply(hold=threading.Event())
    with ProxyServer(UpstreamOptions(recorder.url, timeout=0.3), Config()) as proxy:
        with _get(proxy) as response:
            assert response.status_code == 504
            assert "did not answer within 0.3 s (--upstream-timeout)" in response.json()["message"]
        recorder.reply.hold.set()  # type: ignore[union-attr]
        assert _journal(proxy)[0]["status"] == 504


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (b"garbage\r\n\r\n", "did not answer HTTP"),
        (b"", "closed the connection without an answer"),
        (b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"trunc', "in the middle of its answer"),
    ],
    ids=["garbage", "closed", "truncated"],
)
def test_an_answer_that_is_not_http_is_a_502(reply: bytes, expected: str) -> None:
    with raw_upstream(reply) as url, ProxyServer(UpstreamOptions(url), Config()) as proxy:
        with _get(proxy) as response:
            assert response.status_code == 502
            assert expected in response.json()["message"]
        assert _journal(proxy)[0]["status"] == 502


def test_an_upstream_that_accepts_and_never_answers_is_a_504() -> None:
    with raw_upstream(None) as url, ProxyServer(UpstreamOptions(url, timeout=0.3), Config()) as proxy:
        with _get(proxy) as response:
            assert response.status_code == 504


def test_an_upstream_5xx_is_passed_on_journaled_and_listed_as_drift(recorder: Recorder) -> None:
    recorder.reply = Reply(500, [("Content-Type", "application/json")], b'{"message":"An error has occurred."}')
    with ProxyServer(UpstreamOptions(recorder.url), Config()) as proxy:
        with _get(proxy) as response:
            assert (response.status_code, response.content) == (500, b'{"message":"An error has occurred."}')
        [entry] = _journal(proxy)
        assert (entry["status"], entry["responseBody"]) == (500, {"message": "An error has occurred."})
        with requests.get(proxy.base_url + "/_mock/drift", timeout=10) as drift:
            [record] = drift.json()
        assert record["kind"] == "document" and record["requestId"] == entry["id"]
        assert "answered getAllSmtpSettings 500" in record["message"]
        assert "where the document says getAllSmtpSettings answers 200, 401, 403, 406" in record["message"]


def test_a_body_over_max_body_is_not_forwarded(recorder: Recorder) -> None:
    with ProxyServer(UpstreamOptions(recorder.url), Config(max_body=1000)) as proxy:
        with requests.post(proxy.api_url + "/SMTPSettings", data=b"x" * 5000, timeout=10) as response:
            assert response.status_code == 413
            # the HTTP front end refuses it before the proxy reads it (the proxy's own check says --max-body)
            assert "max_body" in response.json()["message"].replace("-", "_")
        assert [(e["method"], e["status"]) for e in _journal(proxy)] == [("POST", 413)]  # journaled all the same
    assert recorder.received == []


def test_drift_names_the_member_the_document_types_otherwise(recorder: Recorder) -> None:
    recorder.reply = Reply(
        body=b'[{"id":1,"host":"h","port":"25","fromAddress":"a@b.c","encryptionType":"None",'
        b'"useDefaultCredentials":false,"username":null,"displayName":null}]'
    )
    with ProxyServer(UpstreamOptions(recorder.url), Config()) as proxy:
        for _ in range(3):
            _get(proxy).close()
        with requests.get(proxy.base_url + "/_mock/drift?summary=1", timeout=10) as drift:
            [row] = drift.json()
    assert row["count"] == 3 and row["operationId"] == "getAllSmtpSettings"
    assert "body at /0/port" in row["message"] and "must be of type integer, got string" in row["message"]


# -- TLS ------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def tls_recorder(ca: trustme.CA) -> Iterator[Recorder]:
    with Recorder(tls=tls_context(ca)) as rec:
        yield rec


def test_tls_upstream_verified_with_its_ca(tls_recorder: Recorder, ca: trustme.CA, tmp_path: Path) -> None:
    pem = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(pem))
    with ProxyServer(UpstreamOptions(tls_recorder.url, ca_file=str(pem)), Config()) as proxy:
        with _get(proxy) as response:
            assert (response.status_code, response.content) == (200, b"[]")


def test_tls_upstream_without_its_ca_is_a_502_saying_what_to_do(tls_recorder: Recorder) -> None:
    with ProxyServer(UpstreamOptions(tls_recorder.url), Config()) as proxy:
        with _get(proxy) as response:
            assert response.status_code == 502
            message = response.json()["message"]
    assert "certificate that does not verify" in message and "--upstream-ca" in message
    assert tls_recorder.received == []


def test_tls_upstream_insecure_is_not_verified(tls_recorder: Recorder) -> None:
    with ProxyServer(UpstreamOptions(tls_recorder.url, insecure=True), Config()) as proxy:
        with _get(proxy) as response:
            assert response.status_code == 200


# -- secrets -------------------------------------------------------------------------------------------------


def test_no_secret_in_any_log_line_journal_entry_drift_or_report(
    recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg"
    recorder.reply = Reply(
        200,
        [("Content-Type", "application/json")],
        json.dumps({"access_token": token, "expires_in": 3600, "token_type": "Bearer"}).encode(),
    )
    caplog.set_level(logging.INFO, logger="cxmock")
    with ProxyServer(UpstreamOptions(recorder.url), Config(log_requests=True, log_format="json")) as proxy:
        with requests.post(
            proxy.api_url + "/identity/connect/token", data=token_form("admin", SECRET_PASSWORD), timeout=10
        ) as response:
            assert response.json()["access_token"] == token  # the client gets it unchanged
        recorder.reply = Reply(400, [("Content-Type", "application/json")], b'{"message":"bad"}')
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json;v=1.0"}
        body = {"host": "h", "port": 25, "fromAddress": "a@b.c", "password": SECRET_PASSWORD}
        requests.post(proxy.api_url + "/SMTPSettings", json=body, headers=headers, timeout=10).close()
        requests.put(proxy.api_url + "/SMTPSettings/1", json=body, headers=headers, timeout=10).close()
        outputs = [caplog.text]
        reports = ("text", "json", "junit")
        for path in ("/_mock/requests", "/_mock/drift", *(f"/_mock/violations?format={f}" for f in reports)):
            with requests.get(proxy.base_url + path, timeout=10) as response:
                assert response.status_code == 200, path
                outputs.append(response.text)
    assert recorder.received[-1].body.count(SECRET_PASSWORD.encode()) == 1  # forwarded, not dropped
    for text in outputs:
        assert SECRET_PASSWORD not in text
        assert token not in text and token[-20:] not in text
    assert "getToken" in caplog.text  # the log lines were written


def test_a_post_after_the_upstream_closed_an_idle_connection_is_forwarded(
    make_server: Callable[..., MockServer],
) -> None:
    """The pool does not reuse a keep-alive connection the upstream closed meanwhile (a POST on it would fail)."""
    upstream = make_server(http_idle_timeout=0.2)
    with ProxyServer(UpstreamOptions(upstream.base_url), Config()) as proxy:
        headers = {**upstream.auth_headers(), "Content-Type": "application/json;v=1.0"}
        with requests.get(proxy.api_url + "/SMTPSettings", headers=headers, timeout=10) as first:
            assert first.status_code == 200
        (idle,) = list(proxy.client._idle.queue)  # the connection the GET used, kept for the next request
        assert select.select([idle.sock], [], [], 10)[0]  # the upstream closes it after its idle timeout
        body = {"host": "h.example.org", "port": 25, "fromAddress": "a@example.org", "useDefaultCredentials": True}
        with requests.post(proxy.api_url + "/SMTPSettings", json=body, headers=headers, timeout=10) as created:
            assert created.status_code == 201


def test_cxmock_report_carries_the_drift_in_text_json_and_junit(recorder: Recorder) -> None:
    from click.testing import CliRunner

    from mockserver.cli import main

    recorder.reply = Reply(500, [("Content-Type", "application/json")], b'{"message":"An error has occurred."}')
    with ProxyServer(UpstreamOptions(recorder.url), Config()) as proxy:
        _get(proxy).close()
        outputs = {
            fmt: CliRunner().invoke(main, ["report", "--url", proxy.base_url, "--format", fmt, "--fail-on", "never"])
            for fmt in ("text", "json", "junit")
        }
    assert all(result.exit_code == 0 for result in outputs.values())
    assert "Drift: 1 way(s)" in outputs["text"].output and "[document] getAllSmtpSettings x1" in outputs["text"].output
    (row,) = json.loads(outputs["json"].output)["drift"]
    assert row["operationId"] == "getAllSmtpSettings" and row["count"] == 1
    suites = ET.fromstring(outputs["junit"].output.strip())
    (drift,) = [s for s in suites if s.get("name") == "cxmock.drift"]
    assert drift.get("failures") == "1" and "500" in drift[0][0].get("message", "")


def test_the_connection_pool_is_bounded(recorder: Recorder) -> None:
    """With --upstream-pool 1, a second request waits for the busy connection at most the connect timeout, then a
    504 that names the pool; the upstream never sees a second connection."""
    from mockserver.proxy import UpstreamClient, UpstreamError

    recorder.reply = Reply(hold=threading.Event())
    client = UpstreamClient(UpstreamOptions(recorder.url, pool_size=1, connect_timeout=0.3, timeout=20))
    first: list[object] = []
    worker = threading.Thread(target=lambda: first.append(client.request("GET", "/cxrestapi/auth/SMTPSettings")))
    worker.start()
    try:
        assert recorder.arrived.wait(10)  # the first request holds the only connection
        with pytest.raises(UpstreamError) as raised:
            client.request("GET", "/cxrestapi/auth/MyProfile")
        assert raised.value.status == 504 and raised.value.stage == "pool"
        assert "all 1 connections to the upstream stayed busy" in raised.value.message
        assert len(recorder.received) == 1
    finally:
        recorder.reply.hold.set()  # type: ignore[union-attr]
        worker.join(10)
        client.close()
    assert len(first) == 1  # the first request was answered once the upstream let it go
