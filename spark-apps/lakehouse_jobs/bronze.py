"""Bronze: ingest each landing batch exactly once, append-only, one commit per batch.

Rows keep every raw column as the string that arrived, plus the batch id, the source file
and the ingest time. The commit carries ``txnAppId=lakehouse.bronze.<dataset>`` and
``txnVersion=<batch id>``, so a retried job never appends a batch twice; batches are
therefore ingested in increasing order, and a batch that lands after a later one was
ingested is refused with a message rather than silently skipped.
"""

from __future__ import annotations

import logging

from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import LongType, StringType, StructField, StructType, TimestampType

from lakehouse_core.catalog import (
    BATCH_ID_COLUMN,
    CORRUPT_RECORD_COLUMN,
    EXTRA_COLUMNS_COLUMN,
    INGESTED_AT_COLUMN,
    MISSING_COLUMNS_COLUMN,
    SOURCE_FILE_COLUMN,
    Dataset,
    LakeCatalog,
    Layer,
)
from lakehouse_core.errors import LakehouseError
from lakehouse_jobs import audit, delta_io, landing, parallel, profile
from lakehouse_jobs.audit import BatchResult, Ledger

log = logging.getLogger(__name__)


class LateBatchError(LakehouseError):
    """A landing batch is older than one already ingested."""


def bronze_schema(dataset: Dataset) -> StructType:
    return StructType(
        [StructField(c, StringType(), True) for c in dataset.raw_column_names]
        + [
            StructField(CORRUPT_RECORD_COLUMN, StringType(), True),
            StructField(EXTRA_COLUMNS_COLUMN, StringType(), True),
            StructField(MISSING_COLUMNS_COLUMN, StringType(), True),
            StructField(SOURCE_FILE_COLUMN, StringType(), False),
            StructField(BATCH_ID_COLUMN, LongType(), False),
            StructField(INGESTED_AT_COLUMN, TimestampType(), False),
        ]
    )


def pending_batches(landed: dict[int, str], ingested: list[int], dataset: str) -> list[int]:
    """Batches to ingest, in order; refuses a batch older than the newest one ingested."""
    done = set(ingested)
    if not done:
        return sorted(landed)
    newest = max(done)
    late = sorted(b for b in landed if b not in done and b < newest)
    if late:
        raise LateBatchError(
            f"{dataset}: landing batch(es) {late} arrived after batch {newest} was ingested. "
            "Batch ids must increase; move the files into a new batch folder numbered "
            f"above {newest} (for example batch={newest + 1:06d})."
        )
    return sorted(b for b in landed if b not in done)


def ingest_dataset(
    spark: SparkSession, catalog: LakeCatalog, dataset: Dataset, ledger: Ledger
) -> list[BatchResult]:
    with profile.phase(spark, "bronze", dataset.name, "list landing"):
        landed = landing.list_batches(spark, catalog.landing_uri(dataset.name))
    ingested = ledger.batches(dataset.name)
    todo = pending_batches(landed, ingested, dataset.name)
    if not todo:
        log.info(
            "bronze %s: nothing new (%d batches already ingested)", dataset.name, len(ingested)
        )
        return []
    uri = catalog.table_uri(Layer.BRONZE, dataset.name)
    # Not partitioned: a partitioned write sorts every row by the partition column, which
    # made ingest several times slower. Each batch's files carry min = max = its batch id,
    # so silver's `_batch_id = n` filter still skips every other batch's files.
    with profile.phase(spark, "bronze", dataset.name, "ensure table"):
        delta_io.ensure_table(
            spark,
            uri,
            bronze_schema(dataset),
            {**delta_io.APPEND_ONLY_PROPERTIES, "delta.dataSkippingStatsColumns": BATCH_ID_COLUMN},
        )
    results = []
    for batch_id in todo:
        files = landing.list_files(spark, landed[batch_id])
        # Each file's header, and whether its lines can be parsed one by one (a split read).
        with profile.phase(spark, "bronze", dataset.name, "read landing"):
            raw = landing.read_batch(spark, dataset, files)
        result = BatchResult(Layer.BRONZE.value, dataset.name, batch_id, files=len(files))
        if raw is None:
            result.note = "no non-empty files"
            result.committed = False
        else:
            rows = raw.withColumn(BATCH_ID_COLUMN, F.lit(batch_id).cast("bigint")).withColumn(
                INGESTED_AT_COLUMN, F.current_timestamp()
            )
            with profile.phase(spark, "bronze", dataset.name, "parse and append"):
                outcome = delta_io.append_idempotent(
                    rows, uri, app_id=f"lakehouse.bronze.{dataset.name}", version=batch_id
                )
            result.committed = outcome.committed
            result.target_version = outcome.version
            if outcome.committed:
                result.rows_in = int(outcome.metrics.get("numOutputRows", 0))
            else:
                # Committed by an earlier attempt that crashed before its audit row.
                result.rows_in = (
                    spark.read.format("delta")
                    .load(uri)
                    .where(F.col(BATCH_ID_COLUMN) == batch_id)
                    .count()
                )
                result.note = "already committed by an earlier attempt"
        result.rows_applied = result.rows_in
        log.info(
            "bronze %s batch %d: %d rows from %d files (table version %d)",
            dataset.name,
            batch_id,
            result.rows_in,
            len(files),
            result.target_version,
        )
        results.append(result)
    return results


def run(
    spark: SparkSession, catalog: LakeCatalog, datasets: tuple[Dataset, ...]
) -> list[BatchResult]:
    """Every dataset's new landing batches, several datasets at once, then one audit commit."""
    with profile.phase(spark, "bronze", "*", "read ledger"):
        ledger = audit.read_ledger(spark, catalog, Layer.BRONZE)
    results = parallel.for_each(
        spark,
        datasets,
        lambda session, dataset: ingest_dataset(session, catalog, dataset, ledger),
        name=lambda d: f"bronze {d.name}",
    )
    with profile.phase(spark, "bronze", "*", "audit"):
        audit.record(spark, catalog, Layer.BRONZE, results)
    return results
