"""Table maintenance: compact small files, checkpoint the log, VACUUM what nothing needs.

Run after the layers (``python -m lakehouse_jobs maintenance``; a ScheduledSparkApplication
in the cluster, ``lakehouse pipeline maintain`` by hand), for silver, its tombstones and gold:

* **compaction** bin-packs the small files MERGEs and appends leave behind into files of
  about ``TARGET_FILE_BYTES``; files already that large are left alone, so silver's ranges
  of recent and old rows stay apart;
* a **checkpoint** at the latest version, so readers (Dremio included) replay few commits;
* **VACUUM** keeps every file that a version younger than the retention window needs (time
  travel), and never less than what gold's next refresh reads: the change feed from the
  version after the one each gold table was last built from. Should those files ever be
  gone anyway, gold rewrites the table instead of failing (see ``gold.refresh``).

Bronze, the rejects and the audit tables are append-only: nothing to compact or vacuum.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

from delta.tables import DeltaTable
from pyspark.sql import SparkSession

from lakehouse_core.catalog import DEFAULT_RETAIN_HOURS, Dataset, LakeCatalog, Layer
from lakehouse_jobs import audit, delta_io, parallel
from lakehouse_jobs.audit import BatchResult
from lakehouse_jobs.gold import GOLD

log = logging.getLogger(__name__)

TARGET_FILE_BYTES = 32 * 1024 * 1024
SMALL_FILE_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class Needed:
    """The oldest version of a silver table that a gold refresh will still read."""

    version: int
    by: str  # the gold table that needs it


def needed_versions(spark: SparkSession, catalog: LakeCatalog) -> dict[str, Needed]:
    """Per silver table, the first version of the change feed gold's next refresh reads."""
    ledger = audit.read_ledger(spark, catalog, Layer.GOLD)
    needed: dict[str, Needed] = {}
    for gold in GOLD:
        last = ledger.last(gold.name)
        if last is None or gold.incremental is None:
            continue
        for source, version in last.source_versions.items():
            start = version + 1
            if source not in needed or start < needed[source].version:
                needed[source] = Needed(start, gold.name)
    return needed


def _commit_age_hours(spark: SparkSession, uri: str, version: int) -> float:
    """How long ago ``version`` was committed (0 for a version not committed yet)."""
    if version > delta_io.current_version(spark, uri):
        return 0.0
    info = delta_io.commit_at(spark, uri, version)
    return max(0.0, (time.time() * 1000 - info.timestamp_ms) / 3_600_000)


def maintain_table(
    spark: SparkSession, uri: str, name: str, retain_hours: float, needed: Needed | None
) -> BatchResult:
    result = BatchResult("maintenance", name, delta_io.current_version(spark, uri))
    if result.batch_id < 0:
        result.note = "no table yet"
        return result
    table = DeltaTable.forPath(spark, uri)
    compaction = table.optimize().executeCompaction().first()
    metrics = compaction["metrics"] if compaction is not None else None
    removed = int(metrics["numFilesRemoved"]) if metrics is not None else 0
    added = int(metrics["numFilesAdded"]) if metrics is not None else 0
    delta_io.checkpoint(spark, uri)
    retention = retain_hours
    why = f"the {retain_hours:g} h time-travel window"
    if needed is not None:
        age = _commit_age_hours(spark, uri, needed.version)
        if age + 1 > retention:
            retention = math.ceil(age + 1)
            why = f"gold {needed.by} still reads its change feed from version {needed.version}"
    vacuumed = table.vacuum(retention)
    deleted = int(vacuumed.count()) if vacuumed is not None else 0
    result.rows_applied = removed
    result.target_version = delta_io.current_version(spark, uri)
    result.note = (
        f"compacted {removed} small file(s) into {added}; vacuum kept {retention:g} h ({why})"
        + (f", deleted {deleted}" if deleted else "")
    )
    log.info("maintenance %s: %s", name, result.note)
    return result


def run(
    spark: SparkSession,
    catalog: LakeCatalog,
    datasets: tuple[Dataset, ...],
    retain_hours: float = DEFAULT_RETAIN_HOURS,
) -> list[BatchResult]:
    """Maintain silver (with tombstones) of ``datasets`` and the gold tables reading them,
    a few tables at once (as the layers run their datasets)."""
    parallelism = str(max(2, spark.sparkContext.defaultParallelism))
    conf = {
        "spark.databricks.delta.optimize.maxFileSize": str(TARGET_FILE_BYTES),
        "spark.databricks.delta.optimize.minFileSize": str(SMALL_FILE_BYTES),
        # The retention is chosen above (never below what gold needs); allow short windows.
        "spark.databricks.delta.retentionDurationCheck.enabled": "false",
        "spark.databricks.delta.vacuum.parallelDelete.enabled": "true",
        # VACUUM lists the table's folders in this many tasks (Spark's default is 10,000:
        # tens of seconds of empty tasks per table on a small cluster); the listing of one
        # table needs no more than the cores there are.
        "spark.sql.sources.parallelPartitionDiscovery.parallelism": parallelism,
    }

    def configured(session: SparkSession) -> SparkSession:
        for key, value in conf.items():
            session.conf.set(key, value)
        return session

    needed = needed_versions(spark, catalog)
    tables: list[tuple[str, str]] = []
    for dataset in datasets:
        tables.append((catalog.table_uri(Layer.SILVER, dataset.name), f"silver.{dataset.name}"))
        tables.append((catalog.tombstones_uri(dataset.name), f"tombstones.{dataset.name}"))
    for gold in GOLD.reading(d.name for d in datasets):
        tables.append((catalog.table_uri(Layer.GOLD, gold.name), f"gold.{gold.name}"))

    def maintain(session: SparkSession, table: tuple[str, str]) -> list[BatchResult]:
        uri, name = table
        source = name.split(".", 1)[1] if name.startswith("silver.") else None
        wanted = needed.get(source) if source else None
        return [maintain_table(configured(session), uri, name, retain_hours, wanted)]

    results = parallel.for_each(spark, tables, maintain, name=lambda table: table[1])
    return [r for r in results if r.batch_id >= 0]
