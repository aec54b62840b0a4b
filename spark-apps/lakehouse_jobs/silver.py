"""Silver: typed, validated, deduplicated tables kept current with a Delta MERGE.

For each bronze batch not yet applied, in batch order:

1. cast every column once and test each row with one cheap predicate
   (``RowValidation.is_valid``); only the rows that fail it get their messages built, and go
   to ``<dataset>_rejects`` with the reason, all messages and the raw record;
2. among valid rows, keep the latest change per business key (``sequence_by``: the
   change sequence or the record's timestamp). One narrow aggregation over the keys finds
   whether any key repeats; only then are the repeating keys ranked. If several rows share
   the latest sequence and disagree, nobody can tell which is right: the whole key is
   rejected as ``duplicate_key``. Earlier changes to a key are *superseded*;
3. drop upserts that a delete already outranks (the tombstones, an append-only table of
   deleted keys with their sequence: a delete wins over every older change, whenever that
   change arrives), then
   MERGE the winners: ``D`` deletes, anything else upserts, and a change never overwrites a
   newer one already in the table (out-of-order arrivals are ignored);
4. the first batch is written, not merged, in ranges of the dataset's ``cluster_by`` column
   (recent orders change most, so a change batch then rewrites the few files of recent
   ranges). A sequenced dataset's deletes then update its tombstones.

The counts come from the narrow aggregation and bronze's own count of the batch; nothing
is classified twice, and bronze is read and cast once per batch for its winners (their
typed columns are cached by the counting pass for the writes that follow). Every write is
idempotent for (dataset, batch), so a retry after a crash at any point converges on the
same state.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

from delta.tables import DeltaTable
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import LongType, StringType, StructField, StructType, TimestampType

from lakehouse_core.catalog import (
    BATCH_ID_COLUMN,
    CHANGE_SEQ_COLUMN,
    CORRUPT_RECORD_COLUMN,
    EXTRA_COLUMNS_COLUMN,
    INGESTED_AT_COLUMN,
    MISSING_COLUMNS_COLUMN,
    OP_COLUMN,
    OP_DELETE,
    OP_UPSERT,
    SOURCE_FILE_COLUMN,
    Dataset,
    LakeCatalog,
    Layer,
)
from lakehouse_core.catalog import Column as CatalogColumn
from lakehouse_jobs import audit, delta_io, parallel, profile, validation
from lakehouse_jobs.audit import BatchResult, Ledger
from lakehouse_jobs.types import spark_type

log = logging.getLogger(__name__)

SEQ = "__seq"
_CONTENT = "__content"
# Rows per file when silver is first written: about 20-40 MB of Parquet for the TPC-H
# tables, small enough that a change batch's MERGE rewrites a small share of a table.
ROWS_PER_FILE = 400_000
DUPLICATE_PROBLEM = "duplicate_key: different rows share this key and the latest sequence"

REJECTS_SCHEMA = StructType(
    [
        StructField(BATCH_ID_COLUMN, LongType(), False),
        StructField(SOURCE_FILE_COLUMN, StringType(), True),
        StructField(INGESTED_AT_COLUMN, TimestampType(), True),
        StructField("reason", StringType(), False),
        StructField("detail", StringType(), False),
        StructField("raw_record", StringType(), False),
    ]
)


def stores_change_seq(dataset: Dataset) -> bool:
    return dataset.sequence_by == CHANGE_SEQ_COLUMN


def silver_schema(dataset: Dataset) -> StructType:
    fields = [
        StructField(c.name, spark_type(c.type), c.name not in dataset.key) for c in dataset.columns
    ]
    if stores_change_seq(dataset):
        fields.append(StructField(CHANGE_SEQ_COLUMN, LongType(), True))
    fields.append(StructField(BATCH_ID_COLUMN, LongType(), False))
    return StructType(fields)


def sequence_type(dataset: Dataset) -> str | None:
    """The Spark type of the dataset's sequence (None: changes are ordered by batch only)."""
    if dataset.sequence_by is None:
        return None
    if stores_change_seq(dataset):
        return "bigint"
    return dataset.column(dataset.sequence_by).type


