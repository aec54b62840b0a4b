"""Deletes that stay deleted, and maintenance that never breaks gold's change feed.

On a local disk (the jobs' whole path without S3): each test lands its own batches.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import pytest
from delta.tables import DeltaTable
from pyspark.sql import SparkSession

from lakehouse_core.catalog import LakeCatalog, Layer
from lakehouse_jobs import delta_io, maintenance
from lakehouse_jobs.main import run_layers, run_maintenance

pytestmark = pytest.mark.integration

HEADER = (
    "o_orderkey,o_custkey,o_orderstatus,o_totalprice,o_orderdate,o_orderpriority,o_clerk,"
    "o_shippriority,o_comment,_op,_change_seq\n"
)


def order(key: int, seq: int, status: str = "O", price: str = "10.00", op: str = "U") -> str:
    if op == "D":
        return f"{key},,,,,,,,,D,{seq}\n"
    return f"{key},7,{status},{price},1996-01-02,1-URGENT,Clerk#1,0,c,{op},{seq}\n"


def land(lake: LakeCatalog, batch: int, *rows: str) -> None:
    folder = Path(urlparse(lake.landing_uri("orders", batch)).path)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "orders.csv").write_text(HEADER + "".join(rows))


def silver_orders(spark: SparkSession, lake: LakeCatalog) -> dict[int, tuple[str, int]]:
    rows = spark.read.format("delta").load(lake.table_uri(Layer.SILVER, "orders")).collect()
    return {r["o_orderkey"]: (str(r["o_totalprice"]), r["_change_seq"]) for r in rows}


def num_files(spark: SparkSession, uri: str) -> int:
    detail = DeltaTable.forPath(spark, uri).detail().first()
    assert detail is not None
    return int(detail["numFiles"])


def test_a_delete_wins_over_an_older_change_that_arrives_later(
    spark: SparkSession, disk_lake: LakeCatalog
) -> None:
    land(disk_lake, 1, order(1, 1), order(2, 1))
    land(disk_lake, 2, order(1, 10, op="D"))
    run_layers(spark, disk_lake, "all", ["orders"])
    assert set(silver_orders(spark, disk_lake)) == {2}
    # An update made before the delete (sequence 5 < 10) arrives late: it must not revive 1.
    land(disk_lake, 3, order(1, 5, price="99.00"), order(2, 6, price="20.00"))
    results = run_layers(spark, disk_lake, "all", ["orders"])
    (silver,) = [r for r in results if r.layer == "silver"]
    assert silver_orders(spark, disk_lake) == {2: ("20.00", 6)}
    # Order 1's change was outranked by the delete: superseded by it, not applied.
    assert (silver.rows_in, silver.rows_applied, silver.rows_superseded) == (2, 1, 1)
    # A change made after the delete re-creates the key.
    land(disk_lake, 4, order(1, 11, price="1.00"))
    run_layers(spark, disk_lake, "all", ["orders"])
    assert silver_orders(spark, disk_lake)[1] == ("1.00", 11)


def test_maintenance_compacts_and_gold_stays_incremental(
    spark: SparkSession, disk_lake: LakeCatalog
) -> None:
    land(disk_lake, 1, *(order(k, 1) for k in range(1, 30)))
    run_layers(spark, disk_lake, "all", ["orders"])
    for batch in range(2, 6):  # small MERGEs of new keys: each adds a small file
        land(disk_lake, batch, order(100 + batch, batch, status="F", price=f"{batch}.50"))
        run_layers(spark, disk_lake, "all", ["orders"])
    silver_uri = disk_lake.table_uri(Layer.SILVER, "orders")
    files_before = num_files(spark, silver_uri)
    results = {r.table_name: r for r in run_maintenance(spark, disk_lake, ["orders"], 0)}
    files_after = num_files(spark, silver_uri)
    assert files_after < files_before, results["silver.orders"].note
    assert "compacted" in results["silver.orders"].note
    # VACUUM ran with a zero window, but kept what gold's next refresh reads: it stays
    # incremental and right.
    land(disk_lake, 6, order(7, 9, status="P", price="3.00"))
    results_after = run_layers(spark, disk_lake, "all", ["orders"])
    gold = {r.table_name: r for r in results_after if r.layer == "gold"}
    assert gold["order_status_summary"].note.startswith("added")
    summary = spark.read.format("delta").load(
        disk_lake.table_uri(Layer.GOLD, "order_status_summary")
    )
    expected = (
        spark.read.format("delta").load(silver_uri).groupBy("o_orderstatus").count().collect()
    )
    assert {r["o_orderstatus"]: r["order_count"] for r in summary.collect()} == {
        r["o_orderstatus"]: r["count"] for r in expected
    }


def test_gold_rewrites_when_the_change_feed_it_needs_is_gone(
    spark: SparkSession, disk_lake: LakeCatalog
) -> None:
    land(disk_lake, 1, *(order(k, 1) for k in range(1, 10)))
    run_layers(spark, disk_lake, "all", ["orders"])
    land(disk_lake, 2, order(1, 2, status="F"))
    run_layers(spark, disk_lake, "bronze", ["orders"])
    run_layers(spark, disk_lake, "silver", ["orders"])
    # Someone vacuums silver without regard for gold (the Delta trap): the change data of
    # the version gold will read next is removed.
    session = spark.newSession()
    session.conf.set("spark.databricks.delta.retentionDurationCheck.enabled", "false")
    silver_uri = disk_lake.table_uri(Layer.SILVER, "orders")
    for cdc in Path(urlparse(silver_uri).path, "_change_data").glob("*.parquet"):
        cdc.unlink()
    DeltaTable.forPath(session, silver_uri).vacuum(0)
    (gold,) = [
        r
        for r in run_layers(spark, disk_lake, "gold", ["orders"])
        if r.table_name == "order_status_summary"
    ]
    assert gold.note == "rewritten"
    rows = spark.read.format("delta").load(disk_lake.table_uri(Layer.GOLD, "order_status_summary"))
    assert {r["o_orderstatus"]: r["order_count"] for r in rows.collect()} == {"F": 1, "O": 8}


def test_maintenance_keeps_the_versions_gold_needs(
    spark: SparkSession, disk_lake: LakeCatalog
) -> None:
    land(disk_lake, 1, order(1, 1))
    run_layers(spark, disk_lake, "all", ["orders"])
    land(disk_lake, 2, order(1, 2, status="F"))
    run_layers(spark, disk_lake, "bronze", ["orders"])
    run_layers(spark, disk_lake, "silver", ["orders"])
    needed = maintenance.needed_versions(spark, disk_lake)
    current = delta_io.current_version(spark, disk_lake.table_uri(Layer.SILVER, "orders"))
    assert needed["orders"].version == current  # gold has not read the last MERGE yet
    assert needed["orders"].by in {"order_status_summary"}
