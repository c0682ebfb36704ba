"""``RemoteServer(url, sandbox=...)``, ``create_sandbox``/``delete_sandbox``/``list_sandboxes()`` over real sockets."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests

from mockserver.errors import ConfigError, ServerError
from mockserver.remote.server import RemoteServer
from mockserver.runtime.server import MockServer


def test_remote_server_scoped_to_a_sandbox(server: MockServer) -> None:
    with pytest.raises(ServerError, match="404.*no sandbox 'ci-1'"):  # opening one never creates it (#23, #25)
        RemoteServer(server.base_url, sandbox="ci-1")
    assert len(server.sandboxes.registry) == 0
    remote = RemoteServer(server.base_url).sandbox("ci-1", create=True)
    assert RemoteServer(server.base_url).sandbox("ci-1", create=True).base_url == remote.base_url  # exists: used
    assert remote.base_url == server.base_url + "/sandbox/ci-1"
    response = requests.get(remote.api_url + "/SMTPSettings", headers=remote.auth_headers(), timeout=10)
    assert response.status_code == 200
    remote.seed([], persist=True)
    remote.faults.add(match={"method": "GET"}, action={"type": "status", "status": 503}, times=1)
    assert requests.get(remote.api_url + "/SMTPSettings", headers=remote.auth_headers(), timeout=10).status_code == 503
    assert [e.status for e in remote.requests(operation_id="getAllSmtpSettings")] == [200, 503]
    remote.assert_called("getAllSmtpSettings", times=2)
    # nothing of it at the root
    assert server.requests() == [] and len(server.state.settings) == 1 and len(server.faults) == 0
    assert remote.ports()["smtp"] == server.sink.smtp_port
    assert [s["name"] for s in remote.list_sandboxes()] == ["ci-1"]
    remote.reset()
    assert remote.requests() == []


def test_create_and_delete_a_fresh_sandbox(server: MockServer) -> None:
    root = RemoteServer(server.base_url)
    mine = root.create_sandbox()
    assert mine.sandbox_name is not None and mine.sandbox_name.startswith("sb-")
    named = root.create_sandbox("pipeline-42")
    with pytest.raises(ServerError, match="409"):
        root.create_sandbox("pipeline-42")
    assert {s["name"] for s in root.list_sandboxes()} == {mine.sandbox_name, "pipeline-42"}
    named.delete_sandbox()
    mine.delete_sandbox()
    assert root.list_sandboxes() == []
    with pytest.raises(ConfigError, match="server root"):
        root.delete_sandbox()


def test_an_invalid_sandbox_name_is_refused_before_any_request() -> None:
    with pytest.raises(ConfigError, match="invalid sandbox name"):
        RemoteServer("http://127.0.0.1:9", sandbox="../x")


def test_a_sandbox_deletes_itself_under_its_own_prefix(server: MockServer) -> None:
    RemoteServer(server.base_url).create_sandbox("ci-9")
    mine = RemoteServer(server.base_url, sandbox="ci-9")
    assert len(server.sandboxes.registry) == 1
    mine.delete_sandbox()
    assert len(server.sandboxes.registry) == 0
    at_root = requests.delete(server.base_url + "/_mock/sandbox", timeout=10)
    assert at_root.status_code == 404 and "DELETE /_mock/sandboxes/<name>" in at_root.json()["message"]


def test_sandboxes_is_a_deprecated_alias_of_list_sandboxes(server: MockServer) -> None:
    root = RemoteServer(server.base_url)
    root.create_sandbox("ci-3")
    with pytest.deprecated_call(match="use list_sandboxes"):
        listed = root.sandboxes()
    assert [s["name"] for s in listed] == ["ci-3"] == [s["name"] for s in server.list_sandboxes()]


def test_behind_an_admin_token_remote_server_creates_its_sandboxes(make_server: Callable[..., MockServer]) -> None:
    """#23: a sandbox is created only by an authorized request; RemoteServer's are (it sends the admin token)."""
    server = make_server(admin_token="s3cret")
    root = RemoteServer(server.base_url, admin_token="s3cret")
    named = root.create_sandbox("ci-2")
    kept = root.sandbox("ci-3", create=True)
    assert root.sandbox("ci-3", create=True).base_url == kept.base_url
    assert {s["name"] for s in root.list_sandboxes()} == {"ci-2", "ci-3"}
    named.seed([], persist=True)
    assert named.requests() == []
    anonymous = requests.post(server.base_url + "/sandbox/ci-4/_mock/sandbox", json={}, timeout=10)
    assert anonymous.status_code == 401
    assert len(server.sandboxes.registry) == 2
