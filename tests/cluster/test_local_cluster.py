"""The user's journey on a real Kubernetes (the local cluster test bed), step by step.

Real: the API server, kubelet, containerd, CoreDNS, the Pulumi engine and its kubernetes
provider (both built here), the Spark operator and Traefik from their pinned charts, MinIO,
ZooKeeper, Spark. Stand-ins (docs/test-bed.md): every image is rebuilt here, and Dremio is the
Dremio API double.
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from lakehouse_bed import bed
from lakehouse_core import names, scrape, versions
from lakehouse_core import network as flows
from lakehouse_core.gold import GOLD_TABLES
from lakehouse_core.stack_config import DremioConfig, Hosts
from lakehouse_infra.dashboards import all_queries
from tests.integration.oracle import assert_same_rows

from .conftest import Bed, password
from .probes import (
    LeaseWatch,
    LiveUiWatch,
    addresses,
    ca_pem,
    connects,
    flight_handshake,
    gold_rows,
    history_applications,
    http,
    lakehouse_objects,
    mc,
    pod_ip,
    prometheus,
    refusals,
    root_has,
    secret_hits,
    series_over,
    service_ip,
    tls_issuer,
)

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(7200)]

STORAGE, DREMIO_NS, JOBS = names.STORAGE_NAMESPACE, names.DREMIO_NAMESPACE, "lakehouse-jobs"
DREMIO_ADMIN = DremioConfig().admin_user  # the dev stack does not change it
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


def every_secret(tls: bool) -> dict[str, str]:
    """A new value for every secret a stack may set (names.SECRET_CONFIG_KEYS), as a user
    may set them all; a MinIO root password that starts with '-' (it must reach `mc`
    intact). The CA's seed only when the run has TLS inside the cluster."""
    values = {key: password() for key in names.SECRET_CONFIG_KEYS}
    values["minioRootPassword"] = password("-")
    if not tls:
        del values["internalTlsSeed"]
    return values


def set_secrets(the: Bed, values: dict[str, str]) -> None:
    for key, value in values.items():
        the.pulumi("config", "set", "--secret", f"lakehouse:{key}", "--", value)
        the.secrets[key] = value


def test_01_node_is_ready_isolated_and_labelled(the_bed: Bed) -> None:
    from lakehouse_bed import netns

    links = netns.check_isolated()
    assert "cni0" in links and "lo" in links
    [node] = the_bed.kubectl_json("get", "nodes")["items"]
    assert node["metadata"]["labels"]["ingress-ready"] == "true"
    assert node["status"]["nodeInfo"]["kubeletVersion"] == versions.KUBERNETES_VERSION
    classes = the_bed.kubectl_json("get", "storageclass")["items"]
    assert [c["metadata"]["name"] for c in classes] == ["standard"]


def test_02_up_deploys_the_dev_stack(the_bed: Bed) -> None:
    # What the bed itself has that the search below would take for the stack's (its node
    # is named lakehouse-bed: the node's Lease, kube-router's binding): not the stack's.
    the_bed.facts["objects_before_up"] = sorted(lakehouse_objects(the_bed))
    the_bed.pulumi("stack", "init")
    # The bed runs no random provider: every secret is set, as a user may set them.
    # A hand-set MinIO root password may start with '-' (it must reach `mc` intact).
    set_secrets(
        the_bed,
        every_secret(tls=the_bed.tls),
    )
    out = the_bed.lakehouse("up", "--stack", "dev", timeout=2400)
    the_bed.timeline.mark("lakehouse up: the dev stack is deployed")
    the_bed.facts["up_output_tail"] = out[-600:]
    pods_ready_and_jobs_complete(the_bed)


def test_03_minio_runs_4_servers_in_one_erasure_set(the_bed: Bed) -> None:
    result = mc(
        the_bed,
        {"info": "mc admin info lake --json"},
        names.MINIO_ROOT_USER,
        the_bed.secrets["minioRootPassword"],
        "mc-info",
    )
    assert result.status == {"info": 0}, result.output
    info = json.loads(next(line for line in result.output.splitlines() if line.startswith("{")))
    servers = info["info"]["servers"]
    assert len(servers) == 4 and all(s["state"] == "online" for s in servers)
    assert {d.get("set_index", 0) for s in servers for d in s["drives"]} == {0}


def test_04_provisioning_versioned_the_bucket_and_scoped_the_users(the_bed: Bed) -> None:
    root = mc(
        the_bed,
        {"versioning": "mc version info lake/lakehouse"},
        names.MINIO_ROOT_USER,
        the_bed.secrets["minioRootPassword"],
        "mc-version",
    )
    assert root.status == {"versioning": 0} and "versioning is enabled" in root.output
    # Each refusal is checked three ways: the write failed, MinIO said it refused, and
    # the object is not there (asked as root); each allowed write is there.
    spark = mc(
        the_bed,
        {
            "delta": "echo x | mc pipe lake/lakehouse/deltalake/_probe",
            "dremio": "echo x | mc pipe lake/lakehouse/dremio/_probe-spark",
        },
        names.SPARK_S3_USER,
        the_bed.secrets["sparkS3SecretKey"],
        "mc-spark",
    )
    assert spark.status == {"delta": 0, "dremio": 1}, spark.output
    assert refusals(spark.output) == 1, spark.output
    dremio = mc(
        the_bed,
        {
            "read": "mc cat lake/lakehouse/deltalake/_probe",
            "own": "echo y | mc pipe lake/lakehouse/dremio/_probe-dremio",
            "delta": "echo y | mc pipe lake/lakehouse/deltalake/_probe-dremio",
        },
        names.DREMIO_S3_USER,
        the_bed.secrets["dremioS3SecretKey"],
        "mc-dremio",
    )
    assert dremio.status == {"read": 0, "own": 0, "delta": 1}, dremio.output
    assert refusals(dremio.output) == 1, dremio.output
    there = root_has(
        the_bed,
        [
            "deltalake/_probe",
            "dremio/_probe-spark",
            "dremio/_probe-dremio",
            "deltalake/_probe-dremio",
        ],
        "mc-root-stat",
    )
    assert there == {
        "deltalake/_probe": True,
        "dremio/_probe-spark": False,
        "dremio/_probe-dremio": True,
        "deltalake/_probe-dremio": False,
    }


