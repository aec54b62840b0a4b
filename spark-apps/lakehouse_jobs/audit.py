"""The batch audit tables: which batch each layer has processed, with counts that reconcile.

One row per (layer, table, batch). Bronze and silver use it to find pending batches; gold
stores the source table versions it consumed. The row is written after the table's own
commit; both writes are idempotent, so a crash between them heals on the next run.

Silver's counts satisfy ``rows_in == rows_applied + rows_superseded + rows_rejected``:
every bronze row is applied, superseded by a later change to the same key in the same
batch (its effect is overwritten, so it is applied in order), or rejected with a reason.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import LongType, StringType, StructField, StructType

from lakehouse_core.catalog import LakeCatalog, Layer
from lakehouse_jobs import delta_io

AUDIT_SCHEMA = StructType(
    [
        StructField("layer", StringType(), False),
        StructField("table_name", StringType(), False),
        StructField("batch_id", LongType(), False),
        StructField("rows_in", LongType(), False),
        StructField("rows_applied", LongType(), False),
        StructField("rows_superseded", LongType(), False),
        StructField("rows_rejected", LongType(), False),
        StructField("files", LongType(), False),
        StructField("source_versions", StringType(), True),
        StructField("target_version", LongType(), False),
        StructField("note", StringType(), True),
    ]
)


@dataclass
class BatchResult:
    """What one layer did with one batch (or, for gold, one refresh)."""

    layer: str
    table_name: str
    batch_id: int
    rows_in: int = 0
    rows_applied: int = 0
    rows_superseded: int = 0
    rows_rejected: int = 0
    files: int = 0
    source_versions: dict[str, int] = field(default_factory=dict)
    target_version: int = -1
    note: str = ""
    committed: bool = True


def audit_uri(catalog: LakeCatalog, layer: Layer) -> str:
    return catalog.system_table_uri(catalog.audit_table(layer))


def ensure_audit_table(spark: SparkSession, catalog: LakeCatalog, layer: Layer) -> None:
    uri = audit_uri(catalog, layer)
    delta_io.ensure_table(spark, uri, AUDIT_SCHEMA, delta_io.APPEND_ONLY_PROPERTIES)


def processed_batches(
    spark: SparkSession, catalog: LakeCatalog, layer: Layer, table: str
) -> list[int]:
    uri = audit_uri(catalog, layer)
    if not delta_io.table_exists(spark, uri):
        return []
    rows = (
        spark.read.format("delta")
        .load(uri)
        .where((F.col("layer") == layer.value) & (F.col("table_name") == table))
        .select("batch_id")
        .distinct()
        .collect()
    )
    return sorted(int(r[0]) for r in rows)


def last_entry(
    spark: SparkSession, catalog: LakeCatalog, layer: Layer, table: str
) -> BatchResult | None:
    uri = audit_uri(catalog, layer)
    if not delta_io.table_exists(spark, uri):
        return None
    row = (
        spark.read.format("delta")
        .load(uri)
        .where((F.col("layer") == layer.value) & (F.col("table_name") == table))
        .orderBy(F.col("batch_id").desc())
        .first()
    )
    if row is None:
        return None
    data = row.asDict()
    data["source_versions"] = json.loads(data["source_versions"] or "{}")
    return BatchResult(**data)


def record(spark: SparkSession, catalog: LakeCatalog, results: list[BatchResult]) -> None:
    """Append the audit rows of one layer run over one table, in one idempotent commit.

    Writing them after the loop (not per batch) costs one commit instead of many; a crash
    in the loop is still safe, because every batch's own write is guarded by its txn id:
    the next run redoes nothing, recounts, and writes the missing rows.
    """
    if not results:
        return
    tables = {(r.layer, r.table_name) for r in results}
    if len(tables) != 1:
        raise ValueError(f"one audit commit covers one table, got {sorted(tables)}")
    layer, table = tables.pop()
    ensure_audit_table(spark, catalog, Layer(layer))
    rows = []
    for result in results:
        data = asdict(result)
        data.pop("committed")
        data["source_versions"] = json.dumps(result.source_versions, sort_keys=True)
        rows.append(data)
    delta_io.append_idempotent(
        spark.createDataFrame(rows, AUDIT_SCHEMA),
        audit_uri(catalog, Layer(layer)),
        app_id=f"lakehouse.audit.{layer}.{table}",
        version=max(r.batch_id for r in results),
    )
