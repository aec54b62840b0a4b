"""Refreshing gold: each table of the registry, only when the silver tables it reads changed.

Each gold table records (in the audit table) the silver versions it was built from, and
reads silver *at* those versions, so a refresh sees one consistent snapshot. Its commit is
idempotent with ``txnVersion`` = the sum of its sources' versions, which grows with every
source change; a re-run with unchanged sources writes nothing.

How a table refreshes follows from what it computes (see the registry): an additive table
adds the signed sums of silver's change feed to its stored values; a ``GroupRecompute``
table recomputes the groups the change feed touches and MERGEs them, unless more than half
of its groups are touched or a dimension changed, when a rewrite is cheaper; the rest are
rewritten, atomically, in one commit. If the change feed it needs is gone (VACUUM removed
its files), the table is rewritten instead: slower, never wrong. Before any of this, a
table whose sources are small is simply rewritten (``cheaper_to_rewrite``): below a few
hundred MiB of silver for a table that recomputes groups, 128 MiB for an additive one,
the change feed's jobs and MERGE cost more than reading all of it.
"""

from __future__ import annotations

import logging

from delta.tables import DeltaTable
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from lakehouse_core.catalog import LakeCatalog, Layer
from lakehouse_core.errors import LakehouseError
from lakehouse_jobs import audit, delta_io, parallel, profile
from lakehouse_jobs.audit import BatchResult, Ledger
from lakehouse_jobs.gold.registry import GoldTable, GroupRecompute, ReadTable, SignedDelta

log = logging.getLogger(__name__)

# Above this share of touched groups a full rewrite beats a MERGE.
INCREMENTAL_MAX_SHARE = 0.5
# Below this many bytes of silver (summed over a gold table's sources at the versions it
# reads) a rewrite from silver costs less than a refresh from the change feed, whatever
# changed. Spark settings, so a cluster whose executors scan faster can move them; 0
# always refreshes. A table that recomputes the groups it touches reads its sources again
# for those groups and MERGEs them: at TPC-H SF 1 (its four sources hold 274 MB; two
# cores) that took 12.0 s against a rewrite's 8.4 s. An additive table only sums the
# change feed: about 2 s whatever the size (1.9 and 2.4 s at SF 1), less than rewriting
# pricing_summary from SF 1's lineitem (4.8 s) and more than order_status_summary from
# its orders (55 MB, 0.8 s). Measured one table at a time (docs/benchmarks.md).
REWRITE_BELOW_BYTES_CONF = "spark.lakehouse.gold.rewriteBelowBytes"
DEFAULT_REWRITE_BELOW_BYTES = 512 * 2**20
ADDITIVE_REWRITE_BELOW_BYTES_CONF = "spark.lakehouse.gold.additiveRewriteBelowBytes"
DEFAULT_ADDITIVE_REWRITE_BELOW_BYTES = 128 * 2**20
REWRITTEN_SMALL = "rewritten (small sources: cheaper than the change feed)"
NEW_ROWS = ("insert", "update_postimage")
OLD_ROWS = ("delete", "update_preimage")
# What Delta says when the change feed asked for is no longer there (VACUUM removed it).
FEED_GONE_MARKERS = (
    "FileNotFoundException",
    "DELTA_CHANGE_DATA_FILE_NOT_FOUND",
    "DELTA_FILE_NOT_FOUND",
    "DELTA_MISSING_CHANGE_DATA",
    "DELTA_VERSIONS_NOT_CONTIGUOUS",
    "DELTA_VERSION_NOT_FOUND",
)


class SourceRewoundError(LakehouseError):
    """A silver table is older than what a gold table was built from (it was recreated)."""


class FeedGone(Exception):
    """The change feed a refresh needs was removed; the table is rewritten instead."""


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


def _null_safe_on(key: tuple[str, ...]) -> str:
    return " AND ".join(f"t.`{k}` <=> s.`{k}`" for k in key)


def _merge_groups(
    spark: SparkSession, uri: str, key: tuple[str, ...], groups: DataFrame, rebuilt: DataFrame
) -> None:
    """Replace exactly the touched groups: update, insert, or delete the ones now empty."""
    marker = "__present"
    present = rebuilt.withColumn(marker, F.lit(True)).alias("r")
    on = [F.col(f"g.`{k}`").eqNullSafe(F.col(f"r.`{k}`")) for k in key]
    source = (
        groups.alias("g")
        .join(present, on, "left")
        .select(
            *[F.col(f"g.`{k}`").alias(k) for k in key],
            *[F.col(f"r.`{c}`").alias(c) for c in rebuilt.columns if c not in key],
            F.col(f"r.{marker}").alias(marker),
        )
    )
    values: dict[str, str | Column] = {f"`{c}`": f"s.`{c}`" for c in rebuilt.columns}
    (
        DeltaTable.forPath(spark, uri)
        .alias("t")
        .merge(source.alias("s"), _null_safe_on(key))
        .whenMatchedDelete(condition=f"s.{marker} IS NULL")
        .whenMatchedUpdate(condition=f"s.{marker}", set=values)
        .whenNotMatchedInsert(condition=f"s.{marker}", values=values)
        .execute()
    )


