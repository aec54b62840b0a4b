"""Refreshing gold: each table of the registry, only when the silver tables it reads changed.

Each gold table records (in the audit table) the silver versions it was built from, and
reads silver *at* those versions, so a refresh sees one consistent snapshot. Its commit is
idempotent with ``txnVersion`` = the sum of its sources' versions, which grows with every
source change; a re-run with unchanged sources writes nothing.

``revenue_by_nation_month`` is incremental: silver's change data feed names the orders and
line items that changed; only the (nation, month) groups they touch are recomputed and
MERGEd, which pays when changes cluster in recent months as real order changes do. When
more than half of the groups are touched, or a dimension (customer, nation) changed, it is
cheaper and simpler to rewrite the table, atomically, in one commit. Tables declared
without an incremental strategy are always rewritten that way.
"""

from __future__ import annotations

import logging

from delta.tables import DeltaTable
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from lakehouse_core.catalog import LakeCatalog, Layer
from lakehouse_core.errors import LakehouseError
from lakehouse_jobs import audit, delta_io
from lakehouse_jobs.audit import BatchResult
from lakehouse_jobs.gold.registry import GoldTable, GroupRecompute, ReadTable

log = logging.getLogger(__name__)

# Above this share of touched groups a full rewrite beats a MERGE.
INCREMENTAL_MAX_SHARE = 0.5


class SourceRewoundError(LakehouseError):
    """A silver table is older than what a gold table was built from (it was recreated)."""


# --- refreshing ----------------------------------------------------------------------------


def _reader(spark: SparkSession, catalog: LakeCatalog, versions: dict[str, int]) -> ReadTable:
    def read(name: str) -> DataFrame:
        return (
            spark.read.format("delta")
            .option("versionAsOf", versions[name])
            .load(catalog.table_uri(Layer.SILVER, name))
        )

    return read


def _changes(
    spark: SparkSession, catalog: LakeCatalog, name: str, start: int, end: int
) -> DataFrame:
    return (
        spark.read.format("delta")
        .option("readChangeFeed", "true")
        .option("startingVersion", start)
        .option("endingVersion", end)
        .load(catalog.table_uri(Layer.SILVER, name))
    )


def _merge_groups(
    spark: SparkSession, uri: str, key: tuple[str, ...], groups: DataFrame, rebuilt: DataFrame
) -> None:
    """Replace exactly the touched groups: update, insert, or delete the ones now empty."""
    marker = "__present"
    source = groups.join(rebuilt.withColumn(marker, F.lit(True)), list(key), "left")
    on = " AND ".join(f"t.`{k}` = s.`{k}`" for k in key)
    values: dict[str, str | Column] = {f"`{c}`": f"s.`{c}`" for c in rebuilt.columns}
    (
        DeltaTable.forPath(spark, uri)
        .alias("t")
        .merge(source.alias("s"), on)
        .whenMatchedDelete(condition=f"s.{marker} IS NULL")
        .whenMatchedUpdate(condition=f"s.{marker}", set=values)
        .whenNotMatchedInsert(condition=f"s.{marker}", values=values)
        .execute()
    )


def refresh_table(spark: SparkSession, catalog: LakeCatalog, gold: GoldTable) -> BatchResult | None:
    missing = [
        s
        for s in gold.sources
        if not delta_io.table_exists(spark, catalog.table_uri(Layer.SILVER, s))
    ]
    if missing:
        log.info("gold %s: waiting for silver %s", gold.name, ", ".join(missing))
        return None
    current = {
        s: delta_io.current_version(spark, catalog.table_uri(Layer.SILVER, s)) for s in gold.sources
    }
    last = audit.last_entry(spark, catalog, Layer.GOLD, gold.name)
    if last is not None and last.source_versions == current:
        log.info("gold %s: up to date with silver %s", gold.name, current)
        return None
    if last is not None:
        rewound = [s for s in gold.sources if current[s] < last.source_versions.get(s, -1)]
        if rewound:
            raise SourceRewoundError(
                f"gold {gold.name} was built from newer versions of silver {rewound} than "
                "exist now (were they recreated?). Delete the gold table "
                f"{catalog.table_uri(Layer.GOLD, gold.name)} and its audit rows to rebuild it."
            )
    read = _reader(spark, catalog, current)
    uri = catalog.table_uri(Layer.GOLD, gold.name)
    run_version = sum(current.values())
    app = f"lakehouse.gold.{gold.name}"
    result = BatchResult(Layer.GOLD.value, gold.name, run_version, source_versions=current)
    groups = _touched_groups(
        spark, catalog=catalog, gold=gold, read=read, current=current, last=last
    )
    if groups is not None:
        rebuilt = gold.build(read, groups)
        with delta_io.GuardedDml(spark, uri, app, run_version) as guard:
            _merge_groups(spark, uri, gold.key, groups, rebuilt)
        groups.unpersist()
        outcome = guard.outcome
        result.note = "merged touched groups"
        counted: tuple[str, ...] = (
            "numTargetRowsInserted",
            "numTargetRowsUpdated",
            "numTargetRowsDeleted",
        )
    else:
        table = gold.build(read)
        delta_io.ensure_table(spark, uri, table.schema, delta_io.BASE_PROPERTIES)
        outcome = delta_io.overwrite_idempotent(table, uri, app, run_version)
        result.note = "rewritten"
        counted = ("numOutputRows",)
    result.committed = outcome.committed
    result.target_version = outcome.version
    result.rows_applied = sum(int(outcome.metrics.get(k, 0)) for k in counted)
    audit.record(spark, catalog, [result])
    log.info(
        "gold %s: %s from silver %s (version %d)",
        gold.name,
        result.note,
        current,
        result.target_version,
    )
    return result


def _touched_groups(
    spark: SparkSession,
    *,
    catalog: LakeCatalog,
    gold: GoldTable,
    read: ReadTable,
    current: dict[str, int],
    last: BatchResult | None,
) -> DataFrame | None:
    """The groups to MERGE, or None when the table should be rewritten instead."""
    uri = catalog.table_uri(Layer.GOLD, gold.name)
    strategy = gold.incremental
    if not isinstance(strategy, GroupRecompute) or last is None:
        return None
    if not delta_io.table_exists(spark, uri):
        return None
    start = {s: last.source_versions.get(s, -1) + 1 for s in gold.sources}
    if any(current[s] >= start[s] for s in strategy.rebuild_on):
        return None
    changes = {
        s: _changes(spark, catalog, s, start[s], current[s])
        if current[s] >= start[s]
        else read(s).limit(0)
        for s in gold.sources
    }
    groups = strategy.touched(read, changes).cache()
    touched = groups.count()
    existing = spark.read.format("delta").load(uri).count()
    if touched > INCREMENTAL_MAX_SHARE * max(existing, 1):
        groups.unpersist()
        return None
    return groups


def run(
    spark: SparkSession, catalog: LakeCatalog, tables: tuple[GoldTable, ...]
) -> list[BatchResult]:
    results = []
    for gold in tables:
        result = refresh_table(spark, catalog, gold)
        if result is not None:
            results.append(result)
    return results
