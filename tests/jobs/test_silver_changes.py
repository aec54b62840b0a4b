"""Silver's change handling: which row of a key wins, and what the MERGE may overwrite."""

from __future__ import annotations

import contextlib
import io
from decimal import Decimal
from pathlib import Path

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession

from lakehouse_core.catalog import CATALOG, INGESTED_AT_COLUMN
from lakehouse_jobs import silver
from tests.jobs.conftest import raw_rows

ORDERS = CATALOG.dataset("orders")


def order(
    key: int, seq: int | None, price: str = "10.00", op: str | None = "U"
) -> dict[str, str | None]:
    return {
        "o_orderkey": str(key),
        "o_custkey": "1",
        "o_orderstatus": "O",
        "o_totalprice": price,
        "o_orderdate": "1996-01-02",
        "_op": op,
        "_change_seq": None if seq is None else str(seq),
    }


def plan(spark: SparkSession, rows: list[dict[str, str | None]]) -> silver.BatchChanges:
    return silver.plan_batch(raw_rows(spark, ORDERS, rows), ORDERS)


def winners(changes: silver.BatchChanges) -> list[tuple[int, str, str]]:
    return sorted(
        (r["o_orderkey"], str(r["o_totalprice"]), r["_op"]) for r in changes.winners.collect()
    )


def counts(changes: silver.BatchChanges) -> tuple[int, int, int, int]:
    return changes.rows_in, changes.applied, changes.superseded, changes.rejected


def test_the_latest_change_of_a_key_wins(spark: SparkSession) -> None:
    changes = plan(
        spark, [order(1, 1, "1.00"), order(1, 3, "3.00"), order(1, 2, "2.00"), order(2, 1)]
    )
    assert winners(changes) == [(1, "3.00", "U"), (2, "10.00", "U")]
    assert counts(changes) == (4, 2, 2, 0) and changes.rejects is None


def test_a_batch_without_repeated_keys_keeps_every_row(spark: SparkSession) -> None:
    changes = plan(spark, [order(k, 1) for k in range(1, 6)])
    assert [w[0] for w in winners(changes)] == [1, 2, 3, 4, 5]
    assert counts(changes) == (5, 5, 0, 0)


def test_a_tie_that_disagrees_rejects_the_key_and_a_tie_that_agrees_keeps_one(
    spark: SparkSession,
) -> None:
    # Nobody can tell which latest row is right, so the whole key waits for a fix.
    disagree = plan(
        spark, [order(1, 5, "1.00"), order(1, 5, "2.00"), order(1, 4, "0.50"), order(2, 1)]
    )
    assert winners(disagree) == [(2, "10.00", "U")]
    assert counts(disagree) == (4, 1, 0, 3)
    assert disagree.rejects is not None
    reasons = sorted(r["reason"] for r in disagree.rejects.collect())
    assert reasons == ["duplicate_key"] * 3
    agree = plan(spark, [order(1, 5), order(1, 5)])
    assert winners(agree) == [(1, "10.00", "U")]
    assert counts(agree) == (2, 1, 1, 0)


def test_an_invalid_row_never_wins_over_a_valid_one(spark: SparkSession) -> None:
    changes = plan(spark, [order(1, 9, "not a price"), order(1, 2, "2.00")])
    assert winners(changes) == [(1, "2.00", "U")]
    assert counts(changes) == (2, 1, 0, 1)
    assert changes.rejects is not None
    (reject,) = changes.rejects.collect()
    assert reject["reason"] == "invalid_value" and "not a price" in reject["raw_record"]


def test_a_delete_after_an_update_in_one_batch_wins(spark: SparkSession) -> None:
    changes = plan(spark, [order(1, 1, "1.00"), order(1, 2, op="D")])
    assert [(k, op) for k, _, op in winners(changes)] == [(1, "D")] and changes.has_deletes


def _silver_table(
    spark: SparkSession, tmp_path: Path, first_batch: list[dict[str, str | None]]
) -> tuple[str, DeltaTable]:
    """Silver holding ``first_batch``, written as silver writes a first batch: no MERGE."""
    uri = tmp_path.joinpath("orders").as_uri()
    first = silver.plan_batch(raw_rows(spark, ORDERS, first_batch), ORDERS)
    silver._first_write(first.winners, ORDERS, first.applied).write.format("delta").save(uri)
    return uri, DeltaTable.forPath(spark, uri)


def _contents(spark: SparkSession, uri: str) -> dict[int, tuple[Decimal, int]]:
    rows = spark.read.format("delta").load(uri).collect()
    return {r["o_orderkey"]: (r["o_totalprice"], r["_change_seq"]) for r in rows}


def test_merge_applies_upserts_and_deletes_and_ignores_older_changes(
    spark: SparkSession, tmp_path: Path
) -> None:
    first = [order(1, 10, "1.00"), order(2, 10, "2.00"), order(3, 10), order(5, 10)]
    uri, table = _silver_table(spark, tmp_path, first)
    second = [
        order(1, 5, "0.99"),  # older than what silver holds: ignored
        order(2, 11, "2.50"),  # newer: updates
        order(3, 9, op="D"),  # an older delete: ignored
        order(4, 1, op="D"),  # a delete of a key silver never had: nothing to do
        order(5, 12, op="d"),  # a newer delete, in any case: removes the key
        order(6, 1, "6.00"),  # a key silver never had: inserted
    ]
    changes = silver.plan_batch(raw_rows(spark, ORDERS, second, batch_id=2), ORDERS)
    silver.merge_changes(table, changes.winners, ORDERS)
    assert _contents(spark, uri) == {
        1: (Decimal("1.00"), 10),
        2: (Decimal("2.50"), 11),
        3: (Decimal("10.00"), 10),
        6: (Decimal("6.00"), 1),
    }


def _plan_text(frame: DataFrame) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        frame.explain()
    return out.getvalue()


def test_a_kept_plan_writes_from_its_cache_and_frees_it(spark: SparkSession) -> None:
    rows = [
        order(1, 1, "1.00"),
        order(1, 2, "2.00"),
        order(2, 1),
        {**order(3, 1), "o_totalprice": "x"},
    ]
    plain = plan(spark, rows)
    assert "InMemoryTableScan" not in _plan_text(plain.winners)  # bronze read and cast
    kept = silver.plan_batch(raw_rows(spark, ORDERS, rows), ORDERS, keep=True)
    # The same plan either way; kept, the winners read the cached typed rows.
    assert winners(kept) == winners(plain) == [(1, "2.00", "U"), (2, "10.00", "U")]
    assert (kept.applied, kept.superseded, kept.rejected) == (2, 1, 1)
    assert kept.rejects is not None and plain.rejects is not None
    # (bronze's ingestion time of these test rows is the time they are read)
    assert kept.rejects.drop(INGESTED_AT_COLUMN).collect() == (
        plain.rejects.drop(INGESTED_AT_COLUMN).collect()
    )
    assert "InMemoryTableScan" in _plan_text(kept.winners)
    cached = kept.kept
    assert cached is not None and cached.is_cached
    kept.release()
    assert not cached.is_cached and kept.kept is None
    kept.release()  # twice is harmless (apply_batch releases in a finally)
