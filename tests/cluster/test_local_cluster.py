"""The user's journey on a real Kubernetes (the local cluster test bed), step by step.

Real: the API server, kubelet, containerd, CoreDNS, the Pulumi engine and its kubernetes
provider (both built here), the Spark operator and Traefik from their pinned charts, MinIO,
ZooKeeper, Spark. Stand-ins (docs/test-bed.md): every image is rebuilt here, and Dremio is the
Dremio API double.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sys
import time
from typing import Any

import pytest

from lakehouse_core import names, versions
from lakehouse_core.gold import GOLD_TABLES as GOLD

from .conftest import Bed, password

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(7200)]

STORAGE, DREMIO_NS, JOBS = names.STORAGE_NAMESPACE, names.DREMIO_NAMESPACE, "lakehouse-jobs"
SCALE = "0.002"


def unsettled(the: Bed) -> list[str]:
    """What still moves: workloads mid-rollout, pods terminating or not Ready, Jobs running.

    The SparkApplications' pods (JOBS), finished pods and the test's own bare pods are
    not the stack's to settle.
    """
    moving: list[str] = []
    for kind in ("deployments", "statefulsets", "daemonsets"):
        for w in the.kubectl_json("get", kind, "-A")["items"]:
            meta, spec, st = w["metadata"], w["spec"], w.get("status", {})
            want = spec.get("replicas", st.get("desiredNumberScheduled", 0))
            ready = st.get("readyReplicas", st.get("numberReady", 0))
            updated = st.get("updatedReplicas", st.get("updatedNumberScheduled", 0))
            revised = st.get("currentRevision", "") == st.get("updateRevision", "")
            current = st.get("observedGeneration") == meta.get("generation")
            if not (current and ready == want and updated == want and revised):
                moving.append(f"{kind} {meta['namespace']}/{meta['name']}: {st}")
    for pod in the.kubectl_json("get", "pods", "-A")["items"]:
        meta, status = pod["metadata"], pod["status"]
        owner = (meta.get("ownerReferences") or [{}])[0].get("kind")
        if owner == "Job" or meta["namespace"] == JOBS:
            continue
        if meta.get("deletionTimestamp") and owner is not None:
            moving.append(f"pod {meta['namespace']}/{meta['name']} is terminating")
        elif status.get("phase") not in ("Succeeded", "Failed"):
            ready = {c["type"]: c["status"] for c in status.get("conditions", [])}.get("Ready")
            if ready != "True":
                moving.append(f"pod {meta['namespace']}/{meta['name']} is not Ready: {status}")
    for job in the.kubectl_json("get", "jobs", "-A")["items"]:
        done = {c["type"]: c["status"] for c in job["status"].get("conditions", [])}
        if done.get("Complete") != "True":
            moving.append(f"Job {job['metadata']['name']}: {job['status']}")
    return moving


def pods_ready_and_jobs_complete(the: Bed, within: float = 300) -> float:
    """Wait until nothing of the stack moves (see ``unsettled``); the seconds it took.

    `pulumi up` returns once each object's own await is met; a StatefulSet rolling its
    pods one by one, or a pod's first readiness probe, can still be under way then.
    """
    started = time.monotonic()
    moving = unsettled(the)
    while moving and time.monotonic() - started < within:
        time.sleep(5)
        moving = unsettled(the)
    assert not moving, f"not settled {within:.0f}s after `up`:\n" + "\n".join(moving)
    return time.monotonic() - started


def mc(the: Bed, script: str, user: str, secret: str, name: str) -> str:
    """Run `mc` in a pod of the cluster with the given credentials (from a Secret)."""
    the.kubectl("-n", STORAGE, "delete", "secret", f"{name}-creds", "--ignore-not-found")
    the.kubectl(
        "-n",
        STORAGE,
        "create",
        "secret",
        "generic",
        f"{name}-creds",
        f"--from-literal=user={user}",
        f"--from-literal=secret={secret}",
    )
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": STORAGE},
        "spec": {
            "restartPolicy": "Never",
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": 1000,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "containers": [
                {
                    "name": "mc",
                    "image": versions.MC_IMAGE.ref,
                    "imagePullPolicy": "IfNotPresent",
                    "command": [
                        "/bin/sh",
                        "-c",
                        'printf "%s\\n%s\\n" "$U" "$S" | mc alias set --api S3v4 lake '
                        f"{names.minio_endpoint()} >/dev/null && {script}",
                    ],
                    "env": [
                        {"name": "HOME", "value": "/tmp"},
                        {
                            "name": "U",
                            "valueFrom": {"secretKeyRef": {"name": f"{name}-creds", "key": "user"}},
                        },
                        {
                            "name": "S",
                            "valueFrom": {
                                "secretKeyRef": {"name": f"{name}-creds", "key": "secret"}
                            },
                        },
                    ],
                    "securityContext": {
                        "allowPrivilegeEscalation": False,
                        "capabilities": {"drop": ["ALL"]},
                    },
                }
            ],
        },
    }
    the.kubectl("-n", STORAGE, "delete", "pod", name, "--ignore-not-found")
    manifest = the.lay.config / f"{name}.json"
    manifest.write_text(json.dumps(pod))
    the.kubectl("apply", "-f", str(manifest))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        phase = the.kubectl("-n", STORAGE, "get", "pod", name, "-o", "jsonpath={.status.phase}")
        if phase in ("Succeeded", "Failed"):
            break
        time.sleep(2)
    out = the.kubectl("-n", STORAGE, "logs", name)
    the.kubectl("-n", STORAGE, "delete", "pod", name, "--wait=false")
    the.kubectl("-n", STORAGE, "delete", "secret", f"{name}-creds")
    return out


def set_secrets(the: Bed, values: dict[str, str]) -> None:
    for key, value in values.items():
        the.pulumi("config", "set", "--secret", f"lakehouse:{key}", "--", value)
        the.secrets[key] = value


def test_01_node_is_ready_isolated_and_labelled(the_bed: Bed) -> None:
    from lakehouse.localcluster import netns

    links = netns.check_isolated()
    assert "cni0" in links and "lo" in links
    [node] = the_bed.kubectl_json("get", "nodes")["items"]
    assert node["metadata"]["labels"]["ingress-ready"] == "true"
    assert node["status"]["nodeInfo"]["kubeletVersion"] == versions.KUBERNETES_VERSION
    classes = the_bed.kubectl_json("get", "storageclass")["items"]
    assert [c["metadata"]["name"] for c in classes] == ["standard"]


def test_02_up_deploys_the_dev_stack(the_bed: Bed) -> None:
    the_bed.pulumi("stack", "init")
    # The bed runs no random provider: the four secrets are set, as a user may set them.
    # A hand-set MinIO root password may start with '-' (it must reach `mc` intact).
    set_secrets(
        the_bed,
        {
            "minioRootPassword": password("-"),
            "sparkS3SecretKey": password(),
            "dremioS3SecretKey": password(),
            "dremioAdminPassword": password(),
        },
    )
    out = the_bed.lakehouse("up", "--stack", "dev", timeout=2400)
    the_bed.timeline.mark("lakehouse up: the dev stack is deployed")
    the_bed.facts["up_output_tail"] = out[-600:]
    pods_ready_and_jobs_complete(the_bed)


def test_03_minio_runs_4_servers_in_one_erasure_set(the_bed: Bed) -> None:
    info = json.loads(
        mc(
            the_bed,
            "mc admin info lake --json",
            names.MINIO_ROOT_USER,
            the_bed.secrets["minioRootPassword"],
            "mc-info",
        ).splitlines()[-1]
    )
    servers = info["info"]["servers"]
    assert len(servers) == 4 and all(s["state"] == "online" for s in servers)
    assert {d.get("set_index", 0) for s in servers for d in s["drives"]} == {0}


def test_04_provisioning_versioned_the_bucket_and_scoped_the_users(the_bed: Bed) -> None:
    root = mc(
        the_bed,
        "mc version info lake/lakehouse",
        names.MINIO_ROOT_USER,
        the_bed.secrets["minioRootPassword"],
        "mc-version",
    )
    assert "versioning is enabled" in root
    spark = mc(
        the_bed,
        "echo x | mc pipe lake/lakehouse/deltalake/_probe && echo SPARK-DELTA-OK; "
        "echo x | mc pipe lake/lakehouse/dremio/_probe && echo SPARK-DREMIO-WROTE; true",
        names.SPARK_S3_USER,
        the_bed.secrets["sparkS3SecretKey"],
        "mc-spark",
    )
    assert "SPARK-DELTA-OK" in spark and "SPARK-DREMIO-WROTE" not in spark
    dremio = mc(
        the_bed,
        "mc cat lake/lakehouse/deltalake/_probe && echo DREMIO-READ-OK; "
        "echo y | mc pipe lake/lakehouse/deltalake/_probe2 && echo DREMIO-WROTE-DELTA; true",
        names.DREMIO_S3_USER,
        the_bed.secrets["dremioS3SecretKey"],
        "mc-dremio",
    )
    assert "DREMIO-READ-OK" in dremio and "DREMIO-WROTE-DELTA" not in dremio


def test_05_every_ingress_has_an_address_and_routes(the_bed: Bed) -> None:
    for ingress in the_bed.kubectl_json("get", "ingress", "-A")["items"]:
        assert ingress["status"]["loadBalancer"]["ingress"], ingress["metadata"]["name"]

    def get(url: str) -> str:
        fetch = f"import urllib.request as u; print(u.urlopen('{url}', timeout=10).read().decode())"
        return the_bed.run(sys.executable, "-c", fetch)

    assert get("http://s3.localhost/minio/health/live") is not None
    assert "MinIO" in get("http://minio.localhost/") or get("http://minio.localhost/")
    assert '"OK"' in get("http://dremio.localhost/apiv2/server_status")


def test_06_pipeline_runs_through_the_operator_and_matches_the_oracle(the_bed: Bed) -> None:
    the_bed.lakehouse("generate", "--stack", "dev", "--scale", SCALE, "--change-batches", "2")
    the_bed.timeline.mark("landing data written through the S3 ingress")
    out = the_bed.lakehouse("pipeline", "run", "--layer", "all", "--stack", "dev", timeout=3600)
    the_bed.timeline.mark("bronze, silver and gold ran as SparkApplications")
    assert "COMPLETED" in out and "promoted or refreshed" in out, out[-3000:]
    apps = the_bed.kubectl_json("-n", JOBS, "get", "sparkapplications")["items"]
    assert {a["status"]["applicationState"]["state"] for a in apps} == {"COMPLETED"}
    spark_secret = the_bed.secrets["sparkS3SecretKey"]
    pods = the_bed.kubectl("-n", JOBS, "get", "pods", "-o", "json")
    assert spark_secret not in pods and spark_secret not in json.dumps(apps)
    for app in apps:
        log = the_bed.kubectl("-n", JOBS, "logs", app["status"]["driverInfo"]["podName"])
        assert spark_secret not in log
    # The webhook put the credentials in from the Secret, by reference:
    driver = json.loads(pods)["items"][0]["spec"]["containers"][0]
    refs = {e["name"]: e.get("valueFrom") for e in driver["env"]}
    assert refs[names.SECRET_KEY_ENV]["secretKeyRef"]["name"] == names.SPARK_S3_SECRET
    the_bed.facts["gold_counts"] = gold_counts(the_bed)
    expected = oracle_gold_counts(the_bed)
    assert the_bed.facts["gold_counts"] == expected


def gold_counts(the: Bed) -> dict[str, int]:
    counts = {}
    for table in GOLD:
        out = the.lakehouse(
            "query",
            f"SELECT COUNT(*) AS n FROM lake.lakehouse.deltalake.gold.{table.name}",
            "--stack",
            "dev",
            "--output",
            f"/tmp/bed-{table.name}.csv",
        )
        assert "wrote 1 rows" in out, out
        counts[table.name] = int(
            next(iter(csv.DictReader(io.StringIO(the.run("cat", f"/tmp/bed-{table.name}.csv")))))[
                "n"
            ]
        )
    return counts


def oracle_gold_counts(the: Bed) -> dict[str, int]:
    """The integration tests' oracle, from the same landing files (read inside the bed)."""
    import tempfile
    from pathlib import Path

    from lakehouse.localcluster import netns
    from lakehouse.s3 import ObjectStore, S3Endpoint
    from lakehouse_core.catalog import CATALOG
    from tests.integration.oracle import Oracle

    ip = the.kubectl("-n", STORAGE, "get", "svc", "minio", "-o", "jsonpath={.spec.clusterIP}")
    secret = the.kubectl_json("-n", JOBS, "get", "secret", names.SPARK_S3_SECRET)
    import base64

    data = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
    endpoint = S3Endpoint(
        f"http://{ip}:9000", data[names.ACCESS_KEY_ENV], data[names.SECRET_KEY_ENV]
    )

    def compute() -> dict[str, int]:
        store = ObjectStore(endpoint, "lakehouse")
        oracle = Oracle(store, CATALOG, Path(tempfile.mkdtemp(prefix="bed-oracle-")))
        oracle.register_silver()
        return {table.name: len(oracle.gold(table.name)) for table in GOLD}

    return netns.run_in(compute)


