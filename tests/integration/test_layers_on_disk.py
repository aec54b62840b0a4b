"""Bronze -> silver -> gold over landing files on a local disk: the jobs' whole path, no S3."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import pytest
from pyspark.sql import SparkSession

from lakehouse_core.catalog import LakeCatalog, Layer
from lakehouse_jobs.main import run_layers

pytestmark = pytest.mark.integration

ORDERS_HEADER = (
    "o_orderkey,o_custkey,o_orderstatus,o_totalprice,o_orderdate,o_orderpriority,o_clerk,"
    "o_shippriority,o_comment,_op,_change_seq\n"
)


def land(lake: LakeCatalog, dataset: str, batch: int, name: str, text: str) -> None:
    folder = Path(urlparse(lake.landing_uri(dataset, batch)).path)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")


def table(
    spark: SparkSession, lake: LakeCatalog, layer: Layer, name: str
) -> list[tuple[object, ...]]:
    return sorted(
        tuple(r) for r in spark.read.format("delta").load(lake.table_uri(layer, name)).collect()
    )


def test_the_layers_run_end_to_end_and_a_rerun_changes_nothing(
    spark: SparkSession, disk_lake: LakeCatalog
) -> None:
    lake = disk_lake
    land(lake, "orders", 1, "a.csv", ORDERS_HEADER
         + "1,7,O,10.00,1996-01-02,1-URGENT,Clerk#1,0,first,,1\n"
         + "2,7,F,20.00,1996-01-03,2-HIGH,Clerk#2,0,\"with, a comma\",,1\n"
         + "3,8,X,30.00,1996-01-04,3-MEDIUM,Clerk#3,0,,,1\n")  # fmt: skip
    land(lake, "users", 1, "u.json",
         '{"id": 1, "name": "a", "location": "Paris", "timestamp": "2024-01-01T10:00:00Z"}\n'
         '{"id": 2, "name": "b", "location": "Lima", '
         '"timestamp": "2024-01-02T10:00:00Z"}\n')  # fmt: skip

    results = run_layers(spark, lake, "all", ["orders", "users"])
    by_step = {(r.layer, r.table_name): r for r in results}
    assert by_step[("bronze", "orders")].rows_in == 3
    silver_orders = by_step[("silver", "orders")]
    assert (silver_orders.rows_applied, silver_orders.rows_rejected) == (2, 1)
    rejects = spark.read.format("delta").load(lake.table_uri(Layer.SILVER, "orders_rejects"))
    reject = rejects.select("reason", "detail", "raw_record").first()
    assert reject is not None and reject["reason"] == "invalid_value"
    assert "o_orderstatus='X'" in reject["detail"] and '"o_orderkey":"3"' in reject["raw_record"]
    assert {(r.layer, r.table_name) for r in results if r.layer == "gold"} == {
        ("gold", "order_status_summary"),
        ("gold", "users_by_location"),
    }
    status = table(spark, lake, Layer.GOLD, "order_status_summary")
    assert [(s, n) for s, n, _ in status] == [("F", 1), ("O", 1)]

    assert run_layers(spark, lake, "all", ["orders", "users"]) == []

    land(lake, "orders", 2, "b.csv", ORDERS_HEADER
         + "1,7,F,11.00,1996-01-02,1-URGENT,Clerk#1,0,first,U,2\n"
         + "2,,,,,,,,,D,2\n")  # fmt: skip
    second = run_layers(spark, lake, "all", ["orders"])
    assert [r.layer for r in second] == ["bronze", "silver", "gold"]
    assert table(spark, lake, Layer.GOLD, "order_status_summary")[0][:2] == ("F", 1)
    keys = [row[0] for row in table(spark, lake, Layer.SILVER, "orders")]
    assert keys == [1]