def _signed_sums(strategy: SignedDelta, key: tuple[str, ...], changes: DataFrame) -> DataFrame:
    """What the changes add to each group: new rows' contributions minus old rows'."""
    added = strategy.contributions(changes.where(F.col("_change_type").isin(*NEW_ROWS)))
    removed = strategy.contributions(changes.where(F.col("_change_type").isin(*OLD_ROWS)))
    negated = removed.select(*key, *[(-F.col(m)).alias(m) for m in strategy.measures])
    return (
        added.select(*key, *strategy.measures)
        .unionByName(negated)
        .groupBy(*key)
        .agg(*[F.sum(m).alias(m) for m in strategy.measures])
    )


def _add_changes(
    spark: SparkSession, uri: str, gold: GoldTable, strategy: SignedDelta, sums: DataFrame
) -> None:
    target = DeltaTable.forPath(spark, uri)
    types = {f.name: f.dataType.simpleString() for f in target.toDF().schema.fields}
    count = strategy.count

    def stored_plus_change(m: str) -> Column:
        return F.expr(f"t.`{m}` + s.`{m}`").cast(types[m])

    def change(m: str) -> Column:
        return F.col(f"s.`{m}`").cast(types[m])

    updated = {f"`{m}`": stored_plus_change(m) for m in strategy.measures}
    updated |= {f"`{n}`": c for n, c in strategy.derived(stored_plus_change).items()}
    inserted = {f"`{k}`": F.col(f"s.`{k}`") for k in gold.key}
    inserted |= {f"`{m}`": change(m) for m in strategy.measures}
    inserted |= {f"`{n}`": c for n, c in strategy.derived(change).items()}
    (
        target.alias("t")
        .merge(sums.alias("s"), _null_safe_on(gold.key))
        .whenMatchedDelete(condition=f"t.`{count}` + s.`{count}` <= 0")
        .whenMatchedUpdate(set=updated)  # type: ignore[arg-type]
        .whenNotMatchedInsert(condition=f"s.`{count}` > 0", values=inserted)  # type: ignore[arg-type]
        .execute()
    )


def _incremental(
    spark: SparkSession,
    *,
    catalog: LakeCatalog,
    gold: GoldTable,
    read: ReadTable,
    current: dict[str, int],
    last: BatchResult,
    guard: delta_io.GuardedDml,
) -> str | None:
    """Refresh from the change feed; the note to record, or None when a rewrite is better."""
    uri = catalog.table_uri(Layer.GOLD, gold.name)
    start = {s: last.source_versions.get(s, -1) + 1 for s in gold.sources}
    strategy = gold.incremental
    if isinstance(strategy, SignedDelta):
        source = strategy.source
        sums = _signed_sums(
            strategy, gold.key, _changes(spark, catalog, source, start[source], current[source])
        )
        with profile.phase(spark, "gold", gold.name, "add the change feed's sums"), guard:
            _add_changes(spark, uri, gold, strategy, sums)
        return "added the change feed's signed sums"
    assert isinstance(strategy, GroupRecompute)
    if any(current[s] >= start[s] for s in strategy.rebuild_on):
        return None
    changes = {
        s: _changes(spark, catalog, s, start[s], current[s])
        if current[s] >= start[s]
        else read(s).limit(0)
        for s in gold.sources
    }
    groups = strategy.touched(read, changes).cache()
    try:
        with profile.phase(spark, "gold", gold.name, "touched groups"):
            touched = groups.count()
            existing = spark.read.format("delta").load(uri).count()
        if touched > INCREMENTAL_MAX_SHARE * max(existing, 1):
            return None
        rebuilt = gold.build(read, groups)
        with profile.phase(spark, "gold", gold.name, "merge touched groups"), guard:
            _merge_groups(spark, uri, gold.key, groups, rebuilt)
    finally:
        groups.unpersist()
    return f"recomputed {touched} touched group(s)"


def table_bytes(spark: SparkSession, uri: str) -> int:
    """The size of a Delta table's current files, from its log (no data is read)."""
    detail = DeltaTable.forPath(spark, uri).detail().select("sizeInBytes").first()
    return int(detail[0]) if detail is not None and detail[0] is not None else 0


def cheaper_to_rewrite(
    spark: SparkSession, catalog: LakeCatalog, gold: GoldTable
) -> tuple[bool, int]:
    """Whether rewriting ``gold`` from silver costs less than a refresh from the change
    feed, judged before either runs; and the bytes its sources hold."""
    conf, default = (
        (ADDITIVE_REWRITE_BELOW_BYTES_CONF, DEFAULT_ADDITIVE_REWRITE_BELOW_BYTES)
        if gold.refresh == "additive"
        else (REWRITE_BELOW_BYTES_CONF, DEFAULT_REWRITE_BELOW_BYTES)
    )
    limit = int(spark.conf.get(conf, None) or default)
    if limit <= 0:
        return False, -1
    size = sum(table_bytes(spark, catalog.table_uri(Layer.SILVER, s)) for s in gold.sources)
    return size < limit, size


