"""The distributed MinIO component: erasure coding layout, probes, provisioning, policies."""

from __future__ import annotations

import json
import math
import re
from typing import Any

import pytest

from lakehouse.render import Rendering, render_stack
from lakehouse_core.stack_config import ObjectStoreConfig, erasure_set_size, parity
from lakehouse_infra.minio_provisioning import dremio_policy, spark_policy
from lakehouse_infra.object_store import spread_constraints

NS = "lakehouse-storage"


def test_dev_runs_four_pods_with_one_drive_each(dev: Rendering) -> None:
    sts = dev.find("StatefulSet", "minio", NS)
    assert sts["spec"]["replicas"] == 4
    assert sts["spec"]["podManagementPolicy"] == "Parallel"
    [claim] = sts["spec"]["volumeClaimTemplates"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "2Gi"
    args = sts["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "http://minio-{0...3}.minio-hl.lakehouse-storage.svc.cluster.local/data0" in args
    env = {e["name"]: e for e in sts["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["MINIO_CI_CD"]["value"] == "1"  # kind's root-filesystem volumes
    assert sts["metadata"]["annotations"]["lakehouse.dev/parity"] == "EC:2"


def test_prod_runs_two_drives_per_pod_spread_over_nodes(prod: Rendering) -> None:
    sts = prod.find("StatefulSet", "minio", NS)
    spec = sts["spec"]["template"]["spec"]
    assert "/data{0...1}" in spec["containers"][0]["args"][1]
    assert [c["metadata"]["name"] for c in sts["spec"]["volumeClaimTemplates"]] == [
        "data0",
        "data1",
    ]
    assert all(
        c["spec"]["storageClassName"] == "standard" for c in sts["spec"]["volumeClaimTemplates"]
    )
    assert spec["topologySpreadConstraints"][0]["whenUnsatisfiable"] == "DoNotSchedule"
    assert spec["topologySpreadConstraints"][0]["minDomains"] == 4
    assert "MINIO_CI_CD" not in {e["name"] for e in spec["containers"][0]["env"]}
    assert sts["metadata"]["annotations"]["lakehouse.dev/erasure-set-size"] == "8"


def worst_node_loss(replicas: int, drives: int, pods_per_node: int) -> tuple[int, int]:
    """(drives of one erasure set a lost node takes, drives the set may lose and still
    write). MinIO orders a distributed setup's drives host by host (hosts vary fastest)
    and cuts sets from that order, so each set takes at most ceil(set / replicas) drives
    from a pod; write quorum is the data drives, one more when data equals parity."""
    size = erasure_set_size(replicas * drives)
    assert size is not None
    p = parity(size)
    tolerated = p - 1 if size - p == p else p
    return pods_per_node * math.ceil(size / replicas), tolerated


SHAPES = [(r, d) for r in range(4, 17) for d in range(1, 9) if erasure_set_size(r * d)]


@pytest.mark.parametrize(("replicas", "drives"), SHAPES)
def test_every_allowed_shape_loses_no_write_quorum_with_a_node(replicas: int, drives: int) -> None:
    cfg = ObjectStoreConfig(replicas=replicas, drives_per_pod=drives, spread_across_nodes=True)
    [spread] = spread_constraints(cfg, {"app": "minio"})
    # The constraint puts one pod per node: minDomains counts absent nodes as empty.
    assert (spread["maxSkew"], spread["minDomains"], spread["whenUnsatisfiable"]) == (
        1,
        replicas,
        "DoNotSchedule",
    )
    lost, tolerated = worst_node_loss(replicas, drives, pods_per_node=1)
    assert lost <= tolerated, (replicas, drives, lost, tolerated)


def test_without_min_domains_two_pods_on_a_node_could_lose_the_write_quorum() -> None:
    """Why minDomains matters (the shape the prod stack ships: 4 pods x 2 drives, EC:4):
    on three nodes a skew of 1 allows two pods on one node."""
    lost, tolerated = worst_node_loss(4, 2, pods_per_node=2)
    assert lost > tolerated


def test_health_probes_and_disruption_budget(rendering: Rendering) -> None:
    container = rendering.find("StatefulSet", "minio", NS)["spec"]["template"]["spec"][
        "containers"
    ][0]
    assert container["livenessProbe"]["httpGet"]["path"] == "/minio/health/live"
    assert container["readinessProbe"]["httpGet"]["path"] == "/minio/health/ready"
    assert rendering.find("PodDisruptionBudget", "minio", NS)["spec"]["maxUnavailable"] == 1


def test_provisioning_job_creates_bucket_versioning_and_users(rendering: Rendering) -> None:
    script = rendering.find("ConfigMap", "minio-provision", NS)["data"]["provision.sh"]
    for step in (
        "mc mb --ignore-existing",
        "mc version enable",
        "mc ilm import",
        'user "$SPARK_ACCESS_KEY" "$SPARK_SECRET_KEY" lakehouse-spark',
        'user "$DREMIO_ACCESS_KEY" "$DREMIO_SECRET_KEY" lakehouse-dremio',
    ):
        assert step in script
    job = rendering.find("Job", "minio-provision", NS)
    template = job["spec"]["template"]
    env = {e["name"]: e for e in template["spec"]["containers"][0]["env"]}
    scheme = "https" if rendering.stack == "prod" else "http"  # TLS inside the cluster in prod
    assert env["MINIO_URL"]["value"] == f"{scheme}://minio.lakehouse-storage.svc.cluster.local:9000"
    # A rotated password changes the pod template, which replaces the Job: it runs again.
    assert re.fullmatch(
        r"[0-9a-f]{16}", template["metadata"]["annotations"]["lakehouse.dev/credentials-hash"]
    )


def _annotation(rendering: Rendering, kind: str, name: str, key: str) -> str:
    template = rendering.find(kind, name, NS)["spec"]["template"]
    return str(template["metadata"]["annotations"][key])


def test_a_rotated_root_password_rolls_the_servers(rendering: Rendering) -> None:
    key = "lakehouse.dev/root-credentials"
    current = _annotation(rendering, "StatefulSet", "minio", key)
    assert re.fullmatch(r"[0-9a-f]{16}", current)
    rotated = render_stack(rendering.stack, overrides={"minioRootPassword": "rotated1"})
    again = render_stack(rendering.stack, overrides={"minioRootPassword": "rotated1"})
    changed = _annotation(rotated, "StatefulSet", "minio", key)
    assert changed != current  # a new password rolls the pods
    assert _annotation(again, "StatefulSet", "minio", key) == changed  # the same one does not
    # The provisioning Job runs again with every user's new key, not only the root's.
    job_key = "lakehouse.dev/credentials-hash"
    spark_rotated = render_stack(
        rendering.stack, overrides={"minioRootPassword": "rotated1", "sparkS3SecretKey": "k2"}
    )
    assert _annotation(spark_rotated, "Job", "minio-provision", job_key) != _annotation(
        rotated, "Job", "minio-provision", job_key
    )


def test_claim_templates_carry_no_version_so_an_image_bump_keeps_the_statefulset(
    rendering: Rendering,
) -> None:
    for sts in rendering.of_kind("StatefulSet"):
        for claim in sts["spec"].get("volumeClaimTemplates", []):
            assert "app.kubernetes.io/version" not in claim["metadata"]["labels"], sts["metadata"]
        assert "app.kubernetes.io/version" in sts["spec"]["template"]["metadata"]["labels"]


def _allows(policy: dict[str, Any], action: str, resource: str) -> bool:
    for statement in policy["Statement"]:
        if action in statement["Action"]:
            for pattern in statement["Resource"]:
                if pattern == resource or (
                    pattern.endswith("*") and resource.startswith(pattern[:-1])
                ):
                    return True
    return False


@pytest.mark.parametrize("bucket", ["lakehouse"])
def test_least_privilege_policies(bucket: str) -> None:
    spark, dremio = spark_policy(bucket), dremio_policy(bucket)
    lake_object = f"arn:aws:s3:::{bucket}/deltalake/silver/orders/part-0.parquet"
    dist_object = f"arn:aws:s3:::{bucket}/dremio/cache/x"
    assert _allows(spark, "s3:PutObject", lake_object)
    assert _allows(
        spark, "s3:PutObject", f"arn:aws:s3:::{bucket}/landing/orders/batch=000001/a.csv"
    )
    assert not _allows(spark, "s3:GetObject", dist_object)
    # The scheduled backup (a Spark job) writes and prunes backups/; Dremio never sees them.
    backup_object = f"arn:aws:s3:::{bucket}/backups/objects/ab/ab12"
    assert _allows(spark, "s3:PutObject", backup_object)
    assert _allows(spark, "s3:DeleteObject", backup_object)
    assert not _allows(dremio, "s3:GetObject", backup_object)
    assert _allows(dremio, "s3:GetObject", lake_object)
    assert not _allows(dremio, "s3:PutObject", lake_object)
    assert not _allows(dremio, "s3:DeleteObject", lake_object)
    assert _allows(dremio, "s3:PutObject", dist_object)


def test_policies_in_the_config_map_are_the_tested_ones(rendering: Rendering) -> None:
    data = rendering.find("ConfigMap", "minio-provision", NS)["data"]
    assert json.loads(data["spark-policy.json"]) == spark_policy("lakehouse")
    assert json.loads(data["dremio-policy.json"]) == dremio_policy("lakehouse")


def test_console_and_s3_api_reach_through_the_ingress(dev: Rendering) -> None:
    hosts = {i["metadata"]["name"]: i["spec"]["rules"][0]["host"] for i in dev.of_kind("Ingress")}
    assert hosts["minio-console"] == "minio.localhost" and hosts["minio-s3"] == "s3.localhost"