def test_07_kubectl_apply_runs_the_pipeline_application(the_bed: Bed) -> None:
    from lakehouse_core.images import job_image_ref
    from lakehouse_core.paths import REPO_ROOT

    manifest = REPO_ROOT / "spark-apps" / "manifests" / "lakehouse-pipeline.yaml"
    # The checked-in YAML must name the image built from this checkout, or the driver
    # waits on an image pull until the deadline.
    assert job_image_ref() in manifest.read_text(), "stale manifests: run `make manifests`"
    the_bed.kubectl("apply", "-f", str(manifest))
    deadline = time.monotonic() + 1200
    state = ""
    while time.monotonic() < deadline and state not in ("COMPLETED", "FAILED"):
        time.sleep(5)
        state = the_bed.kubectl(
            "-n",
            JOBS,
            "get",
            "sparkapplication",
            "lakehouse-pipeline",
            "-o",
            "jsonpath={.status.applicationState.state}",
            check=False,
        )
    assert state == "COMPLETED"
    the_bed.timeline.mark("kubectl apply -f spark-apps/manifests/: COMPLETED")
    the_bed.kubectl("-n", JOBS, "delete", "sparkapplication", "lakehouse-pipeline")
    # The driver held the Lease while it wrote, and gave it back.
    lease = the_bed.kubectl_json("-n", JOBS, "get", "lease", names.PIPELINE_LEASE)
    assert not lease["spec"].get("holderIdentity"), lease["spec"]


