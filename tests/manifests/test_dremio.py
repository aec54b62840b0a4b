"""The Dremio component: roles, memory, ZooKeeper, storage on MinIO, services, bootstrap."""

from __future__ import annotations

import re
from typing import Any

import pytest

from lakehouse.render import Rendering, render_stack
from lakehouse_core.images import dremio_bootstrap_image_ref

NS = "lakehouse-dremio"


def _env(sts: dict[str, Any]) -> dict[str, str]:
    container = sts["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e.get("value") for e in container["env"]}


@pytest.mark.parametrize(("stack", "executors", "zookeepers"), [("dev", 1, 1), ("prod", 3, 3)])
def test_node_counts_follow_the_stack(
    renderings: dict[str, Rendering], stack: str, executors: int, zookeepers: int
) -> None:
    r = renderings[stack]
    assert r.find("StatefulSet", "dremio-coordinator", NS)["spec"]["replicas"] == 1
    assert r.find("StatefulSet", "dremio-executor", NS)["spec"]["replicas"] == executors
    assert r.find("StatefulSet", "zk", NS)["spec"]["replicas"] == zookeepers


# (stack, role) -> (container budget MiB, heap MiB, direct MiB), worked out by hand from
# the rule in docs/configuration.md: keep max(5 %, 512 MiB) outside heap and direct; a
# coordinator's direct memory is 2048 MiB below 18 GiB usable; an executor's heap 2048 MiB
# below 6 GiB usable, 4096 MiB below 32 GiB.
MEMORY = {
    ("dev", "coordinator"): (4096, 1536, 2048),
    ("dev", "executor"): (4096, 2048, 1536),
    ("prod", "coordinator"): (16384, 13517, 2048),
    ("prod", "executor"): (16384, 4096, 11469),
}


def test_roles_and_explicit_memory(rendering: Rendering) -> None:
    for role, coordinator in (("coordinator", True), ("executor", False)):
        sts = rendering.find("StatefulSet", f"dremio-{role}", NS)
        env = _env(sts)
        opts = env["DREMIO_JAVA_SERVER_EXTRA_OPTS"]
        assert f"-Dservices.coordinator.enabled={str(coordinator).lower()}" in opts
        assert f"-Dservices.executor.enabled={str(not coordinator).lower()}" in opts
        assert "-Dservices.coordinator.master.embedded-zookeeper.enabled=false" in opts
        resources = sts["spec"]["template"]["spec"]["containers"][0]["resources"]
        budget = int(resources["requests"]["memory"][:-2])
        limit = int(resources["limits"]["memory"][:-2])
        heap, direct = (
            int(env["DREMIO_MAX_HEAP_MEMORY_SIZE_MB"]),
            int(env["DREMIO_MAX_DIRECT_MEMORY_SIZE_MB"]),
        )
        assert budget >= 4096
        assert heap >= 1024 and direct >= 1024 and heap + direct < budget
        assert (budget, heap, direct) == MEMORY[rendering.stack, role]
        # Headroom above the budget for what lives outside heap and direct memory.
        assert limit == budget + max(1024, budget // 4)


def test_zookeeper_address_matches_the_zookeeper_pods(rendering: Rendering) -> None:
    conf = rendering.find("ConfigMap", "dremio-conf", NS)["data"]["dremio.conf"]
    [address] = re.findall(r'zookeeper: "([^"]+)"', conf)
    replicas = rendering.find("StatefulSet", "zk", NS)["spec"]["replicas"]
    assert address.split(",") == [
        f"zk-{i}.zk-hs.{NS}.svc.cluster.local:2181" for i in range(replicas)
    ]
    opts = _env(rendering.find("StatefulSet", "dremio-executor", NS))[
        "DREMIO_JAVA_SERVER_EXTRA_OPTS"
    ]
    assert f"-Dzookeeper={address}" in opts


def test_distributed_storage_points_at_the_minio_service() -> None:
    plain = render_stack("dev", redact=False)
    conf = plain.find("ConfigMap", "dremio-conf", NS)["data"]["dremio.conf"]
    assert 'dist: "dremioS3:///lakehouse/dremio"' in conf
    site = plain.find("Secret", "dremio-core-site", NS)["stringData"]["core-site.xml"]
    assert (
        "<name>fs.s3a.endpoint</name><value>minio.lakehouse-storage.svc.cluster.local:9000</value>"
        in site
    )
    assert "<name>dremio.s3.compat</name><value>true</value>" in site
    assert "<name>fs.s3a.access.key</name><value>lakehouse-dremio</value>" in site
    assert plain.find("Service", "minio", "lakehouse-storage")["spec"]["ports"][0]["port"] == 9000


def test_services_expose_web_jdbc_flight_and_fabric(rendering: Rendering) -> None:
    client = rendering.find("Service", "dremio-client", NS)
    assert {p["port"] for p in client["spec"]["ports"]} == {9047, 31010, 32010}
    cluster = rendering.find("Service", "dremio-cluster", NS)
    assert 45678 in {p["port"] for p in cluster["spec"]["ports"]}


def test_bootstrap_job_talks_to_the_client_service_with_secrets(rendering: Rendering) -> None:
    job = rendering.find("Job", "dremio-bootstrap", NS)
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["python3", "-m", "lakehouse_dremio.bootstrap"]
    env = {e["name"]: e for e in container["env"]}
    assert env["DREMIO_URL"]["value"] == f"http://dremio-client.{NS}.svc.cluster.local:9047"
    assert env["DREMIO_ADMIN_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == "dremio-admin"
    assert env["LAKE_S3_ENDPOINT"]["value"] == "minio.lakehouse-storage.svc.cluster.local:9000"
    assert container["image"].endswith(dremio_bootstrap_image_ref())
    # Its own image, not the job image: the job image carries the jobs and nothing else.
    assert "spark-jobs" not in container["image"]
    assert job["spec"]["template"]["spec"]["serviceAccountName"] == "dremio-bootstrap"
    annotations = job["spec"]["template"]["metadata"]["annotations"]
    assert re.fullmatch(r"[0-9a-f]{16}", annotations["lakehouse.dev/credentials-hash"])


def test_prod_spreads_zookeeper_over_nodes(prod: Rendering) -> None:
    zk = prod.find("StatefulSet", "zk", NS)["spec"]["template"]["spec"]
    assert zk["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    prod.find("PodDisruptionBudget", "zookeeper", NS)
    prod.find("PodDisruptionBudget", "dremio-executor", NS)