def test_05_every_ingress_has_an_address_and_routes_to_its_own_backend(the_bed: Bed) -> None:
    for ingress in the_bed.kubectl_json("get", "ingress", "-A")["items"]:
        assert ingress["status"]["loadBalancer"]["ingress"], ingress["metadata"]["name"]
    # Each host answers with what only its backend says.
    live = http(the_bed, "http://s3.localhost/minio/health/live")
    assert live.status == 200 and live.headers.get("server", "").startswith("MinIO"), live
    anonymous = http(the_bed, "http://s3.localhost/lakehouse/deltalake/")
    assert anonymous.status == 403 and "<Code>AccessDenied</Code>" in anonymous.body, anonymous
    console = http(the_bed, "http://minio.localhost/")
    assert console.status == 200 and "<title>MinIO Console</title>" in console.body, console.body[
        :300
    ]
    status = http(the_bed, "http://dremio.localhost/apiv2/server_status")
    assert status.status == 200 and status.body.strip() == '"OK"', status
    token = flight_handshake(
        the_bed,
        "grpc+tcp://flight.localhost:80",
        DREMIO_ADMIN,
        the_bed.secrets["dremioAdminPassword"],
    )
    assert token == "authorization Bearer", token
    if the_bed.tls:
        # MinIO serves TLS inside the cluster with the stack's own CA: verified against
        # that CA it passes, against the machine's CAs it is refused; Traefik (above) and
        # the jobs (later) reach it only through that CA.
        ip = service_ip(the_bed, STORAGE, names.MINIO)
        service = addresses(the_bed).service(names.MINIO, STORAGE)
        hosts = the_bed.lay.hosts_file.read_text()
        if service not in hosts:
            the_bed.lay.hosts_file.write_text(f"{hosts}{ip} {service}\n")
        ca_file = the_bed.lay.config / "lakehouse-ca.pem"
        ca_file.write_text(ca_pem(the_bed))
        trusted = tls_issuer(the_bed, service, names.MINIO_API_PORT, ca_file)
        untrusted = tls_issuer(the_bed, service, names.MINIO_API_PORT, None)
        assert trusted == "issuer: lakehouse internal CA", trusted
        assert untrusted == "refused: SSLCertVerificationError", untrusted
        the_bed.facts["minio_tls"] = {"with the stack's CA": trusted, "without": untrusted}


def test_06_pipeline_runs_through_the_operator_and_matches_the_oracle(the_bed: Bed) -> None:
    the_bed.lakehouse("generate", "--stack", "dev", "--scale", SCALE, "--change-batches", "2")
    the_bed.timeline.mark("landing data written through the S3 ingress")
    with (
        LeaseWatch(the_bed, JOBS) as lease,
        LiveUiWatch(the_bed, JOBS, Hosts().spark_ui) as live_ui,
    ):
        out = the_bed.lakehouse("pipeline", "run", "--layer", "all", "--stack", "dev", timeout=3600)
    the_bed.timeline.mark("bronze, silver and gold ran as SparkApplications")
    # Each layer's live UI answered through the ingress while it ran, at the URL the CLI
    # printed.
    for name in live_ui.answered:
        assert f"Spark UI: http://{name}.{Hosts().spark_ui}" in out, out[-3000:]
    pipeline_apps = sorted(
        a["metadata"]["name"]
        for a in the_bed.kubectl_json("-n", JOBS, "get", "sparkapplications")["items"]
    )
    assert sorted(live_ui.answered) == pipeline_apps, (live_ui.answered, pipeline_apps)
    the_bed.facts["live_ui_answered"] = sorted(live_ui.answered)
    the_bed.facts["pipeline_apps"] = pipeline_apps
    # One application per layer, named for it, each COMPLETED, in order.
    apps = the_bed.kubectl_json("-n", JOBS, "get", "sparkapplications")["items"]
    layers = [re.fullmatch(r"lakehouse-(\w+)-[\d-]+", a["metadata"]["name"]) for a in apps]
    assert all(layers), [a["metadata"]["name"] for a in apps]
    assert sorted(m.group(1) for m in layers if m) == ["bronze", "gold", "silver"]
    assert {a["status"]["applicationState"]["state"] for a in apps} == {"COMPLETED"}
    promoted = re.search(r"Dremio: (\d+) table\(s\) promoted or refreshed", out)
    # bronze and silver of the six datasets and every gold table (the rejects tables that
    # exist as well); none failed.
    assert promoted and int(promoted.group(1)) >= 2 * 6 + len(GOLD_TABLES), out[-3000:]
    assert not re.search(r"Dremio: \S+ failed", out), out[-3000:]
    # The CLI held the Lease for the whole run (one holder, its own), then gave it back.
    cli_holders = [h for h in lease.holders() if h]
    assert cli_holders and all(h.startswith("cli/") for h in cli_holders), lease.seen
    assert len(set(cli_holders)) == 1 and lease.holders()[-1] == "", lease.seen
    # The webhook put the credentials in from the Secret, by reference:
    pods = the_bed.kubectl_json("-n", JOBS, "get", "pods")["items"]
    driver = next(p for p in pods if p["metadata"]["labels"].get("spark-role") == "driver")
    refs = {e["name"]: e.get("valueFrom") for e in driver["spec"]["containers"][0]["env"]}
    assert refs[names.SECRET_KEY_ENV]["secretKeyRef"]["name"] == names.SPARK_S3_SECRET
    assert not secret_hits(the_bed, the_bed.secrets)
    # Gold, as Dremio (the double) answers through the ingress, row for row with the oracle.
    expected = oracle_gold(the_bed)
    counts = {}
    for table in GOLD_TABLES:
        rows = gold_rows(the_bed, table.name, the_bed.lay.config / f"gold-{table.name}.parquet")
        assert_same_rows(rows, expected[table.name], table.key, f"bed gold.{table.name}")
        counts[table.name] = len(rows)
    the_bed.facts["gold_counts"] = counts