def test_07b_a_second_writer_is_refused_while_another_run_holds_the_lease(
    the_bed: Bed,
) -> None:
    import datetime as dt

    from lakehouse_core.paths import REPO_ROOT

    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    held = {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": names.PIPELINE_LEASE, "namespace": JOBS},
        "spec": {
            "holderIdentity": "cli/another-laptop/4242",
            "leaseDurationSeconds": 600,
            "acquireTime": now,
            "renewTime": now,
        },
    }
    manifest = the_bed.lay.config / "held-lease.json"
    manifest.write_text(json.dumps(held))
    the_bed.kubectl("apply", "-f", str(manifest))
    try:
        refused = " ".join(
            the_bed.lakehouse(
                "pipeline", "run", "--layer", "bronze", "--stack", "dev", check=False
            ).split()
        )
        assert "another lakehouse run holds the lake" in refused, refused
        assert "cli/another-laptop/4242" in refused
        pipeline = REPO_ROOT / "spark-apps" / "manifests" / "lakehouse-pipeline.yaml"
        the_bed.kubectl("apply", "-f", str(pipeline))
        state, deadline = "", time.monotonic() + 600
        while time.monotonic() < deadline and state not in ("COMPLETED", "FAILED"):
            time.sleep(5)
            state = the_bed.kubectl(
                "-n", JOBS, "get", "sparkapplication", "lakehouse-pipeline",
                "-o", "jsonpath={.status.applicationState.state}", check=False,
            )  # fmt: skip
        assert state == "FAILED", state
        drivers = the_bed.kubectl(
            "-n", JOBS, "get", "pods", "-l", "spark-role=driver", "-o", "name"
        ).split()
        logs = "".join(the_bed.kubectl("-n", JOBS, "logs", d, check=False) for d in drivers)
        assert "another lakehouse run holds the lake" in logs
    finally:
        the_bed.kubectl("-n", JOBS, "delete", "sparkapplication", "lakehouse-pipeline",
                        "--ignore-not-found")  # fmt: skip
        the_bed.kubectl("-n", JOBS, "delete", "lease", names.PIPELINE_LEASE)
    the_bed.timeline.mark("a second writer was refused: CLI and kubectl both (Lease held)")