def _small(spark: SparkSession, catalog: LakeCatalog, gold: GoldTable) -> bool:
    with profile.phase(spark, "gold", gold.name, "estimate"):
        small, size = cheaper_to_rewrite(spark, catalog, gold)
    if small:
        log.info("gold %s: its sources hold %d bytes; rewriting is cheaper", gold.name, size)
    return small


def _feed_gone(err: Exception) -> bool:
    text = f"{type(err).__name__}: {err}"
    return any(marker in text for marker in FEED_GONE_MARKERS)


def refresh_table(
    spark: SparkSession,
    catalog: LakeCatalog,
    gold: GoldTable,
    ledger: Ledger,
    *,
    rewrite: bool = False,
) -> list[BatchResult]:
    """Bring one gold table up to its sources' versions: incrementally where it can, else
    rewritten. ``rewrite``: rebuild it whole now (a source was restored to an older state,
    which no change feed can carry)."""
    with profile.phase(spark, "gold", gold.name, "source versions"):
        current = {
            s: delta_io.current_version(spark, catalog.table_uri(Layer.SILVER, s))
            for s in gold.sources
        }
    missing = [s for s, v in current.items() if v < 0]
    if missing:
        log.info("gold %s: waiting for silver %s", gold.name, ", ".join(missing))
        return []
    last = ledger.last(gold.name)
    if last is not None and last.source_versions == current and not rewrite:
        log.info("gold %s: up to date with silver %s", gold.name, current)
        return []
    if last is not None and not rewrite:
        rewound = [s for s in gold.sources if current[s] < last.source_versions.get(s, -1)]
        if rewound:
            raise SourceRewoundError(
                f"gold {gold.name} was built from newer versions of silver {rewound} than "
                "exist now (were they recreated?)",
                hint=f"delete the gold table {catalog.table_uri(Layer.GOLD, gold.name)} and "
                "its rows in the gold audit table to rebuild it",
            )
    read = _reader(spark, catalog, current)
    uri = catalog.table_uri(Layer.GOLD, gold.name)
    run_version = sum(current.values())
    app = f"lakehouse.gold.{gold.name}"
    result = BatchResult(Layer.GOLD.value, gold.name, run_version, source_versions=current)
    note: str | None = None
    outcome: delta_io.WriteOutcome | None = None
    counted: tuple[str, ...] = ()
    incremental = last is not None and gold.incremental is not None and not rewrite
    small = incremental and _small(spark, catalog, gold)
    incremental = incremental and not small
    if incremental and last is not None and delta_io.table_exists(spark, uri):
        guard = delta_io.GuardedDml(spark, uri, app, run_version)
        try:
            note = _incremental(
                spark,
                catalog=catalog,
                gold=gold,
                read=read,
                current=current,
                last=last,
                guard=guard,
            )
        except Exception as err:
            if not _feed_gone(err):
                raise
            log.warning(
                "gold %s: the change feed since %s is gone (%s); rewriting instead",
                gold.name,
                last.source_versions,
                str(err).splitlines()[0][:200],
            )
            note = None
        if note is not None:
            outcome = guard.outcome
            counted = ("numTargetRowsInserted", "numTargetRowsUpdated", "numTargetRowsDeleted")
    if outcome is None:
        table = gold.build(read)
        with profile.phase(spark, "gold", gold.name, "rewrite"):
            delta_io.ensure_table(spark, uri, table.schema, delta_io.BASE_PROPERTIES)
            outcome = delta_io.overwrite_idempotent(table, uri, app, run_version)
        note = REWRITTEN_SMALL if small else "rewritten"
        counted = ("numOutputRows",)
    result.note = note or ""
    result.committed = outcome.committed
    result.target_version = outcome.version
    result.rows_applied = sum(int(outcome.metrics.get(k, 0)) for k in counted)
    log.info(
        "gold %s: %s from silver %s (version %d)",
        gold.name,
        result.note,
        current,
        result.target_version,
    )
    return [result]


def run(
    spark: SparkSession, catalog: LakeCatalog, tables: tuple[GoldTable, ...]
) -> list[BatchResult]:
    """Every gold table whose sources changed, several at once, then one audit commit."""
    with profile.phase(spark, "gold", "*", "read ledger"):
        ledger = audit.read_ledger(spark, catalog, Layer.GOLD)
    results = parallel.for_each(
        spark,
        tables,
        lambda session, gold: refresh_table(session, catalog, gold, ledger),
        name=lambda g: f"gold {g.name}",
    )
    with profile.phase(spark, "gold", "*", "audit"):
        audit.record(spark, catalog, Layer.GOLD, results)
    return results
