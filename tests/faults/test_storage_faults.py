"""Storage faults: MinIO servers killed while the jobs write, on a 4-server erasure set.

MinIO's promise with four drives and parity 2: writes survive one lost server, reads two.
The jobs must turn that into: one server lost, the run completes; two lost, the run fails
saying the storage quorum is gone, the tables stay at their last committed version and
readable; every server restarted, the run completes or fails cleanly; and always, a
re-run once the servers are back converges to exactly the uninterrupted state.
"""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from lakehouse.local.minio import DistributedMinio
from lakehouse.local.runner import LocalPipeline
from lakehouse.s3 import S3Endpoint
from lakehouse_core.catalog import Layer
from lakehouse_jobs.storage import StorageUnavailable
from tests.faults.conftest import (
    FaultLedger,
    FaultRecord,
    Lake,
    after_rerun,
    divergence,
    pipeline_command,
)
from tests.integration.oracle import open_delta

pytestmark = pytest.mark.faults

# Tighter than the jobs' own bounds (S3A_RETRY_BOUNDS) so a lost quorum surfaces within a
# minute or two (MinIO refuses each write at once; the retries are what take time).
FAST_S3A = {
    "spark.hadoop.fs.s3a.retry.limit": "3",
    "spark.hadoop.fs.s3a.retry.interval": "500ms",
    "spark.hadoop.fs.s3a.retry.throttle.limit": "2",
    "spark.hadoop.fs.s3a.retry.throttle.interval": "500ms",
    "spark.hadoop.fs.s3a.attempts.maximum": "1",
    "spark.hadoop.fs.s3a.connection.establish.timeout": "5s",
    "spark.hadoop.fs.s3a.connection.timeout": "30s",
}


@pytest.fixture(scope="module")
def spark_for(endpoint: S3Endpoint) -> Iterator[Callable[[Lake], LocalPipeline]]:
    pipelines: list[LocalPipeline] = []

    def make(lake: Lake) -> LocalPipeline:
        pipeline = LocalPipeline(
            endpoint, lake.catalog.bucket, cores=2, driver_memory="2g", extra_conf=FAST_S3A
        )
        pipelines.append(pipeline)
        return pipeline

    yield make
    if pipelines:
        pipelines[0].close()  # one JVM serves them all


def when_objects_appear(lake: Lake, prefix: str, action: Callable[[], None]) -> threading.Thread:
    """Run ``action`` as soon as a new object appears under ``prefix`` of the lake."""
    baseline = lake.objects(prefix)

    def watch() -> None:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            if lake.objects(prefix) > baseline:
                action()
                return
            time.sleep(0.1)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def prepare(lake: Lake, pipeline: LocalPipeline) -> None:
    lake.land(1)
    pipeline.run("all")
    lake.land(2)
    pipeline.run("bronze")


def test_one_server_lost_during_silvers_merge_the_run_completes(
    minio: DistributedMinio, new_lake: Callable[[str], Lake],
    spark_for: Callable[[Lake], LocalPipeline], ledger: FaultLedger,
) -> None:  # fmt: skip
    lake = new_lake("one-down")
    pipeline = spark_for(lake)
    prepare(lake, pipeline)
    killed: list[int | None] = []
    watcher = when_objects_appear(lake, "deltalake/silver/", lambda: killed.append(minio.kill(3)))
    try:
        results = pipeline.run("silver") + pipeline.run("gold")
    finally:
        watcher.join(timeout=1)
        minio.restart(3)
        minio.wait_healthy()
    assert killed == [-signal.SIGKILL], f"server 4 was not killed during the MERGE: {killed}"
    assert any(r["layer"] == "silver" for r in results)
    lost, duplicated, detail = divergence(lake)
    ledger.add(
        FaultRecord(
            "one of four MinIO servers killed during silver's MERGE", "SIGKILL of server 4",
            "completed", 2, lost, duplicated, detail,
        )
    )  # fmt: skip
    assert (lost, duplicated, detail) == (0, 0, {})