def test_08_status_is_green_and_query_returns_the_gold_rows(the_bed: Bed) -> None:
    status = the_bed.lakehouse("status", "--stack", "dev")
    assert " no " not in status and "not healthy" not in status, status
    out = the_bed.lakehouse(
        "query",
        "SELECT * FROM lake.lakehouse.deltalake.gold.order_status_summary",
        "--stack",
        "dev",
    )
    rows = int(re.search(r"(\d+) row\(s\)", out).group(1))  # type: ignore[union-attr]
    assert rows == the_bed.facts["gold_counts"]["order_status_summary"]
    the_bed.timeline.mark("lakehouse status green; a query through the ingress answered")


def test_09_a_second_up_changes_nothing(the_bed: Bed) -> None:
    the_bed.lakehouse("up", "--stack", "dev", timeout=1200)
    history = json.loads(the_bed.pulumi("stack", "history", "--json", "--show-secrets=false"))
    changes = history[0]["resourceChanges"]
    assert set(changes) == {"same"}, changes


def test_10_an_image_bump_rolls_the_pods_and_keeps_the_statefulset(the_bed: Bed) -> None:
    before = the_bed.kubectl_json("-n", STORAGE, "get", "statefulset", "minio")["metadata"]["uid"]
    bumped = f"{versions.MINIO_IMAGE.ref}-bed"
    the_bed.run(
        "ctr",
        "--address",
        str(the_bed.lay.containerd_socket),
        "-n",
        "k8s.io",
        "images",
        "tag",
        "--force",
        versions.MINIO_IMAGE.ref,
        bumped,
    )
    the_bed.pulumi("config", "set", "--path", "lakehouse:objectStore.image", bumped)
    out = the_bed.lakehouse("up", "--stack", "dev", timeout=1800)
    assert "replace" not in out.lower().split("resources:")[-1], out[-2000:]
    after = the_bed.kubectl_json("-n", STORAGE, "get", "statefulset", "minio")
    assert after["metadata"]["uid"] == before
    pods = the_bed.kubectl_json("-n", STORAGE, "get", "pods", "-l", "app.kubernetes.io/name=minio")
    assert {p["spec"]["containers"][0]["image"] for p in pods["items"]} == {bumped}
    pods_ready_and_jobs_complete(the_bed)
    the_bed.timeline.mark("image bump rolled the MinIO pods; the StatefulSet stayed")


