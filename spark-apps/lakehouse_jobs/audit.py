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
from functools import reduce

from pyspark.sql import DataFrame, SparkSession
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


@dataclass
class Ledger:
    """One layer's audit rows, read once per run: which batches each table has processed.

    A batch recorded twice (possible after a crash between the audit commit and the next
    run's) counts once: the latest row wins.
    """

    layer: Layer
    entries: dict[str, dict[int, BatchResult]] = field(default_factory=dict)

    def batches(self, table: str) -> list[int]:
        return sorted(self.entries.get(table, {}))

    def entry(self, table: str, batch_id: int) -> BatchResult | None:
        return self.entries.get(table, {}).get(batch_id)

    def last(self, table: str) -> BatchResult | None:
        batches = self.batches(table)
        return self.entries[table][batches[-1]] if batches else None


def read_ledgers(spark: SparkSession, catalog: LakeCatalog, *layers: Layer) -> list[Ledger]:
    """The ledgers of several layers in one query (each query costs a Spark job)."""
    ledgers = {layer: Ledger(layer) for layer in layers}
    frames = [
        spark.read.format("delta")
        .load(audit_uri(catalog, layer))
        .where(F.col("layer") == layer.value)
        for layer in layers
        if delta_io.table_exists(spark, audit_uri(catalog, layer))
    ]
    if frames:
        for row in reduce(DataFrame.unionByName, frames).collect():
            data = row.asDict()
            data["source_versions"] = json.loads(data["source_versions"] or "{}")
            result = BatchResult(**data)
            entries = ledgers[Layer(result.layer)].entries
            entries.setdefault(result.table_name, {})[result.batch_id] = result
    return [ledgers[layer] for layer in layers]


def read_ledger(spark: SparkSession, catalog: LakeCatalog, layer: Layer) -> Ledger:
    return read_ledgers(spark, catalog, layer)[0]


def processed_batches(
    spark: SparkSession, catalog: LakeCatalog, layer: Layer, table: str
) -> list[int]:
    return read_ledger(spark, catalog, layer).batches(table)


def record(
    spark: SparkSession, catalog: LakeCatalog, layer: Layer, results: list[BatchResult]
) -> None:
    """Append the audit rows of one layer run, for every table, in one commit.

    Written after the tables' own commits (not per batch): one commit instead of one per
    batch and table. A crash before it is safe, because every batch's own write is guarded
    by its txn id: the next run redoes nothing, recounts, and writes the missing rows.
    """
    if not results:
        return
    others = {r.layer for r in results} - {layer.value}
    if others:
        raise ValueError(f"the {layer.value} audit records only its own layer, got {others}")
    ensure_audit_table(spark, catalog, layer)
    rows = []
    for result in results:
        data = asdict(result)
        data.pop("committed")
        data["source_versions"] = json.dumps(result.source_versions, sort_keys=True)
        rows.append(data)
    spark.createDataFrame(rows, AUDIT_SCHEMA).coalesce(1).write.format("delta").mode("append").save(
        audit_uri(catalog, layer)
    )
