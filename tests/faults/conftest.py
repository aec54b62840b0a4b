"""Faults injected into real runs: a 4-server MinIO (one erasure set, EC:2), real Spark.

Every scenario works in its own bucket. The landing data (TPC-H SF 0.01: a snapshot and
two change batches, plus the users) is generated once into a staging bucket and copied in
batch by batch (server-side copies). After each fault the lake is checked against the
DuckDB oracle computed from the same landing files; the session ends with one summary line
and writes bench/faults.json.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pytest

from lakehouse.datagen.landing import GeneratorSettings, generate
from lakehouse.local.minio import DistributedMinio
from lakehouse.s3 import ObjectStore, S3Endpoint
from lakehouse_core.catalog import CATALOG, LANDING_PREFIX, LakeCatalog, format_batch_id
from tests.integration.divergence import divergence as lake_divergence

pytestmark = pytest.mark.faults

REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / "bench" / "faults.json"
PARTIAL_RESULTS = REPO / "bench" / "faults-partial.json"  # a subset of the suite (ignored)
SETTINGS = GeneratorSettings(scale=0.01, seed=7, fraction=0.01)
STAGING = "faults-landing"


@dataclass
class FaultRecord:
    scenario: str
    fault: str
    outcome: str
    runs: int
    rows_lost: int = 0
    rows_duplicated: int = 0
    detail: dict[str, Any] = field(default_factory=dict)


def after_rerun(lost: int, duplicated: int, detail: dict[str, Any]) -> str:
    """What a re-run after a failure came to, as the ledger says it."""
    return "converged on re-run" if (lost, duplicated, detail) == (0, 0, {}) else "diverged"


@dataclass
class FaultLedger:
    records: list[FaultRecord] = field(default_factory=list)

    def add(self, record: FaultRecord) -> None:
        self.records.append(record)

    def summary(self) -> str:
        runs = sum(r.runs for r in self.records)
        lost = sum(r.rows_lost for r in self.records)
        duplicated = sum(r.rows_duplicated for r in self.records)
        return (
            f"faults: {len(self.records)} injected, {runs} runs, {lost} rows lost, "
            f"{duplicated} duplicated"
        )


_DESELECTED: list[pytest.Item] = []


def pytest_deselected(items: list[pytest.Item]) -> None:
    _DESELECTED.extend(items)


def _whole_suite(session: pytest.Session) -> bool:
    """Whether every fault test of every file here was selected: only such a run's figures
    stand for the suite (a subset writes its own file and leaves the suite's alone)."""
    files = {path.name for path in Path(__file__).parent.glob("test_*.py")}
    selected = {Path(str(item.path)).name for item in session.items}
    return files <= selected and not _DESELECTED


@pytest.fixture(scope="session")
def ledger(request: pytest.FixtureRequest) -> Iterator[FaultLedger]:
    found = FaultLedger()
    yield found
    results = RESULTS if _whole_suite(request.session) else PARTIAL_RESULTS
    results.parent.mkdir(exist_ok=True)
    results.write_text(
        json.dumps(
            {
                "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "summary": found.summary(),
                "faults": [asdict(r) for r in found.records],
            },
            indent=2,
        )
        + "\n"
    )
    # Printed by pytest_terminal_summary below: output of a fixture's teardown is captured.
    request.config.stash[_SUMMARY] = f"{found.summary()} (details in {results.relative_to(REPO)})"


_SUMMARY = pytest.StashKey[str]()


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    """The suite's last line: how many faults, how many runs, what was lost."""
    line = config.stash.get(_SUMMARY, None)
    if line is not None:
        terminalreporter.write_line(line, bold=True)


@pytest.fixture(scope="session")
def minio() -> Iterator[DistributedMinio]:
    with DistributedMinio(4, log=lambda _m: None) as cluster:
        yield cluster


@pytest.fixture(scope="session")
def endpoint(minio: DistributedMinio) -> S3Endpoint:
    return S3Endpoint(minio.endpoint, minio.credentials.access_key, minio.credentials.secret_key)


@pytest.fixture(scope="session")
def staging(endpoint: S3Endpoint) -> ObjectStore:
    store = ObjectStore(endpoint, STAGING)
    generate(store, SETTINGS, 2, CATALOG.with_bucket(STAGING), log=lambda _m: None)
    return store


@dataclass
class Lake:
    """One scenario's bucket, fed from the staging bucket one landing batch at a time."""

    endpoint: S3Endpoint
    staging: ObjectStore
    catalog: LakeCatalog
    workdir: Path

    @property
    def store(self) -> ObjectStore:
        return ObjectStore(self.endpoint, self.catalog.bucket)

    def land(self, batch: int) -> None:
        for key in self.staging.keys(f"{LANDING_PREFIX}/"):
            if f"/{format_batch_id(batch)}/" in key:
                self.store.client.copy_object(
                    Bucket=self.catalog.bucket,
                    Key=key,
                    CopySource={"Bucket": self.staging.bucket, "Key": key},
                )

    def copy_from(self, other: Lake) -> None:
        """Start from another lake's state (its tables and landing), as of now."""
        for key in other.store.keys(""):
            self.store.client.copy_object(
                Bucket=self.catalog.bucket,
                Key=key,
                CopySource={"Bucket": other.catalog.bucket, "Key": key},
            )

    def objects(self, prefix: str = "deltalake/") -> int:
        return len(self.store.keys(prefix))


@pytest.fixture(scope="session")
def new_lake(
    endpoint: S3Endpoint, staging: ObjectStore, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str], Lake]:
    def make(label: str) -> Lake:
        bucket = f"f-{label}-{secrets.token_hex(3)}"
        ObjectStore(endpoint, bucket).ensure_bucket()
        return Lake(endpoint, staging, CATALOG.with_bucket(bucket), tmp_path_factory.mktemp(label))

    return make


