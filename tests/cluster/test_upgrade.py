"""An upgrade, as a user makes one: the previous release's stack deployed and used on the
test bed (from a worktree of its commit, with its own environment and images), then
`lakehouse up` from this checkout over it.

What must hold: no StatefulSet, PersistentVolumeClaim or Secret is replaced (each keeps
its uid; they are updated and their pods rolled), Dremio opens the older volume (its
upgrade step ran), ZooKeeper keeps a quorum through the roll (three members, as prod runs
them), the data, the Dremio view and the ledgers are intact, and the next change batch
applies on top.
"""

from __future__ import annotations

import os
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from lakehouse_bed import releases
from lakehouse_core import names
from lakehouse_core.gold import GOLD_TABLES
from lakehouse_core.images import release_version
from tests.integration.oracle import assert_same_rows

from .conftest import Bed, password
from .probes import gold_rows
from .test_local_cluster import (
    SCALE,
    dremio_view,
    ledger_rows,
    oracle_gold,
    pods_ready_and_jobs_complete,
    set_secrets,
)

pytestmark = [pytest.mark.upgrade, pytest.mark.timeout(7200)]

KEPT_KINDS = ("statefulsets", "persistentvolumeclaims", "secrets")
ZK_MEMBERS = 3
SMALL_CORE_REQUEST = "100m"


@dataclass
class OldRelease:
    release: releases.Release
    root: Path

    @property
    def lakehouse(self) -> str:
        return str(self.root / ".venv" / "bin" / "lakehouse")

    @property
    def python(self) -> str:
        return str(self.root / ".venv" / "bin" / "python")


@pytest.fixture(scope="module")
def old(the_bed: Bed) -> OldRelease:
    """The previous release's checkout, its environment (uv, from its own lock file) and
    its images, built and put on the bed's node."""
    release = releases.previous_release(release_version())
    root = releases.worktree(release, the_bed.lay.root.parent / f"release-{release.version}")
    env = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(root / ".venv")}
    subprocess.run(["uv", "sync", "--frozen", "--project", str(root)], env=env, check=True)
    build = (
        "from lakehouse_bed import images; import sys; "
        "images.import_all(__import__('pathlib').Path(sys.argv[1]), images.build_all())"
    )
    subprocess.run(
        [str(root / ".venv" / "bin" / "python"), "-c", build, str(the_bed.lay.containerd_socket)],
        check=True,
        cwd=root,
    )
    the_bed.timeline.mark(f"release {release.version} ({release.commit[:8]}) built")
    return OldRelease(release, root)


def uids(the: Bed) -> dict[str, str]:
    found = {}
    for kind in KEPT_KINDS:
        for item in the.kubectl_json("get", kind, "-A")["items"]:
            meta = item["metadata"]
            if meta["namespace"].startswith("lakehouse-") and "sh.helm.release" not in meta["name"]:
                found[f"{kind} {meta['namespace']}/{meta['name']}"] = meta["uid"]
    return found


def coordinator_uid(the: Bed) -> str:
    """The Dremio coordinator pod's uid: a new one is a pod that ran its upgrade step."""
    return the.kubectl("-n", names.DREMIO_NAMESPACE, "get", "pod", f"{names.DREMIO_COORDINATOR}-0",
                       "-o", "jsonpath={.metadata.uid}")  # fmt: skip


@dataclass
class QuorumWatch:
    """How many ZooKeeper members were Ready, sampled every second."""

    the: Bed
    lowest: int = ZK_MEMBERS
    rolled: set[str] = field(default_factory=set)
    _stop: threading.Event = field(default_factory=threading.Event)

    def _sample(self) -> None:
        while not self._stop.wait(1):
            pods = self.the.kubectl_json(
                "-n",
                names.DREMIO_NAMESPACE,
                "get",
                "pods",
                "-l",
                "app.kubernetes.io/name=zookeeper",
            )["items"]
            ready = 0
            for pod in pods:
                conditions = {c["type"]: c["status"] for c in pod["status"].get("conditions", [])}
                ready += conditions.get("Ready") == "True"
                self.rolled.add(pod["metadata"]["uid"])
            self.lowest = min(self.lowest, ready)

    def __enter__(self) -> QuorumWatch:
        threading.Thread(target=self._sample, daemon=True).start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()