def tombstone_schema(dataset: Dataset) -> StructType:
    seq_type = sequence_type(dataset)
    assert seq_type is not None, f"{dataset.name} has no sequence, so needs no tombstones"
    fields = [StructField(k, spark_type(dataset.column(k).type), False) for k in dataset.key]
    fields += [
        StructField(SEQ, spark_type(seq_type), False),
        StructField(BATCH_ID_COLUMN, LongType(), False),
    ]
    return StructType(fields)


def _typed_name(column: str) -> str:
    return f"__t_{column}"


def _typed_of(column: CatalogColumn) -> Column:
    return F.col(_typed_name(column.name))


def _sequence(dataset: Dataset) -> Column:
    seq_type = sequence_type(dataset)
    if seq_type is None:
        return F.lit(None).cast("bigint")
    if stores_change_seq(dataset):
        return F.expr(f"try_cast(`{CHANGE_SEQ_COLUMN}` AS bigint)")
    return _typed_of(dataset.column(str(dataset.sequence_by)))


def _op() -> Column:
    return (
        F.when(F.upper(validation.raw(OP_COLUMN)) == OP_DELETE, F.lit(OP_DELETE))
        .otherwise(F.lit(OP_UPSERT))
        .alias(OP_COLUMN)
    )


@dataclass
class BatchChanges:
    """One bronze batch, planned: the winning change per key, the rejects, and the counts.

    ``rows_in == applied + superseded + rejected`` always holds.
    """

    winners: DataFrame  # silver's columns + _op + __seq, one row per key
    rejects: DataFrame | None  # rows in REJECTS_SCHEMA; None when nothing was rejected
    rows_in: int
    applied: int
    superseded: int
    rejected: int
    has_deletes: bool = False  # some key's changes in the batch include a delete
    kept: DataFrame | None = None  # the valid rows' typed columns, cached while written

    def release(self) -> None:
        """Free the cached batch once everything written from it is committed."""
        if self.kept is not None:
            self.kept.unpersist()
            self.kept = None