ANSWER = "ANSWER "


def answer(output: str) -> Any:
    """What a script run in the bed printed after ``ANSWER`` (stderr follows stdout in the
    output, so its last line may be a library's warning)."""
    lines = [line for line in output.splitlines() if line.startswith(ANSWER)]
    assert lines, f"the script printed no answer:\n{output[-3000:]}"
    return json.loads(lines[-1].removeprefix(ANSWER))


ORACLE = """
import os, sys, tempfile
from pathlib import Path
import pyarrow as pa, pyarrow.parquet as pq
from lakehouse.s3 import ObjectStore, S3Endpoint
from lakehouse_core.catalog import CATALOG
from lakehouse_core.gold import GOLD_TABLES
from tests.integration.oracle import Oracle, as_dremio_shows
url, out = sys.argv[1], Path(sys.argv[2])
endpoint = S3Endpoint(url, os.environ["ORACLE_ACCESS_KEY"], os.environ["ORACLE_SECRET_KEY"])
oracle = Oracle(ObjectStore(endpoint, "lakehouse"), CATALOG, Path(tempfile.mkdtemp()))
oracle.register_silver()
for table in GOLD_TABLES:
    rows = [as_dremio_shows(r) for r in oracle.gold(table.name)]
    pq.write_table(pa.Table.from_pylist(rows), out / f"{table.name}.parquet")
"""