def test_the_previous_release_upgrades_in_place(the_bed: Bed, old: OldRelease) -> None:
    # The previous release, deployed and used as a user would.
    the_bed.pulumi("stack", "init")
    set_secrets(
        the_bed,
        {key: password() for key in names.SECRET_CONFIG_KEYS if key != "internalTlsSeed"},
    )
    the_bed.pulumi("config", "set", "--path", "lakehouse:zookeeper.replicas", str(ZK_MEMBERS))
    # Two more members take the CPU requests of the two-core node to 1.92 of 2 cores with
    # a driver running, and its executor (a quarter core) never scheduled: the jobs
    # request less here, which both releases read (spark.coreRequest).
    the_bed.pulumi("config", "set", "--path", "lakehouse:spark.coreRequest", SMALL_CORE_REQUEST)
    the_bed.run(old.lakehouse, "up", "--stack", "dev", timeout=2400)
    pods_ready_and_jobs_complete(the_bed)
    the_bed.run(old.lakehouse, "generate", "--stack", "dev", "--scale", SCALE,
                "--change-batches", "1")  # fmt: skip
    the_bed.run(old.lakehouse, "pipeline", "run", "--layer", "all", "--stack", "dev", timeout=3600)
    view_sql = "SELECT COUNT(*) AS n FROM lake.lakehouse.deltalake.silver.orders"
    assert dremio_view(the_bed, "create", view_sql) == {"sql": view_sql}
    ledger_before = ledger_rows(the_bed, "silver")
    before = uids(the_bed)
    coordinator_before = coordinator_uid(the_bed)
    the_bed.timeline.mark(f"release {old.release.version} deployed and run")
    # This checkout over it.
    with QuorumWatch(the_bed) as quorum:
        the_bed.lakehouse("up", "--stack", "dev", timeout=2400)
        pods_ready_and_jobs_complete(the_bed, within=600)
        zk_rolled = len(quorum.rolled) > ZK_MEMBERS
        if not zk_rolled:  # this upgrade left ZooKeeper's pods as they were: roll them
            the_bed.kubectl("-n", names.DREMIO_NAMESPACE, "rollout", "restart", "statefulset",
                            names.ZOOKEEPER)  # fmt: skip
            the_bed.kubectl("-n", names.DREMIO_NAMESPACE, "rollout", "status", "statefulset",
                            names.ZOOKEEPER, "--timeout=600s")  # fmt: skip
    after = uids(the_bed)
    replaced = sorted(k for k, uid in before.items() if after.get(k) != uid)
    assert not replaced, f"replaced or lost by the upgrade: {replaced}"
    assert len(quorum.rolled) >= 2 * ZK_MEMBERS, "ZooKeeper's members were not rolled"
    assert quorum.lowest >= ZK_MEMBERS // 2 + 1, f"quorum lost: {quorum.lowest} Ready"
    # Dremio opened the older volume after its upgrade step. An upgrade that changed
    # nothing of Dremio's pods leaves the coordinator as it was: restart it, as the next
    # change of its spec would, so that the upgrade step meets the older volume.
    dremio_rolled = coordinator_uid(the_bed) != coordinator_before
    if not dremio_rolled:
        the_bed.kubectl("-n", names.DREMIO_NAMESPACE, "rollout", "restart", "statefulset",
                        names.DREMIO_COORDINATOR)  # fmt: skip
        the_bed.kubectl("-n", names.DREMIO_NAMESPACE, "rollout", "status", "statefulset",
                        names.DREMIO_COORDINATOR, "--timeout=600s")  # fmt: skip
        assert coordinator_uid(the_bed) != coordinator_before
    log = the_bed.kubectl("-n", names.DREMIO_NAMESPACE, "logs", f"{names.DREMIO_COORDINATOR}-0",
                          "-c", "upgrade")  # fmt: skip
    assert "KVStore version is" in log, log
    # The data, the view, the ledgers; then the next change batch applies on top.
    assert dremio_view(the_bed, "read") == {"sql": view_sql}
    assert ledger_rows(the_bed, "silver") == ledger_before
    expected = oracle_gold(the_bed)
    for table in GOLD_TABLES:
        rows = gold_rows(the_bed, table.name, the_bed.lay.config / f"upg-{table.name}.parquet")
        assert_same_rows(rows, expected[table.name], table.key, f"gold.{table.name} upgraded")
    the_bed.lakehouse("generate", "--stack", "dev", "--scale", SCALE, "--change-batches", "2")
    the_bed.lakehouse("pipeline", "run", "--layer", "all", "--stack", "dev", timeout=3600)
    added = set(ledger_rows(the_bed, "silver")) - set(ledger_before)
    assert added and min(b for _, b in added) > max(b for _, b in ledger_before), added
    the_bed.facts["upgrade"] = {
        "from": old.release.version,
        "to": release_version(),
        "zookeeper_rolled_by_up": zk_rolled,
        "dremio_rolled_by_up": dremio_rolled,
        "zookeeper_lowest_ready": quorum.lowest,
        "kept": len(before),
    }
    the_bed.timeline.mark(f"upgraded {old.release.version} -> {release_version()} in place")
    the_bed.lakehouse("destroy", "--stack", "dev", "--yes", timeout=1800)