def plan_batch(
    raw: DataFrame, dataset: Dataset, rows_in: int | None = None, *, keep: bool = False
) -> BatchChanges:
    """Validate, deduplicate and count one batch of bronze rows (``rows_in``: bronze's count
    of the batch, when known, spares a pass).

    ``keep`` caches the valid rows' typed columns, filled by the counting pass: the
    winners (a first write's range sample and its write, a MERGE's two reads of its
    source, the tombstones) then read them instead of reading and casting bronze again.
    Only what the winners need is cached, not the raw text: with it, the cache cost more
    to fill than the reads it saved (docs/benchmarks.md); the rejects, rare, read bronze
    again. The caller frees the cache with ``release()``.
    """
    typed_columns = [validation.typed(c).alias(_typed_name(c.name)) for c in dataset.columns]
    typed = raw.select("*", *typed_columns).withColumn(SEQ, _sequence(dataset))
    rules = validation.RowValidation(dataset, _typed_of)
    valid_flag = rules.is_valid
    valid_records = typed.where(valid_flag)  # with their raw text: a duplicate's reject
    valid = valid_records.select(
        *[_typed_name(c.name) for c in dataset.columns],
        validation.raw(OP_COLUMN).alias(OP_COLUMN),
        F.col(BATCH_ID_COLUMN),
        F.col(SEQ),
    )
    if keep:
        valid = valid.persist()
    keys = [_typed_name(k) for k in dataset.key]

    # One narrow pass over the keys: how many valid rows, how many keys, any repeated?
    is_delete = F.upper(validation.raw(OP_COLUMN)) == OP_DELETE
    per_key = valid.groupBy(*keys).agg(
        F.count(F.lit(1)).alias("n"), F.max(F.when(is_delete, 1).otherwise(0)).alias("d")
    )
    counts = per_key.agg(
        F.coalesce(F.sum("n"), F.lit(0)).alias("rows"),
        F.count(F.lit(1)).alias("keys"),
        F.coalesce(F.max("n"), F.lit(0)).alias("most"),
        F.coalesce(F.sum("d"), F.lit(0)).alias("deletes"),
    ).first()
    assert counts is not None
    valid_rows, key_count, most = int(counts["rows"]), int(counts["keys"]), int(counts["most"])
    has_deletes = int(counts["deletes"]) > 0
    if rows_in is None:
        rows_in = raw.count()

    out_columns = [f.name for f in silver_schema(dataset).fields]
    selected = [
        *[_typed_of(c).alias(c.name) for c in dataset.columns],
        *([F.col(SEQ).alias(CHANGE_SEQ_COLUMN)] if stores_change_seq(dataset) else []),
        F.col(BATCH_ID_COLUMN),
        _op(),
        F.col(SEQ),
    ]
    ambiguous_keys: DataFrame | None = None
    ambiguous_rows = ambiguous_count = 0
    if most <= 1:  # every key once (a snapshot, most batches): no ranking at all
        winners = valid.select(*selected)
    else:
        content = F.xxhash64(*[_typed_of(c) for c in dataset.columns], _op())
        ranked = valid.withColumn(_CONTENT, content)
        order = F.struct(F.col(SEQ), F.col(_CONTENT))
        stats = ranked.groupBy(*keys).agg(
            F.count(F.lit(1)).alias("n"),
            F.max(order).alias("hi"),
            # The smallest content at the top sequence, as the largest of its complement.
            F.max(F.struct(F.col(SEQ), F.bitwise_not(F.col(_CONTENT)).alias(_CONTENT))).alias("lo"),
        )
        disagree = F.col(f"hi.{_CONTENT}") != F.bitwise_not(F.col(f"lo.{_CONTENT}"))
        ambiguous_keys = stats.where(disagree).select(*keys, "n")
        amb = ambiguous_keys.agg(
            F.coalesce(F.sum("n"), F.lit(0)).alias("rows"), F.count(F.lit(1)).alias("keys")
        ).first()
        assert amb is not None
        ambiguous_rows, ambiguous_count = int(amb["rows"]), int(amb["keys"])
        best = ranked.groupBy(*keys).agg(F.max_by(F.struct(*selected), order).alias("w"))
        if ambiguous_count:
            best = best.join(F.broadcast(ambiguous_keys.select(*keys)), keys, "left_anti")
        else:
            ambiguous_keys = None
        winners = best.select("w.*")

    applied = key_count - ambiguous_count
    rejected = rows_in - valid_rows + ambiguous_rows
    rejects = None
    if rejected:
        invalid = typed.where(~valid_flag).withColumn("__problems", rules.problems)
        if ambiguous_keys is not None:
            duplicates = valid_records.join(
                F.broadcast(ambiguous_keys.select(*keys)), keys, "left_semi"
            ).withColumn("__problems", F.array(F.lit(DUPLICATE_PROBLEM)))
            invalid = invalid.unionByName(duplicates)
        rejects = _rejected_rows(invalid, dataset)
    return BatchChanges(
        winners=winners.select(*out_columns, OP_COLUMN, SEQ),
        rejects=rejects,
        rows_in=rows_in,
        applied=applied,
        superseded=valid_rows - applied - ambiguous_rows,
        rejected=rejected,
        has_deletes=has_deletes,
        kept=valid if keep else None,
    )


def _rejected_rows(rows: DataFrame, dataset: Dataset) -> DataFrame:
    raw_fields = [validation.raw(c).alias(c) for c in dataset.raw_column_names] + [
        F.col(EXTRA_COLUMNS_COLUMN),
        F.col(MISSING_COLUMNS_COLUMN),
    ]
    raw_record = F.coalesce(
        F.col(CORRUPT_RECORD_COLUMN),
        F.to_json(F.struct(*raw_fields), {"ignoreNullFields": "false"}),
    )
    return rows.select(
        F.col(BATCH_ID_COLUMN),
        F.col(SOURCE_FILE_COLUMN),
        F.col(INGESTED_AT_COLUMN),
        validation.first_reason(F.col("__problems")).alias("reason"),
        F.array_join(F.col("__problems"), "; ").alias("detail"),
        raw_record.alias("raw_record"),
    )


def _newer_condition(dataset: Dataset) -> str:
    """A change applies only if it is at least as new as the row it would replace."""
    if dataset.sequence_by is None:
        return "true"
    target = CHANGE_SEQ_COLUMN if stores_change_seq(dataset) else dataset.sequence_by
    return f"(t.`{target}` IS NULL OR s.{SEQ} >= t.`{target}`)"


def not_outranked(changes: DataFrame, tombstones: DataFrame, dataset: Dataset) -> DataFrame:
    """Drop upserts that a recorded delete of the same key outranks (same or later sequence)."""
    on = [changes[k] == tombstones[k] for k in dataset.key]
    outranked = (changes[OP_COLUMN] != OP_DELETE) & (tombstones[SEQ] >= changes[SEQ])
    return changes.join(F.broadcast(tombstones), on=[*on, outranked], how="left_anti")


