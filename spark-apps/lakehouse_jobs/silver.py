"""Silver: typed, validated, deduplicated tables kept current with a Delta MERGE.

For each bronze batch not yet applied, in batch order:

1. validate every row (``validation.problems``); rows with problems go to
   ``<dataset>_rejects`` with the reason, all messages and the raw record;
2. among valid rows, keep the latest change per business key (``sequence_by``: the
   change sequence or the record timestamp). If several rows share the latest sequence
   and disagree, nobody can tell which is right: the whole key is rejected as
   ``duplicate_key``. Earlier changes to a key are *superseded* (applying them in order
   would be overwritten by the latest anyway);
3. MERGE the winners: ``D`` deletes, anything else upserts, and a change never
   overwrites a newer one already in the table (out-of-order arrivals are ignored).

The MERGE, the rejects append and the audit row are each idempotent for
(dataset, batch), so a retry after a crash at any point converges on the same state.
"""

from __future__ import annotations

import logging

from delta.tables import DeltaTable
from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql.types import (
    LongType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

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
from lakehouse_jobs import audit, delta_io, validation
from lakehouse_jobs.audit import BatchResult
from lakehouse_jobs.types import spark_type

log = logging.getLogger(__name__)

_SEQ = "__seq"
_STATUS = "__status"
_PROBLEMS = "__problems"
APPLIED, SUPERSEDED, REJECTED = "applied", "superseded", "rejected"

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


def _sequence(dataset: Dataset) -> Column:
    if dataset.sequence_by is None:
        return F.lit(None).cast("bigint")
    if dataset.sequence_by == CHANGE_SEQ_COLUMN:
        return F.expr(f"try_cast(`{CHANGE_SEQ_COLUMN}` AS bigint)")
    return validation.typed(dataset.column(dataset.sequence_by))


def _typed_name(column: str) -> str:
    return f"__t_{column}"


def classify(raw: DataFrame, dataset: Dataset) -> DataFrame:
    """Each bronze row with its status (applied/superseded/rejected) and problems."""
    # Cast every column once; the checks, the key and the content hash all reuse the casts.
    typed_columns = [validation.typed(c).alias(_typed_name(c.name)) for c in dataset.columns]
    casted = raw.select("*", *typed_columns)

    def typed_of(column: CatalogColumn) -> Column:
        return F.col(_typed_name(column.name))

    with_problems = casted.withColumn(_PROBLEMS, validation.problems(dataset, typed_of)).withColumn(
        _SEQ, _sequence(dataset)
    )
    valid = F.size(_PROBLEMS) == 0
    key_window = Window.partitionBy(*[F.col(_typed_name(k)) for k in dataset.key])
    content = F.xxhash64(
        *[typed_of(c) for c in dataset.columns],
        F.coalesce(F.upper(validation.raw(OP_COLUMN)), F.lit(OP_UPSERT)),
    )
    top_content = F.when(F.col("__top"), F.col("__content"))
    ranked = (
        with_problems.withColumn("__valid", valid)
        .withColumn("__content", content)
        .withColumn("__max_seq", F.max(F.when(valid, F.col(_SEQ))).over(key_window))
        .withColumn("__top", F.col("__valid") & F.col(_SEQ).eqNullSafe(F.col("__max_seq")))
        # Rows tied for the latest change disagree iff their content hashes differ.
        .withColumn(
            "__disagree", F.min(top_content).over(key_window) != F.max(top_content).over(key_window)
        )
        .withColumn(
            "__rank",
            F.row_number().over(
                key_window.orderBy(
                    F.col("__top").desc(), F.col(_SEQ).desc_nulls_last(), F.col("__content")
                )
            ),
        )
    )
    ambiguous = F.col("__valid") & F.coalesce(F.col("__disagree"), F.lit(False))
    duplicate_problem = F.lit(
        "duplicate_key: different rows share this key and the latest sequence in one batch"
    )
    return (
        ranked.withColumn(
            _PROBLEMS,
            F.when(ambiguous, F.array(duplicate_problem)).otherwise(F.col(_PROBLEMS)),
        )
        .withColumn(
            _STATUS,
            F.when(~F.col("__valid") | ambiguous, F.lit(REJECTED))
            .when(F.col("__rank") == 1, F.lit(APPLIED))
            .otherwise(F.lit(SUPERSEDED)),
        )
        .drop("__valid", "__content", "__max_seq", "__top", "__disagree", "__rank")
    )


def typed_changes(classified: DataFrame, dataset: Dataset) -> DataFrame:
    """The winning change per key, typed, with its op (D or U) and sequence."""
    columns = [F.col(_typed_name(c.name)).alias(c.name) for c in dataset.columns]
    if stores_change_seq(dataset):
        columns.append(F.col(_SEQ).alias(CHANGE_SEQ_COLUMN))
    return classified.where(F.col(_STATUS) == APPLIED).select(
        *columns,
        F.col(BATCH_ID_COLUMN),
        F.when(F.upper(validation.raw(OP_COLUMN)) == OP_DELETE, F.lit(OP_DELETE))
        .otherwise(F.lit(OP_UPSERT))
        .alias(OP_COLUMN),
        F.col(_SEQ),
    )


def rejected_rows(classified: DataFrame, dataset: Dataset) -> DataFrame:
    raw_fields = [validation.raw(c).alias(c) for c in dataset.raw_column_names] + [
        F.col(EXTRA_COLUMNS_COLUMN),
        F.col(MISSING_COLUMNS_COLUMN),
    ]
    raw_record = F.coalesce(
        F.col(CORRUPT_RECORD_COLUMN),
        F.to_json(F.struct(*raw_fields), {"ignoreNullFields": "false"}),
    )
    return classified.where(F.col(_STATUS) == REJECTED).select(
        F.col(BATCH_ID_COLUMN),
        F.col(SOURCE_FILE_COLUMN),
        F.col(INGESTED_AT_COLUMN),
        validation.first_reason(F.col(_PROBLEMS)).alias("reason"),
        F.array_join(F.col(_PROBLEMS), "; ").alias("detail"),
        raw_record.alias("raw_record"),
    )


def _newer_condition(dataset: Dataset) -> str:
    """A change applies only if it is at least as new as the row it would replace."""
    if dataset.sequence_by is None:
        return "true"
    target = CHANGE_SEQ_COLUMN if stores_change_seq(dataset) else dataset.sequence_by
    return f"(t.`{target}` IS NULL OR s.{_SEQ} >= t.`{target}`)"


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


def _is_empty(spark: SparkSession, uri: str) -> bool:
    return spark.read.format("delta").load(uri).limit(1).count() == 0


def apply_batch(
    spark: SparkSession, catalog: LakeCatalog, dataset: Dataset, batch_id: int
) -> BatchResult:
    bronze_uri = catalog.table_uri(Layer.BRONZE, dataset.name)
    silver_uri = catalog.table_uri(Layer.SILVER, dataset.name)
    rejects_uri = catalog.table_uri(Layer.SILVER, catalog.rejects_table(dataset.name))
    result = BatchResult(Layer.SILVER.value, dataset.name, batch_id)
    if not delta_io.table_exists(spark, bronze_uri):  # every batch so far was empty
        result.committed = False
        result.note = "empty batch"
        return result
    # Read bronze at one version, so every pass below sees the same rows. The passes
    # recompute the classification rather than cache it: caching the wide rows cost more
    # than classifying twice (three times when there are rejects), and it is deterministic.
    bronze_version = delta_io.current_version(spark, bronze_uri)
    raw = (
        spark.read.format("delta")
        .option("versionAsOf", bronze_version)
        .load(bronze_uri)
        .where(F.col(BATCH_ID_COLUMN) == batch_id)
    )
    classified = classify(raw, dataset)
    counts = {
        r[_STATUS]: int(r["n"])
        for r in classified.groupBy(_STATUS).agg(F.count("*").alias("n")).collect()
    }
    result.rows_applied = counts.get(APPLIED, 0)
    result.rows_superseded = counts.get(SUPERSEDED, 0)
    result.rows_rejected = counts.get(REJECTED, 0)
    result.rows_in = sum(counts.values())
    result.source_versions = {f"bronze.{dataset.name}": bronze_version}
    app = f"lakehouse.silver.{dataset.name}"
    if result.rows_applied:
        changes = typed_changes(classified, dataset)
        if _is_empty(spark, silver_uri):
            # Nothing to match against (the first batch): an append of the upserts is
            # what the MERGE would do, without joining the batch to an empty table.
            columns = [f.name for f in silver_schema(dataset).fields]
            inserts = changes.where(F.col(OP_COLUMN) != OP_DELETE).select(*columns)
            outcome = delta_io.append_idempotent(inserts, silver_uri, app, batch_id)
        else:
            target = DeltaTable.forPath(spark, silver_uri)
            with delta_io.GuardedDml(spark, silver_uri, app, batch_id) as guard:
                merge_changes(target, changes, dataset)
            outcome = guard.outcome
        result.committed = outcome.committed
        if not result.committed:
            result.note = "already merged by an earlier attempt"
    if result.rows_rejected:
        delta_io.append_idempotent(
            rejected_rows(classified, dataset), rejects_uri, f"{app}.rejects", batch_id
        )
    result.target_version = delta_io.current_version(spark, silver_uri)
    return result


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


def refresh_dataset(
    spark: SparkSession, catalog: LakeCatalog, dataset: Dataset
) -> list[BatchResult]:
    ingested = audit.processed_batches(spark, catalog, Layer.BRONZE, dataset.name)
    applied = set(audit.processed_batches(spark, catalog, Layer.SILVER, dataset.name))
    todo = [b for b in ingested if b not in applied]
    if not todo:
        log.info("silver %s: nothing new", dataset.name)
        return []
    ensure_tables(spark, catalog, dataset)
    results = []
    for batch_id in todo:
        result = apply_batch(spark, catalog, dataset, batch_id)
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
    audit.record(spark, catalog, results)
    return results


def run(
    spark: SparkSession, catalog: LakeCatalog, datasets: tuple[Dataset, ...]
) -> list[BatchResult]:
    results: list[BatchResult] = []
    for dataset in datasets:
        results += refresh_dataset(spark, catalog, dataset)
    return results