def run_against_lake(the: Bed, code: str, *args: str) -> str:
    """Python run inside the bed against the stack's MinIO, by its Service name as the jobs
    reach it (over TLS in a TLS run, trusting the stack's CA), as the Spark user: the bed's
    hosts file maps the name to the Service's current address, which is what cluster DNS
    would answer."""
    import base64

    from lakehouse_core.paths import REPO_ROOT

    ip = the.kubectl("-n", STORAGE, "get", "svc", "minio", "-o", "jsonpath={.spec.clusterIP}")
    service = addresses(the).service(names.MINIO, STORAGE)
    kept = [line for line in the.lay.hosts_file.read_text().splitlines() if service not in line]
    the.lay.hosts_file.write_text("\n".join([*kept, f"{ip} {service}"]) + "\n")
    secret = the.kubectl_json("-n", JOBS, "get", "secret", names.SPARK_S3_SECRET)
    keys = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
    env = {
        "ORACLE_ACCESS_KEY": keys[names.ACCESS_KEY_ENV],
        "ORACLE_SECRET_KEY": keys[names.SECRET_KEY_ENV],
        "PYTHONPATH": str(REPO_ROOT),
    }
    if the.tls:
        ca_file = the.lay.config / "lakehouse-ca.pem"
        ca_file.write_text(ca_pem(the))
        env |= {"AWS_CA_BUNDLE": str(ca_file), "SSL_CERT_FILE": str(ca_file)}
    result = bed.run_inside(
        [sys.executable, "-c", code, addresses(the).minio_endpoint(), *args],
        env={**the.env, **env},
        check=False,
        timeout=900,
        lay=the.lay,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return str(result.stdout)


def oracle_gold(the: Bed) -> dict[str, list[dict[str, Any]]]:
    """The integration tests' oracle of the same landing files, as Dremio shows values."""
    import pyarrow.parquet as pq

    out = the.lay.config / "oracle-gold"
    out.mkdir(exist_ok=True)
    run_against_lake(the, ORACLE, str(out))
    return {t.name: pq.read_table(out / f"{t.name}.parquet").to_pylist() for t in GOLD_TABLES}


LEDGER = """
import json, os, sys
from lakehouse.s3 import ObjectStore, S3Endpoint
from lakehouse_core.catalog import CATALOG, Layer
from deltalake import DeltaTable
url = sys.argv[1]
store = ObjectStore(S3Endpoint(url, os.environ["ORACLE_ACCESS_KEY"],
                               os.environ["ORACLE_SECRET_KEY"]), "lakehouse")
uri = CATALOG.system_table_uri(CATALOG.audit_table(Layer(sys.argv[2]))).replace("s3a://", "s3://")
rows = DeltaTable(uri, storage_options=store.endpoint.delta_rs_options()).to_pyarrow_table(
    columns=["table_name", "batch_id"]).to_pylist()
print("ANSWER " + json.dumps(rows), flush=True)
# delta-rs's runtime can abort while the interpreter tears down ("terminate called without
# an active exception", the drill's ledger read on the bed): the answer is out, leave now.
os._exit(0)
"""


def ledger_rows(the: Bed, layer: str) -> list[tuple[str, int]]:
    """(table, batch) of every row of a layer's audit ledger, read with delta-rs."""
    out = run_against_lake(the, LEDGER, layer)
    return [(r["table_name"], r["batch_id"]) for r in answer(out)]


def apply_and_watch(the: Bed, manifest: Path, name: str) -> tuple[str, str, LeaseWatch, str]:
    """kubectl apply one application and wait for its end, watching the pipeline's Lease:
    its final state, its driver pod, the Lease's holders seen, the driver's log."""
    with LeaseWatch(the, JOBS) as lease:
        the.kubectl("apply", "-f", str(manifest))
        state = wait_for_application(the, name, 1200)
        driver = the.kubectl(
            "-n", JOBS, "get", "sparkapplication", name,
            "-o", "jsonpath={.status.driverInfo.podName}",
        )  # fmt: skip
        log = the.kubectl("-n", JOBS, "logs", driver, check=False)
        time.sleep(3)  # one more sample after the driver's release
    return state, driver, lease, log


def wait_for_application(the: Bed, name: str, within: float) -> str:
    deadline, state = time.monotonic() + within, ""
    while time.monotonic() < deadline and state not in ("COMPLETED", "FAILED"):
        time.sleep(3)
        state = the.kubectl(
            "-n", JOBS, "get", "sparkapplication", name,
            "-o", "jsonpath={.status.applicationState.state}", check=False,
        )  # fmt: skip
    return state


def test_07_kubectl_apply_runs_the_pipeline_application(the_bed: Bed) -> None:
    from lakehouse_core.images import job_image_ref

    manifest = the_bed.manifests() / "lakehouse-pipeline.yaml"
    # The checked-in YAML must name the image built from this checkout, or the driver
    # waits on an image pull until the deadline.
    assert job_image_ref() in manifest.read_text(), "stale manifests: run `make manifests`"
    if the_bed.tls:  # the stack's own: its jobs reach MinIO over TLS
        assert "https://minio." in manifest.read_text()
    state, driver, lease, _ = apply_and_watch(the_bed, manifest, "lakehouse-pipeline")
    assert state == "COMPLETED"
    the_bed.timeline.mark("kubectl apply -f spark-apps/manifests/: COMPLETED")
    the_bed.kubectl("-n", JOBS, "delete", "sparkapplication", "lakehouse-pipeline")
    # The driver itself took the Lease (in its own name) while it wrote, and gave it back.
    assert f"driver/{driver}" in lease.holders(), lease.seen
    assert lease.holders()[-1] == "", lease.seen
    the_bed.facts["lease_holders_during_kubectl_run"] = lease.seen


def test_07b_a_second_writer_is_refused_while_another_run_holds_the_lease(
    the_bed: Bed,
) -> None:
    import datetime as dt

    holder = "cli/another-laptop/4242"
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    held = {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": names.PIPELINE_LEASE, "namespace": JOBS},
        "spec": {
            "holderIdentity": holder,
            "leaseDurationSeconds": 600,
            "acquireTime": now,
            "renewTime": now,
        },
    }
    manifest = the_bed.lay.config / "held-lease.json"
    manifest.write_text(json.dumps(held))
    the_bed.kubectl("apply", "-f", str(manifest))
    apps_before = {
        a["metadata"]["name"]
        for a in the_bed.kubectl_json("-n", JOBS, "get", "sparkapplications")["items"]
    }
    try:
        result = bed_run(the_bed, "pipeline", "run", "--layer", "bronze", "--stack", "dev")
        refused = " ".join(result.output.split())
        assert result.returncode == 1, refused
        assert "another lakehouse run holds the lake" in refused and holder in refused
        apps_after = {
            a["metadata"]["name"]
            for a in the_bed.kubectl_json("-n", JOBS, "get", "sparkapplications")["items"]
        }
        assert apps_after == apps_before, "the refused run created a SparkApplication"
        lease = the_bed.kubectl_json("-n", JOBS, "get", "lease", names.PIPELINE_LEASE)
        assert lease["spec"]["holderIdentity"] == holder  # untouched by the refused run
        pipeline = the_bed.manifests() / "lakehouse-pipeline.yaml"
        the_bed.kubectl("apply", "-f", str(pipeline))
        state = wait_for_application(the_bed, "lakehouse-pipeline", 600)
        assert state == "FAILED", state
        drivers = the_bed.kubectl(
            "-n", JOBS, "get", "pods", "-l", "spark-role=driver", "-o", "name"
        ).split()
        logs = "".join(the_bed.kubectl("-n", JOBS, "logs", d, check=False) for d in drivers)
        assert "another lakehouse run holds the lake" in logs
        lease = the_bed.kubectl_json("-n", JOBS, "get", "lease", names.PIPELINE_LEASE)
        assert lease["spec"]["holderIdentity"] == holder  # still, after the refused driver
    finally:
        the_bed.kubectl("-n", JOBS, "delete", "sparkapplication", "lakehouse-pipeline",
                        "--ignore-not-found")  # fmt: skip
        the_bed.kubectl("-n", JOBS, "delete", "lease", names.PIPELINE_LEASE)
    the_bed.timeline.mark("a second writer was refused: CLI and kubectl both (Lease held)")


def _probe_flows(
    the_bed: Bed, outsider: str, ingress_ns: str, zk: str, minio: str, dremio_web: str, fabric: str
) -> tuple[dict[str, bool], bool]:
    connect = service_ip(the_bed, JOBS, names.SPARK_CONNECT_SERVICE)
    refused = {
        "jobs pod -> Spark Connect": (JOBS, {}, connect, names.SPARK_CONNECT_PORT),
        "new namespace -> Spark Connect": (outsider, {}, connect, names.SPARK_CONNECT_PORT),
        "jobs pod -> ZooKeeper": (JOBS, {}, zk, names.ZOOKEEPER_CLIENT_PORT),
        "Spark driver -> ZooKeeper": (JOBS, {"spark-role": "driver"}, zk, 2181),
        "jobs pod -> Dremio fabric": (JOBS, {}, fabric, names.DREMIO_FABRIC_PORT),
        "ingress namespace -> ZooKeeper": (ingress_ns, {}, zk, 2181),
        "Traefik -> ZooKeeper": (ingress_ns, flows.TRAEFIK.selector, zk, 2181),
        "new namespace -> MinIO": (outsider, {}, minio, names.MINIO_API_PORT),
        "new namespace -> Dremio": (outsider, {}, dremio_web, names.DREMIO_WEB_PORT),
    }
    allowed = {
        "Dremio executor -> ZooKeeper": (DREMIO_NS, flows.DREMIO_EXECUTOR.selector, zk, 2181),
        "Spark driver -> MinIO": (JOBS, {"spark-role": "driver"}, minio, 9000),
        "Dremio coordinator -> executor fabric": (
            DREMIO_NS, flows.DREMIO_COORDINATOR.selector, fabric, names.DREMIO_FABRIC_PORT,
        ),
        "Traefik -> Dremio": (ingress_ns, flows.TRAEFIK.selector, dremio_web, 9047),
        "Traefik -> Spark Connect": (
            ingress_ns, flows.TRAEFIK.selector, connect, names.SPARK_CONNECT_PORT,
        ),
    }  # fmt: skip
    seen = {}
    for i, (what, (ns, labels, host, port)) in enumerate({**refused, **allowed}.items()):
        seen[what] = connects(the_bed, ns, labels, host, port, f"probe-{i}")
    assert {w: seen[w] for w in refused} == dict.fromkeys(refused, False), seen
    assert {w: seen[w] for w in allowed} == dict.fromkeys(allowed, True), seen
    # Without the storage namespace's policies the outsider's probe gets through: the probe
    # can fail, and it was the policies that refused it.
    saved = the_bed.kubectl_json("-n", STORAGE, "get", "networkpolicies")
    the_bed.kubectl("-n", STORAGE, "delete", "networkpolicies", "--all")
    try:
        opened = connects(the_bed, outsider, {}, minio, names.MINIO_API_PORT, "probe-open")
    finally:
        for policy in saved["items"]:
            meta = policy["metadata"]
            policy["metadata"] = {k: meta[k] for k in ("name", "namespace", "labels")}
            manifest = the_bed.lay.config / f"policy-{meta['name']}.json"
            manifest.write_text(json.dumps(policy))
            the_bed.kubectl("apply", "-f", str(manifest))
    assert opened, "with no policy in its way the probe still failed: it proves nothing"
    return seen, opened


def test_07c_only_the_declared_flows_pass(the_bed: Bed) -> None:
    """The NetworkPolicies, enforced by a real engine (kube-router's firewall), from real
    pods: forbidden flows are refused, the same probe passes where a flow is declared, and
    passes where it is forbidden once the policies are taken away."""
    zk = service_ip(the_bed, DREMIO_NS, names.ZOOKEEPER)
    minio = service_ip(the_bed, STORAGE, names.MINIO)
    dremio_web = service_ip(the_bed, DREMIO_NS, names.DREMIO_CLIENT_SERVICE)
    fabric = pod_ip(the_bed, DREMIO_NS, f"{names.DREMIO_EXECUTOR}-0")
    ingress_ns = "lakehouse-ingress"
    outsider = "bed-probe-outsider"  # a namespace that is not the stack's
    the_bed.kubectl("create", "namespace", outsider)
    try:
        seen, opened = _probe_flows(the_bed, outsider, ingress_ns, zk, minio, dremio_web, fabric)
    finally:
        the_bed.kubectl("delete", "namespace", outsider, "--wait=false")
    the_bed.facts["network_probes"] = {**seen, "new namespace -> MinIO, policies removed": opened}
    refused = sum(1 for what, passed in seen.items() if not passed)
    the_bed.timeline.mark(
        f"NetworkPolicies: {refused} forbidden flows refused, {len(seen) - refused} declared "
        "ones pass"
    )


def bed_run(the: Bed, *args: str) -> Any:
    """The CLI inside the bed, its exit status kept (``Bed.lakehouse`` only has the text)."""
    from lakehouse_bed import bed

    argv = [str(Path(sys.executable).parent / "lakehouse"), *args]
    result = bed.run_inside(argv, env=the.env, check=False, timeout=600, lay=the.lay)

    class Ran:
        returncode = result.returncode
        output = (result.stdout or "") + (result.stderr or "")

    return Ran


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


def metric_gaps(the: Bed, metrics: list[str], window: float) -> list[str]:
    """The metrics among ``metrics`` with no sample in the last ``window`` seconds."""
    return [
        m
        for m in metrics
        if not prometheus(the, "query", query=f"last_over_time({m}[{window:.0f}s])")["result"]
    ]


def test_08b_the_lakehouse_is_observable(the_bed: Bed) -> None:
    """History server, metrics of every component, every dashboard panel, the logs."""
    apps = the_bed.facts["pipeline_apps"]
    # A failed query, as users make them: Dremio counts it (jobs_failed_total).
    refused = bed_run(the_bed, "query", "SELECT * FROM lake.no_such_table", "--stack", "dev")
    assert refused.returncode != 0, refused.output
    # The history server lists every application of the run (by the id the operator
    # recorded for it; Spark's own name is the job's, without the run's date), each with
    # its jobs.
    ids = {
        name: the_bed.kubectl_json("-n", JOBS, "get", "sparkapplication", name)["status"][
            "sparkApplicationId"
        ]
        for name in apps
    }
    deadline, listed = time.monotonic() + 120, set()
    while time.monotonic() < deadline:
        listed = {a["id"] for a in history_applications(the_bed)}
        if set(ids.values()) <= listed:
            break
        time.sleep(5)
    assert set(ids.values()) <= listed, (ids, listed)
    for name, app_id in ids.items():
        jobs = http(the_bed, f"http://spark-history.localhost/api/v1/applications/{app_id}/jobs")
        assert jobs.status == 200 and json.loads(jobs.body), (name, jobs.body[:300])
    # Every scrape target was up, and each one's key metric has a value. The check can
    # fail: a metric no component exports is reported.
    window = time.monotonic() - the_bed.timeline.started + 60
    time.sleep(35)  # two scrape intervals after the last query and run
    down = [
        t.job
        for t in scrape.TARGETS
        if not prometheus(
            the_bed, "query", query=f'max_over_time(up{{job="{t.job}"}}[{window:.0f}s]) == 1'
        )["result"]
    ]
    assert not down, f"scrape targets never up: {down}"
    from lakehouse.ops.observed import STORAGE_METRICS

    # Each target's key metric, and what `lakehouse status` reads of MinIO's.
    keys = [t.key_metric for t in scrape.TARGETS] + list(STORAGE_METRICS)
    assert not metric_gaps(the_bed, keys, window), metric_gaps(the_bed, keys, window)
    assert metric_gaps(the_bed, ["lakehouse_no_such_metric"], window) == [
        "lakehouse_no_such_metric"
    ]
    # Every dashboard panel's every query returns series over the run.
    empty = [
        f"{board} / {panel}: {expr}"
        for board, panel, expr in all_queries()
        if series_over(the_bed, expr, window) == 0
    ]
    assert not empty, "dashboard queries without data:\n" + "\n".join(empty)
    assert series_over(the_bed, "lakehouse_no_such_metric", window) == 0
    # `lakehouse logs` shows a driver's lines (its result lines among them).
    gold = next(a for a in apps if "-gold-" in a)
    out = the_bed.lakehouse("logs", gold, "--stack", "dev")
    assert f"{gold}-driver" in out and names.JOB_RESULT_PREFIX.strip() in out, out[-2000:]
    the_bed.facts["observability"] = {
        "history_server_apps": len(listed),
        "scrape_targets_up": len(scrape.TARGETS),
        "dashboard_queries_with_data": len(all_queries()),
    }
    the_bed.timeline.mark(
        f"observable: {len(scrape.TARGETS)} targets up, {len(all_queries())} panel queries "
        "with data, history server and logs"
    )


CONNECT = """
import json, sys
from lakehouse.connect import ConnectError, check, remote, session, table
from lakehouse.ops.stacks import load_stack_config
spark = session("dev")
found = {"gold": table(spark, "gold.order_status_summary").count()}
uri = "s3a://lakehouse/deltalake/silver/orders"
found["silver_v1"] = spark.read.format("delta").option("versionAsOf", 1).load(uri).count()
found["silver_now"] = table(spark, "silver.orders").count()
probe = spark.createDataFrame([(1, "x")], "k INT, v STRING")
# A row of silver's own shape: the write gets past Delta's schema check to MinIO.
same_shape = table(spark, "silver.orders").limit(1)
def version():
    return spark.sql(f"DESCRIBE HISTORY delta.`{uri}`").agg({"version": "max"}).first()[0]
found["silver_version_before"] = version()
try:
    same_shape.write.format("delta").mode("append").save(uri)
    found["silver_write"] = "allowed"
except Exception as err:
    refused = "403" in str(err) or "AccessDenied" in str(err)
    found["silver_write"] = "refused" if refused else str(err)[:300]
found["silver_version_after"] = version()
scratch = "s3a://lakehouse/scratch/bed-probe"
probe.write.format("delta").mode("overwrite").save(scratch)
found["scratch_rows"] = spark.read.format("delta").load(scratch).count()
url = load_stack_config("dev").connect_url()
try:
    check(remote(url, "not-the-token"), url)
    found["wrong_token"] = "accepted"
except ConnectError as err:
    found["wrong_token"] = err.message
spark.stop()  # the session's executors go back to the pipeline
print("ANSWER " + json.dumps(found))
"""

NOTEBOOKS = """
import json, os, sys
from pathlib import Path
import nbformat
from nbclient import NotebookClient
os.environ["LAKEHOUSE_SESSION"] = "dev"
done = {}
for path in sorted(Path(sys.argv[1]).glob("*.ipynb")):
    book = nbformat.read(path, as_version=4)
    NotebookClient(book, timeout=900, kernel_name="python3").execute()
    done[path.name] = sum(1 for c in book.cells if c.cell_type == "code")
print("ANSWER " + json.dumps(done))
"""


def test_08c_spark_connect_through_the_ingress(the_bed: Bed) -> None:
    """A remote session from outside the cluster: gold, time travel on silver, a refused
    write to the lake, a write to scratch, a refused token; then every notebook."""
    from lakehouse_core.paths import REPO_ROOT

    out = the_bed.run(sys.executable, "-c", CONNECT, timeout=900)
    found = answer(out)
    assert found["gold"] == the_bed.facts["gold_counts"]["order_status_summary"], found
    assert found["silver_v1"] > 0 and found["silver_now"] > 0, found
    assert found["silver_write"] == "refused", found
    assert found["silver_version_after"] == found["silver_version_before"], found
    assert found["scratch_rows"] == 1, found
    assert "refused the token" in found["wrong_token"], found
    ran = the_bed.run(sys.executable, "-c", NOTEBOOKS, str(REPO_ROOT / "notebooks"), timeout=3600)
    notebooks = answer(ran)
    assert len(notebooks) == 4, notebooks
    the_bed.facts["spark_connect"] = {**found, "notebooks": notebooks}
    the_bed.timeline.mark(
        "Spark Connect through the ingress: read, time travel, refusals, notebooks"
    )


def _backup_in_cluster(the: Bed) -> dict[str, Any]:
    """One run of the scheduled backup's application (its kubectl manifest); its summary."""
    from lakehouse_core.names import BACKUP_RESULT_PREFIX

    manifest = the.manifests() / "backup" / "lakehouse-backup.yaml"
    state, driver, lease, log = apply_and_watch(the, manifest, "lakehouse-backup")
    the.kubectl("-n", JOBS, "delete", "sparkapplication", "lakehouse-backup")
    assert state == "COMPLETED", log[-3000:]
    # It ran as a writer: it held the pipeline's Lease, so no run committed meanwhile.
    assert f"driver/{driver}" in lease.holders(), lease.seen
    [line] = [ln for ln in log.splitlines() if ln.startswith(BACKUP_RESULT_PREFIX)]
    return dict(json.loads(line.removeprefix(BACKUP_RESULT_PREFIX)))


def test_08d_the_scheduled_backup_runs_in_the_cluster(the_bed: Bed) -> None:
    """The backup the stack schedules (a Spark job holding the pipeline's Lease) copies
    every table into the bucket's backups/, in the format `lakehouse restore` reads; every
    checksum holds; a second run copies nothing it already has."""
    name = "lakehouse-backup-scheduled"
    got = the_bed.kubectl("-n", JOBS, "get", "scheduledsparkapplication", name, "-o", "json")
    scheduled = json.loads(got)
    assert scheduled["spec"]["suspend"] is True  # dev: runs on demand, as the pipeline's
    assert scheduled["spec"]["template"]["arguments"][-2:] == ["--keep", "7"]
    started = time.monotonic()
    first = _backup_in_cluster(the_bed)
    first_seconds = time.monotonic() - started
    assert first["tables"] >= 20 and first["copied"] == first["files"] > 0, first
    store = "s3://lakehouse/backups"
    listed = the_bed.lakehouse("restore", "--stack", "dev", "--from", store, "--list")
    assert first["backup_id"] in listed, listed
    checked = the_bed.lakehouse(
        "restore", "--stack", "dev", "--from", store, "--check", timeout=1800
    )
    assert f"backup {first['backup_id']}" in checked and "every checksum matches" in checked
    second = _backup_in_cluster(the_bed)
    assert second["copied"] == 0 and second["files"] == first["files"], second
    assert second["dropped"] == [], second
    the_bed.facts["scheduled_backup"] = {
        "first": first,
        "second": second,
        "first_seconds_with_submission": round(first_seconds),
    }
    the_bed.timeline.mark(
        f"scheduled backup in the cluster: {first['files']} files, "
        f"{first['bytes'] / 2**20:.1f} MiB in {first['seconds']:.0f}s; again: 0 copied"
    )


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
    # Every secret of the stack but the CA's seed (a new CA is a TLS run's own step).
    set_secrets(the_bed, every_secret(tls=False))
    the_bed.lakehouse("up", "--stack", "dev", timeout=2400)
    settled = pods_ready_and_jobs_complete(the_bed)
    the_bed.timeline.mark(f"rotated secrets rolled out; the stack settled {settled:.0f}s after up")
    new = the_bed.secrets
    # MinIO: each user's new key works and its old one is refused.
    for user, key, label, where in (
        (names.MINIO_ROOT_USER, "minioRootPassword", "root", "lake/lakehouse"),
        # The others list only below the prefixes they may read (deltalake/ for each).
        (names.SPARK_S3_USER, "sparkS3SecretKey", "spark", "lake/lakehouse/deltalake/"),
        (names.DREMIO_S3_USER, "dremioS3SecretKey", "dremio", "lake/lakehouse/deltalake/"),
        (names.CONNECT_S3_USER, "connectS3SecretKey", "connect", "lake/lakehouse/deltalake/"),
    ):
        for which, secret, expected in (("new", new[key], 0), ("old", old[key], 1)):
            listed = mc(the_bed, {"ls": f"mc ls {where}"}, user, secret, f"mc-{label}-{which}")
            assert listed.status == {"ls": expected}, (label, which, listed.output)
            if expected:
                assert refusals(listed.output) == 1, listed.output
    # Dremio (the double): the admin's new password logs in and the old one is refused; a
    # query reads Delta files through the source, which now holds Dremio's new S3 key.
    query = ("query", "SELECT COUNT(*) AS n FROM lake.lakehouse.deltalake.silver.orders")
    as_admin = ("--stack", "dev", "--user", DREMIO_ADMIN)
    out = the_bed.lakehouse(*query, *as_admin, "--password", new["dremioAdminPassword"])
    assert "1 row(s)" in out
    refused = bed_run(the_bed, *query, *as_admin, "--password", old["dremioAdminPassword"])
    assert refused.returncode == 1 and "refused the login of user" in refused.output
    source = dremio_source_secret_check(the_bed, old["dremioS3SecretKey"])
    assert source == "old key refused", source
    assert not secret_hits(the_bed, {**{f"old {k}": v for k, v in old.items()}, **new})
    out = the_bed.lakehouse("pipeline", "run", "--layer", "all", "--stack", "dev", timeout=3600)
    assert re.search(r"lakehouse-gold-[\d-]+\s+COMPLETED", out), out[-2000:]
    the_bed.timeline.mark("rotated secrets reached MinIO, Dremio, the jobs; the old are refused")


def dremio_source_secret_check(the: Bed, old_key: str) -> str:
    """Whether MinIO refuses Dremio's old key: the source can only read with the new one."""
    listed = mc(the, {"ls": "mc ls lake/lakehouse/deltalake/"}, names.DREMIO_S3_USER, old_key,
                "mc-dremio-old-key")  # fmt: skip
    return "old key refused" if listed.status["ls"] != 0 else "old key still reads"


def chart_crds() -> set[str]:
    """The names of the CRDs the pinned charts ship in their crds/ folders."""
    import yaml

    found = set()
    for path in Path(bed.charts_dir()).glob("*/crds/*.yaml"):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc.get("kind") == "CustomResourceDefinition":
                found.add(doc["metadata"]["name"])
    return found


DREMIO_VIEW = """
import json, sys
from lakehouse_dremio.client import DremioClient
client = DremioClient("http://dremio.localhost")
client.login(sys.argv[1], sys.argv[2])
if sys.argv[3] == "create":
    client.post_json("/api/v3/catalog", {"entityType": "space", "name": "drill"})
    client.post_json("/api/v3/catalog", {"entityType": "dataset", "type": "VIRTUAL_DATASET",
        "path": ["drill", "statuses"], "sql": sys.argv[4], "sqlContext": ["drill"]})
found = client.catalog_by_path(["drill", "statuses"])
print("ANSWER " + json.dumps({"sql": found and found.get("sql")}))
"""


def dremio_view(the: Bed, action: str, sql: str = "") -> Any:
    out = the.run(sys.executable, "-c", DREMIO_VIEW, DREMIO_ADMIN,
                  the.secrets["dremioAdminPassword"], action, sql)  # fmt: skip
    return answer(out)


def test_11b_disaster_drill_backup_destroy_up_restore(the_bed: Bed) -> None:
    """The bad day: a backup, the stack destroyed with its volumes, a fresh `up`, the
    restore; gold is the oracle's again, Dremio answers the same, its view is back, and
    the next change batch applies on top."""
    view_sql = "SELECT o_orderstatus, COUNT(*) AS n FROM lake.lakehouse.deltalake.silver.orders"
    assert dremio_view(the_bed, "create", view_sql) == {"sql": view_sql}
    count = ("query", "SELECT COUNT(*) AS n FROM lake.lakehouse.deltalake.silver.orders",
             "--stack", "dev")  # fmt: skip
    before = the_bed.lakehouse(*count)
    target = the_bed.lay.config / "backups"
    started = time.monotonic()
    out = the_bed.lakehouse("backup", "--stack", "dev", "--to", str(target), timeout=1800)
    backup_seconds = time.monotonic() - started
    size = re.search(r"([\d.]+) MiB; (\d+) files copied", out)
    assert size, out[-2000:]
    the_bed.timeline.mark(f"backup taken: {size.group(1)} MiB in {backup_seconds:.0f}s")
    the_bed.lakehouse("destroy", "--stack", "dev", "--yes", timeout=1800)
    the_bed.lakehouse("up", "--stack", "dev", timeout=2400)
    pods_ready_and_jobs_complete(the_bed)
    assert "versioning is enabled" in mc(
        the_bed, {"v": "mc version info lake/lakehouse"}, names.MINIO_ROOT_USER,
        the_bed.secrets["minioRootPassword"], "mc-after-up",
    ).output  # fmt: skip
    empty = bed_run(the_bed, *count)
    assert empty.returncode != 0, "the new stack still has the old lake: nothing was lost"
    started = time.monotonic()
    out = the_bed.lakehouse("restore", "--stack", "dev", "--from", str(target), timeout=1800)
    restore_seconds = time.monotonic() - started
    assert "1 view(s) created" in out, out[-2000:]
    the_bed.timeline.mark(f"restored into a fresh stack in {restore_seconds:.0f}s")
    assert the_bed.lakehouse(*count) == before
    assert dremio_view(the_bed, "read") == {"sql": view_sql}
    expected = oracle_gold(the_bed)
    for table in GOLD_TABLES:
        rows = gold_rows(the_bed, table.name, the_bed.lay.config / f"drill-{table.name}.parquet")
        assert_same_rows(rows, expected[table.name], table.key, f"restored gold.{table.name}")
    # The next change batch applies on top of the restored ledgers: only it is ingested.
    restored_ledger = ledger_rows(the_bed, "silver")
    assert restored_ledger, "the silver ledger came back empty"
    the_bed.lakehouse("generate", "--stack", "dev", "--scale", SCALE, "--change-batches", "3")
    the_bed.lakehouse("pipeline", "run", "--layer", "all", "--stack", "dev", timeout=3600)
    after = ledger_rows(the_bed, "silver")
    added = sorted(set(after) - set(restored_ledger))
    old_batches = {b for _, b in restored_ledger}
    assert added and all(b > max(old_batches) for _, b in added), (added, old_batches)
    assert len(after) == len(set(after)), "a batch was recorded twice: it was ingested again"
    batches = sorted({b for _, b in added})
    expected = oracle_gold(the_bed)
    for table in GOLD_TABLES:
        rows = gold_rows(the_bed, table.name, the_bed.lay.config / f"after-{table.name}.parquet")
        assert_same_rows(rows, expected[table.name], table.key, f"gold.{table.name} after drill")
    the_bed.facts["drill"] = {
        "backup_mib": float(size.group(1)),
        "backup_seconds": round(backup_seconds),
        "restore_seconds": round(restore_seconds),
        "batches_after_restore": sorted(batches),
    }
    the_bed.timeline.mark("disaster drill: restored lake equals the oracle, next batch applied")


def test_12_destroy_leaves_no_lakehouse_object(the_bed: Bed) -> None:
    the_bed.lakehouse("destroy", "--stack", "dev", "--yes", timeout=1800)
    # The charts' CRDs stay, as Helm leaves every chart's CRDs (deleting them would delete
    # every SparkApplication or Traefik route in the cluster); docs/deploy.md says so.
    crds = chart_crds()
    kept = {f"customresourcedefinitions.apiextensions.k8s.io -/{name}" for name in crds}
    # With them, the API groups the API server serves for them (v1beta2.sparkoperator.k8s.io).
    groups = {name.split(".", 1)[1] for name in crds}
    apiservice = "apiservices.apiregistration.k8s.io -/"

    def by_design(obj: str) -> bool:
        if obj in kept or obj in the_bed.facts["objects_before_up"]:  # the bed's own
            return True
        return obj.startswith(apiservice) and obj[len(apiservice) :].split(".", 1)[1] in groups

    deadline, left = time.monotonic() + 180, ["(not looked yet)"]
    while left and time.monotonic() < deadline:  # namespaces and PVs go asynchronously
        left = [o for o in lakehouse_objects(the_bed) if not by_design(o)]
        if left:
            time.sleep(5)
    assert not left, left
    exported = json.loads(the_bed.pulumi("stack", "export"))
    resources = exported.get("deployment", {}).get("resources") or []
    assert resources == [], [r.get("urn") for r in resources]
    the_bed.facts["left_after_destroy_by_design"] = sorted(
        o for o in lakehouse_objects(the_bed) if by_design(o)
    )
    the_bed.timeline.mark("lakehouse destroy: nothing of the lakehouse is left")
