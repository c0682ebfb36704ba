"""``deploy/``: the HAProxy configuration checks, the Kubernetes manifests validate offline against the API schemas
(``kubernetes-validate``), and the three deployments (compose, Kubernetes, the router test) share one router
configuration whose affinity, health checks and sizes match what the project measured (issue #25)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from cluster import HAPROXY_CFG, ROOT, haproxy_binary, router_env

DEPLOY = ROOT / "deploy"
KUBERNETES = DEPLOY / "kubernetes"
MANIFESTS = sorted(p for p in KUBERNETES.glob("*.yaml") if p.name != "kustomization.yaml")


def resources() -> list[dict[str, Any]]:
    return [doc for path in MANIFESTS for doc in yaml.safe_load_all(path.read_text()) if doc]


def find(kind: str, name: str) -> dict[str, Any]:
    (match,) = [r for r in resources() if r["kind"] == kind and r["metadata"]["name"] == name]
    return match


@pytest.mark.parametrize(
    "extra",
    [{}, {"CXMOCK_RESOLVERS": "1", "CXMOCK_ADMIN_TOKEN": "s3cret"}],
    ids=["static-addresses", "dns-and-admin-token"],
)
def test_haproxy_accepts_the_configuration(extra: dict[str, str]) -> None:
    haproxy = haproxy_binary()
    if haproxy is None:
        pytest.skip("needs HAProxy: apt-get install -y haproxy (or set CXMOCK_HAPROXY)")
    env = router_env("127.0.0.1:18080", ["127.0.0.1:18081", "127.0.0.1:18082", "127.0.0.1:18083"], **extra)
    result = subprocess.run(
        [haproxy, "-c", "-f", str(HAPROXY_CFG)], env=env, capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ALERT" not in result.stdout + result.stderr


def test_haproxy_configuration_hashes_the_sandbox_prefix_and_checks_health() -> None:
    text = HAPROXY_CFG.read_text()
    assert re.search(r"^\s+balance uri depth 2$", text, re.M)  # "/sandbox/<name>": the first two segments
    assert re.search(r"^\s+hash-type consistent$", text, re.M)
    assert text.count("http-check send meth GET uri /_mock/health") == 4  # both backends, token or not
    root = text.split("\nbackend root", 1)[1]
    assert re.findall(r"^\s+server (\S+)", root, re.M) == ["r1"]  # the root has one state: one replica


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_kubernetes_manifests_validate_offline(path: Path) -> None:
    kubernetes_validate = pytest.importorskip(
        "kubernetes_validate", reason="pip install kubernetes-validate (in the test extra)"
    )
    for doc in yaml.safe_load_all(path.read_text()):
        kubernetes_validate.validate(doc, kubernetes_validate.latest_version(), strict=True)


def test_kustomization_lists_every_manifest() -> None:
    kustomization = yaml.safe_load((KUBERNETES / "kustomization.yaml").read_text())
    assert sorted(kustomization["resources"]) == [p.name for p in MANIFESTS]


def test_the_router_configmap_is_the_shared_haproxy_configuration() -> None:
    configmap = find("ConfigMap", "cxmock-haproxy")
    assert configmap["data"]["haproxy.cfg"] == HAPROXY_CFG.read_text(), (
        "deploy/kubernetes/router.yaml's ConfigMap must hold deploy/haproxy/haproxy.cfg unchanged (paste it, "
        "indented by 4 spaces, under `haproxy.cfg: |`)"
    )


def test_the_router_names_each_replica_of_the_statefulset() -> None:
    statefulset = find("StatefulSet", "cxmock")
    router = find("Deployment", "cxmock-router")
    (container,) = router["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e["value"] for e in container["env"]}
    name, service, count = (
        statefulset["metadata"]["name"],
        statefulset["spec"]["serviceName"],
        statefulset["spec"]["replicas"],
    )
    assert [env[f"CXMOCK_R{i + 1}"] for i in range(count)] == [f"{name}-{i}.{service}:8080" for i in range(count)]
    assert find("Service", service)["spec"]["clusterIP"] == "None"  # headless: per-replica DNS names
    assert find("Service", "cxmock")["spec"]["selector"] == router["spec"]["selector"]["matchLabels"]


def benchmark_mb(label: str) -> float:
    """A memory row's median from docs/benchmarks.md (``| label | runs | **value** MB | ...``)."""
    text = (ROOT / "docs" / "benchmarks.md").read_text()
    match = re.search(rf"^\| {re.escape(label)} \| \d+ \| \*\*([\d.]+)\*\* MB", text, re.M)
    assert match, f"docs/benchmarks.md has no row {label!r}"
    return float(match.group(1))


def mebibytes(quantity: str) -> float:
    assert quantity.endswith("Mi"), quantity
    return float(quantity[:-2]) * 1.048576  # in MB, as the benchmarks report


def test_replicas_are_probed_on_health_and_sized_from_the_benchmarks() -> None:
    from mockserver.config import Config

    (container,) = find("StatefulSet", "cxmock")["spec"]["template"]["spec"]["containers"]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"]["path"] == "/_mock/health"
    idle = benchmark_mb("RSS idle: fresh process, MockServer() ready")
    per_sandbox = benchmark_mb("RSS added per sandbox")
    full = idle + Config().max_sandboxes * per_sandbox
    large_mail = benchmark_mb("RSS after 10 mails of 10 MB, all listed")
    request = mebibytes(container["resources"]["requests"]["memory"])
    limit = mebibytes(container["resources"]["limits"]["memory"])
    assert full <= request < 2 * full, (full, request)
    assert limit >= max(request, large_mail) * 1.5, (limit, large_mail)


def test_compose_runs_three_replicas_behind_the_same_router_configuration() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    replicas = sorted(k for k in services if k.startswith("cxmock-"))
    assert replicas == ["cxmock-1", "cxmock-2", "cxmock-3"]
    router = services["router"]
    assert "./haproxy/haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro" in router["volumes"]
    assert [router["environment"][f"CXMOCK_R{i}"] for i in (1, 2, 3)] == [f"{r}:8080" for r in replicas]
    for name in replicas:
        assert "cxmock" in " ".join(services[name]["healthcheck"]["test"])
        assert router["depends_on"][name] == {"condition": "service_healthy"}