def test_two_servers_lost_during_a_commit_fail_cleanly_then_converge(
    minio: DistributedMinio, endpoint: S3Endpoint, new_lake: Callable[[str], Lake],
    spark_for: Callable[[Lake], LocalPipeline], ledger: FaultLedger,
) -> None:  # fmt: skip
    lake = new_lake("two-down")
    pipeline = spark_for(lake)
    prepare(lake, pipeline)
    silver_uri = lake.catalog.table_uri(Layer.SILVER, "orders")
    before = open_delta(endpoint, silver_uri).version()
    killed: list[int | None] = []
    watcher = when_objects_appear(
        lake, "deltalake/silver/", lambda: killed.extend((minio.kill(2), minio.kill(3)))
    )
    try:
        with pytest.raises(StorageUnavailable) as failed:
            pipeline.run("silver")
        watcher.join(timeout=1)
        assert killed == [-signal.SIGKILL] * 2, f"servers 3 and 4 were not killed: {killed}"
        assert "storage quorum" in failed.value.message or "does not answer" in failed.value.message
        # Two of four lost: reads still have their quorum. The table is where it was.
        table = open_delta(endpoint, silver_uri)
        assert table.version() == before
        assert table.to_pyarrow_table().num_rows > 0
    finally:
        minio.restart(2)
        minio.restart(3)
        minio.wait_healthy()
    pipeline.run("all")
    lost, duplicated, detail = divergence(lake)
    ledger.add(FaultRecord("two of four MinIO servers killed during silver's commit",
                           "SIGKILL of servers 3 and 4",
                           f"failed cleanly ({failed.value.message[:80]}...), "
                           f"{after_rerun(lost, duplicated, detail)}",
                           2, lost, duplicated, detail))  # fmt: skip
    assert (lost, duplicated, detail) == (0, 0, {})


def test_every_server_restarted_during_gold(
    minio: DistributedMinio, new_lake: Callable[[str], Lake],
    spark_for: Callable[[Lake], LocalPipeline], ledger: FaultLedger,
) -> None:  # fmt: skip
    lake = new_lake("restart-all")
    pipeline = spark_for(lake)
    prepare(lake, pipeline)
    pipeline.run("silver")

    fired: list[float] = []

    def restart_all() -> None:
        fired.append(time.monotonic())
        for index in range(4):
            minio.restart(index, wait=False)
        minio.wait_healthy()

    watcher = when_objects_appear(lake, "deltalake/gold/", restart_all)
    outcome = "completed"
    runs = 1
    gold_started = time.monotonic()
    try:
        pipeline.run("gold")
    except StorageUnavailable as err:
        outcome = f"failed cleanly ({err.message[:60]}...)"
    finally:
        gold_ended = time.monotonic()
        watcher.join(timeout=120)
        minio.wait_healthy()
    # The restart fired while gold ran (after its first object, before it returned).
    assert len(fired) == 1 and gold_started < fired[0] < gold_ended, (fired, gold_started)
    fired_after = fired[0] - gold_started
    if outcome != "completed":
        pipeline.run("all")
        runs = 2
    lost, duplicated, detail = divergence(lake)
    if runs == 2:
        outcome += f", {after_rerun(lost, duplicated, detail)}"
    ledger.add(FaultRecord("every MinIO server restarted during gold",
                           f"restart of 4 servers {fired_after:.1f} s into gold's "
                           f"{gold_ended - gold_started:.1f} s", outcome, runs, lost, duplicated,
                           {**detail, "fired_during_gold": True}))  # fmt: skip
    assert (lost, duplicated, detail) == (0, 0, {})


def test_two_runs_at_once_never_write_together(
    new_lake: Callable[[str], Lake], ledger: FaultLedger
) -> None:
    lake = new_lake("two-runs")
    lake.land(1)
    processes = [
        subprocess.Popen(
            pipeline_command(lake), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=900)[0] for p in processes]
    codes = sorted(p.returncode for p in processes)
    refused = [o for o in outputs if "another run is writing the lake" in o]
    assert codes == [0, 1] and len(refused) == 1, outputs
    lost, duplicated, detail = divergence(lake)
    ledger.add(FaultRecord("two pipeline runs started at once on one lake",
                           "a second writer", "one ran, the other was refused by the lock",
                           2, lost, duplicated, detail))  # fmt: skip
    assert (lost, duplicated, detail) == (0, 0, {})
