"""Putting one table back to an earlier version (Delta's RESTORE), with its consequences.

RESTORE commits a new version whose content is the old one's; time travel to every version
in between stays possible. The table's layer ledger records the restore (a row whose
``batch_id`` is minus the new version, so no batch counts as processed or unprocessed
because of it, and whose note says from and to which version). Gold tables built from a
restored silver table are rewritten from it at once: their change feeds cannot express a
jump back in time. Batches the ledger holds as processed stay processed: a restore undoes
what they did, on purpose.
"""

from __future__ import annotations

import logging

from pyspark.sql import SparkSession

from lakehouse_core.catalog import LakeCatalog, Layer
from lakehouse_core.errors import LakehouseError
from lakehouse_jobs import audit, delta_io
from lakehouse_jobs.audit import BatchResult

log = logging.getLogger(__name__)


class RestoreError(LakehouseError):
    """The table, or the version or time asked for, does not exist."""


def parse_table(name: str, catalog: LakeCatalog) -> tuple[Layer, str]:
    layer_name, _, table = name.partition(".")
    try:
        layer = Layer(layer_name)
    except ValueError:
        raise RestoreError(
            f"{name!r} names no layer",
            hint="name a table as <layer>.<table>, e.g. silver.orders",
        ) from None
    known = {t for lay, t in catalog.dataset_tables() if lay is layer}
    if layer is Layer.GOLD:
        from lakehouse_core.gold import GOLD_NAMES

        known = set(GOLD_NAMES)
    if table not in known:
        raise RestoreError(
            f"there is no table {name} in the catalog",
            hint=f"{layer.value} tables: {', '.join(sorted(known))}",
        )
    return layer, table


def restore_table(
    spark: SparkSession,
    catalog: LakeCatalog,
    name: str,
    *,
    version: int | None = None,
    timestamp: str | None = None,
) -> list[BatchResult]:
    """RESTORE ``name`` (``layer.table``) to ``version`` or ``timestamp``; rewrite the gold
    tables that read it. Returns the ledger rows written."""
    if (version is None) == (timestamp is None):
        raise RestoreError("give a version or a timestamp to restore to, one of them")
    layer, table = parse_table(name, catalog)
    uri = catalog.table_uri(layer, table)
    before = delta_io.current_version(spark, uri)
    if before < 0:
        raise RestoreError(f"the table {name} does not exist yet", hint="run the pipeline first")
    if version is not None and not 0 <= version < before:
        raise RestoreError(
            f"{name} has versions 0 to {before}; {version} is not an earlier one",
            hint=f"`lakehouse table history {name}` lists them",
        )
    target = f"VERSION AS OF {version}" if version is not None else f"TIMESTAMP AS OF '{timestamp}'"
    try:
        spark.sql(f"RESTORE TABLE delta.`{uri}` TO {target}")
    except Exception as err:  # Delta's own message says what was wrong with the version/time
        first = str(err).splitlines()[0][:300]
        raise RestoreError(
            f"Delta refused to restore {name} to {target.lower()}: {first}",
            hint=f"`lakehouse table history {name}` lists the versions and their times",
        ) from None
    after = delta_io.current_version(spark, uri)
    note = f"restored to {target.lower()} (was version {before})"
    row = BatchResult(layer.value, table, -after, target_version=after, note=note)
    audit.record(spark, catalog, layer, [row])
    log.info("%s: %s, now version %d", name, note, after)
    results = [row]
    if layer is Layer.SILVER:
        results += _rewrite_gold_reading(spark, catalog, table)
    return results


def _rewrite_gold_reading(
    spark: SparkSession, catalog: LakeCatalog, table: str
) -> list[BatchResult]:
    from lakehouse_jobs.gold import GOLD, refresh

    dependents = [gold for gold in GOLD if table in gold.sources]
    if not dependents:
        return []
    ledger = audit.read_ledger(spark, catalog, Layer.GOLD)
    results = [
        r
        for gold in dependents
        for r in refresh.refresh_table(spark, catalog, gold, ledger, rewrite=True)
    ]
    audit.record(spark, catalog, Layer.GOLD, results)
    return results