def merge_changes(target: DeltaTable, changes: DataFrame, dataset: Dataset) -> None:
    on = " AND ".join(f"t.`{k}` = s.`{k}`" for k in dataset.key)
    newer = _newer_condition(dataset)
    values: dict[str, str | Column] = {
        f"`{f.name}`": f"s.`{f.name}`" for f in silver_schema(dataset).fields
    }
    (
        target.alias("t")
        .merge(changes.alias("s"), on)
        .whenMatchedDelete(condition=f"s.{OP_COLUMN} = '{OP_DELETE}' AND {newer}")
        .whenMatchedUpdate(condition=f"s.{OP_COLUMN} <> '{OP_DELETE}' AND {newer}", set=values)
        .whenNotMatchedInsert(condition=f"s.{OP_COLUMN} <> '{OP_DELETE}'", values=values)
        .execute()
    )


def _record_tombstones(uri: str, deletes: DataFrame, dataset: Dataset, batch_id: int) -> None:
    """Append the batch's deletes to the tombstones (a key may have several: any one that
    outranks a change drops it, so they need no MERGE)."""
    delta_io.append_idempotent(
        deletes.coalesce(1), uri, f"lakehouse.tombstones.{dataset.name}", batch_id
    )


def _first_write(changes: DataFrame, dataset: Dataset, rows: int) -> DataFrame:
    """The first batch's rows, laid out in ranges of ``cluster_by`` (or just few files)."""
    files = max(1, math.ceil(rows / ROWS_PER_FILE))
    columns = [f.name for f in silver_schema(dataset).fields]
    inserts = changes.where(F.col(OP_COLUMN) != OP_DELETE).select(*columns)
    if dataset.cluster_by is None:
        return inserts.coalesce(files)
    return inserts.repartitionByRange(files, dataset.cluster_by).sortWithinPartitions(
        dataset.cluster_by
    )


def apply_batch(
    spark: SparkSession,
    catalog: LakeCatalog,
    dataset: Dataset,
    batch_id: int,
    *,
    bronze_version: int,
    rows_in: int | None = None,
) -> BatchResult:
    bronze_uri = catalog.table_uri(Layer.BRONZE, dataset.name)
    silver_uri = catalog.table_uri(Layer.SILVER, dataset.name)
    result = BatchResult(Layer.SILVER.value, dataset.name, batch_id)
    result.source_versions = {f"bronze.{dataset.name}": bronze_version}
    if bronze_version < 0:  # every batch so far was empty
        result.committed = False
        result.note = "empty batch"
        return result
    raw = (
        spark.read.format("delta")
        .option("versionAsOf", bronze_version)
        .load(bronze_uri)
        .where(F.col(BATCH_ID_COLUMN) == batch_id)
    )
    with profile.phase(spark, "silver", dataset.name, "plan"):
        plan = plan_batch(raw, dataset, rows_in, keep=True)
    try:
        _write_plan(spark, catalog, dataset, batch_id=batch_id, plan=plan, result=result)
    finally:
        plan.release()
    result.target_version = delta_io.current_version(spark, silver_uri)
    return result