# --- running the pipeline as its own process (its driver can be killed) --------------------


def pipeline_command(lake: Lake, layer: str = "all") -> list[str]:
    e = lake.endpoint
    return [
        sys.executable, "-m", "lakehouse.cli.app", "pipeline", "run", "--layer", layer,
        "--endpoint", e.url, "--access-key", e.access_key, "--secret-key", e.secret_key,
        "--bucket", lake.catalog.bucket, "--driver-memory", "1g",
    ]  # fmt: skip


@dataclass
class Run:
    returncode: int
    output: str
    killed: bool
    seconds: float


def run_pipeline(
    lake: Lake, *, kill_when: Callable[[float], bool] | None = None, layer: str = "all"
) -> Run:
    """Run the pipeline in its own process group; SIGKILL the whole group (the Python driver,
    its JVM and workers) as soon as ``kill_when(elapsed)`` holds."""
    started = time.monotonic()
    # Spark's scratch folder (shuffle and spill files) is removed by a shutdown hook that a
    # SIGKILL never runs: give each run its own, removed below.
    scratch = tempfile.mkdtemp(prefix="lakehouse-fault-run-")
    env = {
        **os.environ,
        "LAKEHOUSE_SPARK_LOG_LEVEL": "ERROR",
        "COLUMNS": "200",
        "SPARK_LOCAL_DIRS": scratch,
    }
    process = subprocess.Popen(
        pipeline_command(lake, layer),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        start_new_session=True,
    )
    output: list[str] = []
    reader = threading.Thread(target=lambda: output.extend(process.stdout or []), daemon=True)
    reader.start()
    killed = False
    while process.poll() is None:
        if kill_when is not None and kill_when(time.monotonic() - started):
            os.killpg(process.pid, signal.SIGKILL)  # our own child's group, by its id
            killed = True
            break
        time.sleep(0.2)
    process.wait(timeout=120)
    reader.join(timeout=10)
    shutil.rmtree(scratch, ignore_errors=True)
    return Run(process.returncode, "".join(output), killed, time.monotonic() - started)


# --- what a converged lake looks like: tests/integration/divergence.py ---------------------


def divergence(lake: Lake) -> tuple[int, int, dict[str, Any]]:
    """(rows lost, rows duplicated, details) of the lake against the oracle of its landing."""
    return lake_divergence(lake.endpoint, lake.catalog, lake.workdir / secrets.token_hex(2))