def test_11_rotated_secrets_reach_minio_dremio_and_every_pod(the_bed: Bed) -> None:
    old = dict(the_bed.secrets)
    set_secrets(
        the_bed,
        {
            "minioRootPassword": password("-"),
            "sparkS3SecretKey": password(),
            "dremioS3SecretKey": password(),
            "dremioAdminPassword": password(),
        },
    )
    the_bed.lakehouse("up", "--stack", "dev", timeout=2400)
    settled = pods_ready_and_jobs_complete(the_bed)
    the_bed.timeline.mark(f"rotated secrets rolled out; the stack settled {settled:.0f}s after up")
    new = the_bed.secrets
    assert "OK" in mc(
        the_bed,
        "mc ls lake/lakehouse >/dev/null && echo OK",
        names.MINIO_ROOT_USER,
        new["minioRootPassword"],
        "mc-root-new",
    )
    assert "OK" not in mc(
        the_bed,
        "mc ls lake/lakehouse >/dev/null && echo OK || true",
        names.MINIO_ROOT_USER,
        old["minioRootPassword"],
        "mc-root-old",
    )
    spark = mc(
        the_bed,
        "echo z | mc pipe lake/lakehouse/deltalake/_rotated && echo OK",
        names.SPARK_S3_USER,
        new["sparkS3SecretKey"],
        "mc-spark-new",
    )
    assert "OK" in spark
    # Dremio: the admin logs in with the new password, and its source reads the lake with
    # the new key (a query reads Delta files through it).
    out = the_bed.lakehouse(
        "query",
        "SELECT COUNT(*) AS n FROM lake.lakehouse.deltalake.silver.orders",
        "--stack",
        "dev",
    )
    assert "1 row(s)" in out
    out = the_bed.lakehouse("pipeline", "run", "--layer", "all", "--stack", "dev", timeout=3600)
    assert "COMPLETED" in out
    the_bed.timeline.mark("rotated secrets reached MinIO, Dremio, the jobs")


def test_12_destroy_leaves_no_lakehouse_object(the_bed: Bed) -> None:
    the_bed.lakehouse("destroy", "--stack", "dev", "--yes", timeout=1800)
    namespaces = [n["metadata"]["name"] for n in the_bed.kubectl_json("get", "namespaces")["items"]]
    assert not [n for n in namespaces if n.startswith("lakehouse")], namespaces
    left: list[Any] = the_bed.kubectl_json(
        "get", "all", "-A", "-l", f"app.kubernetes.io/part-of={names.PART_OF}"
    )["items"]
    assert left == []
    the_bed.timeline.mark("lakehouse destroy: nothing of the lakehouse is left")