def _write_plan(
    spark: SparkSession,
    catalog: LakeCatalog,
    dataset: Dataset,
    *,
    batch_id: int,
    plan: BatchChanges,
    result: BatchResult,
) -> None:
    """Commit one planned batch: its winners (written first, or merged), its deletes'
    tombstones, its rejects; ``result`` takes the counts and whether the table committed."""
    silver_uri = catalog.table_uri(Layer.SILVER, dataset.name)
    rejects_uri = catalog.table_uri(Layer.SILVER, catalog.rejects_table(dataset.name))
    result.rows_in, result.rows_applied = plan.rows_in, plan.applied
    result.rows_superseded, result.rows_rejected = plan.superseded, plan.rejected
    app = f"lakehouse.silver.{dataset.name}"
    silver_version = delta_io.current_version(spark, silver_uri)
    if plan.applied:
        changes = plan.winners
        tombstones_uri = catalog.tombstones_uri(dataset.name)
        sequenced = sequence_type(dataset) is not None
        if sequenced and delta_io.current_version(spark, tombstones_uri) > 0:
            changes = not_outranked(
                changes, spark.read.format("delta").load(tombstones_uri), dataset
            )
        if silver_version <= 0:  # created empty at version 0: nothing to match against
            with profile.phase(spark, "silver", dataset.name, "first write"):
                outcome = delta_io.append_idempotent(
                    _first_write(changes, dataset, plan.applied), silver_uri, app, batch_id
                )
        else:
            with (
                profile.phase(spark, "silver", dataset.name, "merge"),
                delta_io.GuardedDml(spark, silver_uri, app, batch_id) as guard,
            ):
                merge_changes(DeltaTable.forPath(spark, silver_uri), changes, dataset)
            outcome = guard.outcome
            merged = outcome.metrics.get("numSourceRows")
            if outcome.committed and merged is not None:
                # Winners a recorded delete outranked count as superseded (by that delete).
                outranked = plan.applied - int(merged)
                result.rows_applied -= outranked
                result.rows_superseded += outranked
        result.committed = outcome.committed
        if not result.committed:
            result.note = "already merged by an earlier attempt"
        if sequenced and plan.has_deletes:
            deletes = plan.winners.where(F.col(OP_COLUMN) == OP_DELETE).select(
                *dataset.key, SEQ, BATCH_ID_COLUMN
            )
            with profile.phase(spark, "silver", dataset.name, "tombstones"):
                _record_tombstones(tombstones_uri, deletes, dataset, batch_id)
    if plan.rejects is not None:
        with profile.phase(spark, "silver", dataset.name, "rejects"):
            delta_io.append_idempotent(plan.rejects, rejects_uri, f"{app}.rejects", batch_id)


def ensure_tables(spark: SparkSession, catalog: LakeCatalog, dataset: Dataset) -> None:
    delta_io.ensure_table(
        spark,
        catalog.table_uri(Layer.SILVER, dataset.name),
        silver_schema(dataset),
        delta_io.CHANGE_FEED_PROPERTIES,
    )
    delta_io.ensure_table(
        spark,
        catalog.table_uri(Layer.SILVER, catalog.rejects_table(dataset.name)),
        REJECTS_SCHEMA,
        delta_io.APPEND_ONLY_PROPERTIES,
    )
    if sequence_type(dataset) is not None:
        delta_io.ensure_table(
            spark,
            catalog.tombstones_uri(dataset.name),
            tombstone_schema(dataset),
            delta_io.APPEND_ONLY_PROPERTIES,
        )


def refresh_dataset(
    spark: SparkSession, catalog: LakeCatalog, dataset: Dataset, bronze: Ledger, done: Ledger
) -> list[BatchResult]:
    applied = set(done.batches(dataset.name))
    todo = [b for b in bronze.batches(dataset.name) if b not in applied]
    if not todo:
        log.info("silver %s: nothing new", dataset.name)
        return []
    with profile.phase(spark, "silver", dataset.name, "ensure tables"):
        ensure_tables(spark, catalog, dataset)
    bronze_version = delta_io.current_version(spark, catalog.table_uri(Layer.BRONZE, dataset.name))
    results = []
    for batch_id in todo:
        entry = bronze.entry(dataset.name, batch_id)
        result = apply_batch(
            spark,
            catalog,
            dataset,
            batch_id,
            bronze_version=bronze_version,
            rows_in=entry.rows_in if entry else None,
        )
        log.info(
            "silver %s batch %d: %d in = %d applied + %d superseded + %d rejected (version %d)",
            dataset.name,
            batch_id,
            result.rows_in,
            result.rows_applied,
            result.rows_superseded,
            result.rows_rejected,
            result.target_version,
        )
        results.append(result)
    return results


def run(
    spark: SparkSession, catalog: LakeCatalog, datasets: tuple[Dataset, ...]
) -> list[BatchResult]:
    """Every dataset's pending batches, several datasets at once, then one audit commit."""
    with profile.phase(spark, "silver", "*", "read ledgers"):
        bronze, done = audit.read_ledgers(spark, catalog, Layer.BRONZE, Layer.SILVER)
    results = parallel.for_each(
        spark,
        datasets,
        lambda session, dataset: refresh_dataset(session, catalog, dataset, bronze, done),
        name=lambda d: f"silver {d.name}",
    )
    with profile.phase(spark, "silver", "*", "audit"):
        audit.record(spark, catalog, Layer.SILVER, results)
    return results
