"""Three ``cxmock serve`` replicas behind Debian's HAProxy running ``deploy/haproxy/haproxy.cfg`` (issue #25).

The downstream example suite (``examples/downstream``, only the plugin's fixtures) runs twice through the router with
``pytest -n 4 --cxmock-url <router>``: every xdist worker's sandbox lives on the replica its name hashes to, and
works end to end there, the testconnection mail included (read back through the router). Afterwards no sandbox is
left on any replica and nothing reached the root.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from cluster import ROOT, Cluster, start_cluster

from mockserver.remote.server import RemoteServer

pytestmark = [pytest.mark.slow, pytest.mark.skipif(sys.platform == "win32", reason="POSIX processes")]

DOWNSTREAM = ROOT / "examples" / "downstream"


def hosts(server: RemoteServer) -> list[str]:
    """The hosts of the settings records ``server`` (a sandbox, through the router) lists over the API."""
    url = server.base_url + "/cxrestapi/auth/SMTPSettings"
    headers = {**server.auth_headers(), "Accept": "application/json;v=1.0"}
    with requests.get(url, headers=headers, timeout=10) as response:
        assert response.status_code == 200, response.text
        return [s["host"] for s in response.json()]


def sandboxes_on(replica: str) -> set[str]:
    with requests.get(replica + "/_mock/sandboxes", timeout=10) as response:
        assert response.status_code == 200, response.text
        return {s["name"] for s in response.json()["sandboxes"]}


def run_downstream(url: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CXMOCK_", "PYTEST_"))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-n", "4", "-p", "no:randomly", "--cxmock-url", url],
        cwd=DOWNSTREAM,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_downstream_suite_through_haproxy_twice(tmp_path: Path) -> None:
    with start_cluster(tmp_path, 3, "--seed", "default") as cluster:
        for run in (1, 2):
            result = run_downstream(cluster.url)
            assert result.returncode == 0, (
                f"run {run}:\n{result.stdout[-6000:]}\n{result.stderr[-3000:]}\n{cluster.logs()}"
            )
            assert " passed" in result.stdout and "failed" not in result.stdout
        # every session deleted its own sandbox, on whichever replica held it; the root saw none of their requests
        for replica in cluster.replicas:
            assert sandboxes_on(replica) == set(), replica
        with requests.get(cluster.url + "/_mock/requests", timeout=10) as response:
            assert response.json() == []


def test_each_sandbox_lives_on_one_replica_and_all_three_are_used(tmp_path: Path) -> None:
    names = [f"spread-{i:02d}" for i in range(24)]
    with start_cluster(tmp_path, 3) as cluster:
        root = RemoteServer(cluster.url)
        for name in names:
            sandbox = root.create_sandbox(name)  # as the plugin does: under its own prefix, so on its replica
            sandbox.seed([{"host": f"{name}.example.org", "port": 25, "fromAddress": "a@example.org"}])
        held = [sandboxes_on(replica) for replica in cluster.replicas]
        for name in names:
            owners = [i for i, names_there in enumerate(held) if name in names_there]
            assert len(owners) == 1, f"{name} is on replicas {owners}"
        assert all(held), f"the consistent hash left a replica empty: {[len(h) for h in held]}"
        # every later request for a name reaches the replica holding it: its record reads back through the router
        for name in names:
            assert hosts(root.sandbox(name)) == [f"{name}.example.org"]
        # root traffic goes to r1 only: a record created at the root through the router is r1's
        root.seed([{"host": "root.example.org", "port": 25, "fromAddress": "a@example.org"}])
        assert hosts(root) == ["root.example.org"]
        replicas = [RemoteServer(url) for url in cluster.replicas]
        assert ["root.example.org" in hosts(r) for r in replicas] == [True, False, False]


def test_a_stopped_replica_is_taken_out_and_the_others_keep_their_sandboxes(tmp_path: Path) -> None:
    """Consistent hashing: when r3 goes down (its health checks fail), only r3's sandboxes move."""
    with start_cluster(tmp_path, 3) as cluster:
        check_cluster_survives_loss(cluster)


def check_cluster_survives_loss(cluster: Cluster) -> None:
    root = RemoteServer(cluster.url)
    names = [f"keep-{i:02d}" for i in range(12)]
    for name in names:
        root.create_sandbox(name).seed([{"host": f"{name}.example.org", "port": 25, "fromAddress": "a@example.org"}])
    on_r3 = sandboxes_on(cluster.replicas[2]) & set(names)
    cluster.processes[2].stop()  # replica r3
    survivors = [n for n in names if n not in on_r3]
    assert survivors and on_r3
    for name in survivors:  # served by the same replica as before: their state is intact
        assert hosts(root.sandbox(name)) == [f"{name}.example.org"]
    for name in on_r3:  # redispatched to a live replica (retries, then r3's failed health checks), never a 503:
        # that replica does not hold it (404 until the pipeline creates it again)
        with requests.get(f"{cluster.url}/sandbox/{name}/_mock/health", timeout=30) as response:
            assert response.status_code in (200, 404), response.text


FAILING = """
import pytest
from smtp_client import SmtpSettingsClient
from test_downstream import SETTINGS


@pytest.mark.cxmock(faults=["smtp-recipient-rejected"])
def test_red(cxmock):
    ok, details = SmtpSettingsClient(cxmock.base_url, "admin", "admin").test_connection(SETTINGS, "ops@check.org")
    assert ok, details
"""


def test_a_red_downstream_test_links_to_its_journal_through_the_router(tmp_path: Path) -> None:
    """The acceptance case of #25 on replicas: under ``-n 4 --cxmock-url <router>`` a failing test's report shows
    the request's status, reason and fault, and a dashboard link whose sandbox the router still finds afterwards."""
    import re
    import shutil

    suite = tmp_path / "downstream"
    shutil.copytree(DOWNSTREAM, suite, ignore=shutil.ignore_patterns("__pycache__"))
    (suite / "test_red.py").write_text(FAILING, encoding="utf-8")
    with start_cluster(tmp_path, 3) as cluster:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CXMOCK_", "PYTEST_"))}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-n", "4", "--cxmock-url", cluster.url],
            cwd=suite,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        out = result.stdout
        assert result.returncode == 1 and "1 failed" in out, out[-4000:]
        assert "POST /cxrestapi/auth/SMTPSettings/testconnection -> 400 (testSmtpConnection)" in out
        assert "fault: smtp-recipient-rejected (reply at SMTP rcpt)" in out and "reason: " in out
        (link,) = re.findall(r"dashboard: (\S+)/_mock/ui/#requests", out)
        assert link.startswith(cluster.url + "/sandbox/pytest-")
        journal = requests.get(link + "/_mock/requests", timeout=10).json()  # routed to the replica that holds it
        assert [e["status"] for e in journal if e["operationId"] == "testSmtpConnection"] == [400]
