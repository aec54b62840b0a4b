"""How far a lake is from what its landing files say it should be: rows lost, rows
duplicated, and what else is wrong (a batch never audited or audited twice, counts that do
not reconcile), against the DuckDB oracle of the same landing files.

The fault suite judges every recovery with it; tests/integration/test_divergence.py plants
each kind of damage in a real lake and sees it counted, so a clean verdict means something.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from lakehouse.s3 import ObjectStore, S3Endpoint
from lakehouse_core.catalog import BATCH_ID_COLUMN, CATALOG, LakeCatalog, Layer
from lakehouse_core.gold import GOLD_TABLES

from .oracle import Oracle, normalise, read_delta_rows


def landing_rows_per_batch(oracle: Oracle, dataset: str) -> dict[int, int]:
    files = oracle.files(dataset)
    ds = CATALOG.dataset(dataset)
    out = oracle.con.execute(
        f"SELECT regexp_extract(filename, 'batch=([0-9]+)', 1)::BIGINT AS b, count(*) "
        f"FROM ({oracle._raw_sql(ds, files)}) GROUP BY 1"
    ).fetchall()
    return {int(b): int(n) for b, n in out}


def _by_key(
    rows: list[dict[str, Any]], key: tuple[str, ...], columns: list[str]
) -> dict[tuple[Any, ...], list[tuple[Any, ...]]]:
    """Rows grouped by key, values normalised as the oracle compares them."""
    out: dict[tuple[Any, ...], list[tuple[Any, ...]]] = {}
    for r in rows:
        out.setdefault(tuple(r[c] for c in key), []).append(tuple(normalise(r[c]) for c in columns))
    return out


def divergence(
    endpoint: S3Endpoint, catalog: LakeCatalog, workdir: Path
) -> tuple[int, int, dict[str, Any]]:
    """(rows lost, rows duplicated, details) of the lake against the oracle of its landing.

    A row whose value differs from the oracle's counts as lost (the right row is missing);
    a second row for a key, or a key the oracle does not have, as duplicated.
    """
    store = ObjectStore(endpoint, catalog.bucket)
    oracle = Oracle(store, catalog, workdir)
    oracle.register_silver()
    lost = duplicated = 0
    detail: dict[str, Any] = {}
    uri = catalog.table_uri
    for dataset in catalog.datasets:
        bronze = read_delta_rows(endpoint, uri(Layer.BRONZE, dataset.name))
        got_batches = Counter(row[BATCH_ID_COLUMN] for row in bronze)
        for batch, want in landing_rows_per_batch(oracle, dataset.name).items():
            have = got_batches.get(batch, 0)
            lost += max(0, want - have)
            duplicated += max(0, have - want)
            if have != want:
                detail[f"bronze.{dataset.name}.{batch}"] = {"have": have, "want": want}
        silver = read_delta_rows(endpoint, uri(Layer.SILVER, dataset.name))
        key = dataset.key
        got: dict[tuple[Any, ...], dict[str, Any]] = {}
        silver_lost = silver_extra = 0
        for row in silver:
            k = tuple(row[c] for c in key)
            if k in got:
                silver_extra += 1
            got[k] = row
        for row in oracle.silver(dataset):
            k = tuple(row[c] for c in key)
            mine = got.pop(k, None)
            if mine is None or any(mine[c] != row[c] for c in dataset.column_names):
                silver_lost += 1
        silver_extra += len(got)  # keys the oracle does not have
        if silver_lost or silver_extra:
            detail[f"silver.{dataset.name}"] = {
                "wrong_or_missing": silver_lost,
                "extra": silver_extra,
            }
        lost += silver_lost
        duplicated += silver_extra
    for table in GOLD_TABLES:
        want_rows = oracle.gold(table.name)
        columns = list(want_rows[0]) if want_rows else []
        gold_have = _by_key(
            read_delta_rows(endpoint, uri(Layer.GOLD, table.name)), table.key, columns
        )
        gold_want = _by_key(want_rows, table.key, columns)
        gone = sum(1 for k in gold_want if k not in gold_have or gold_have[k][0] != gold_want[k][0])
        extra = sum(len(v) - 1 for v in gold_have.values()) + sum(
            1 for k in gold_have if k not in gold_want
        )
        if gone or extra:
            detail[f"gold.{table.name}"] = {"wrong_or_missing": gone, "extra": extra}
        lost += gone
        duplicated += extra
    detail |= audit_problems(endpoint, store, catalog)
    return lost, duplicated, detail


def audit_problems(
    endpoint: S3Endpoint, store: ObjectStore, catalog: LakeCatalog
) -> dict[str, Any]:
    """Every bronze and silver batch audited exactly once, and silver's counts reconciling."""
    problems: dict[str, Any] = {}
    for layer in (Layer.BRONZE, Layer.SILVER):
        rows = read_delta_rows(endpoint, catalog.system_table_uri(catalog.audit_table(layer)))
        times = Counter((r["table_name"], r["batch_id"]) for r in rows)
        for (table, batch), n in sorted(times.items()):
            if n > 1:
                problems[f"audit.{layer.value}.{table}.{batch}"] = f"audited {n} times"
        for r in rows:
            if layer is Layer.SILVER and r["rows_in"] != (
                r["rows_applied"] + r["rows_superseded"] + r["rows_rejected"]
            ):
                problems[f"audit.silver.{r['table_name']}.{r['batch_id']}.counts"] = (
                    "counts do not reconcile"
                )
        for dataset in catalog.datasets:
            audited = sorted({b for t, b in times if t == dataset.name})
            landed = sorted(
                {
                    int(k.split("batch=")[1][:6])
                    for k in store.keys(catalog.landing_key(dataset.name))
                }
            )
            if audited != landed:
                problems[f"audit.{layer.value}.{dataset.name}"] = {
                    "audited": audited,
                    "landed": landed,
                }
    return problems
