"""Each gold build on a handful of silver rows, against figures worked out by hand."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from pyspark.sql import DataFrame, SparkSession

from lakehouse_jobs.gold import GOLD
from lakehouse_jobs.gold.registry import ReadTable
from lakehouse_jobs.gold.tables import revenue_groups_touched
from tests.jobs.conftest import local_frame

D = Decimal


@pytest.fixture(scope="module")
def silver(spark: SparkSession) -> dict[str, DataFrame]:
    nation = local_frame(spark, [(1, "FRANCE"), (2, "PERU")], "n_nationkey bigint, n_name string")
    customer = local_frame(spark, [(10, 1), (20, 2)], "c_custkey bigint, c_nationkey bigint")
    orders = local_frame(
        spark,
        [
            (100, 10, "O", D("50.00"), dt.date(1996, 1, 5)),
            (101, 10, "F", D("70.00"), dt.date(1996, 1, 20)),
            (102, 20, "F", D("30.00"), dt.date(1996, 2, 1)),
        ],
        "o_orderkey bigint, o_custkey bigint, o_orderstatus string, "
        "o_totalprice decimal(15,2), o_orderdate date",
    )
    lineitem = local_frame(
        spark,
        [
            (100, 1, D("2"), D("10.00"), D("0.10"), D("0.00"), "N", "O", dt.date(1998, 9, 2)),
            (100, 2, D("1"), D("20.00"), D("0.00"), D("0.50"), "N", "O", dt.date(1998, 9, 3)),
            (101, 1, D("4"), D("40.00"), D("0.50"), D("0.10"), "R", "F", dt.date(1995, 1, 1)),
            (102, 1, D("3"), D("30.00"), D("0.00"), D("0.00"), "R", "F", dt.date(1995, 6, 1)),
        ],
        "l_orderkey bigint, l_linenumber int, l_quantity decimal(15,2), "
        "l_extendedprice decimal(15,2), l_discount decimal(15,2), l_tax decimal(15,2), "
        "l_returnflag string, l_linestatus string, l_shipdate date",
    )
    users = local_frame(
        spark,
        [
            (1, "a", "Paris", dt.datetime(2024, 1, 1, 10, tzinfo=dt.timezone.utc)),
            (2, "b", "Paris", dt.datetime(2024, 3, 1, 9, tzinfo=dt.timezone.utc)),
            (3, "c", None, dt.datetime(2024, 2, 1, 8, tzinfo=dt.timezone.utc)),
        ],
        "id bigint, name string, location string, timestamp timestamp",
    )
    return {
        "nation": nation,
        "customer": customer,
        "orders": orders,
        "lineitem": lineitem,
        "users": users,
    }


def reader(tables: dict[str, DataFrame]) -> ReadTable:
    return lambda name: tables[name]


def rows(frame: DataFrame, *order: str) -> list[tuple[object, ...]]:
    return [tuple(r) for r in frame.orderBy(*order).collect()]


def test_revenue_by_nation_month(silver: dict[str, DataFrame]) -> None:
    built = GOLD.get("revenue_by_nation_month").build(reader(silver))
    assert rows(built.select("nation", "order_month", "revenue", "order_count", "line_count"),
                "nation", "order_month") == [
        # extended price x (1 - discount): 10 x 0.9 + 20 x 1 + 40 x 0.5 = 49
        ("FRANCE", dt.date(1996, 1, 1), D("49.0000"), 2, 3),
        ("PERU", dt.date(1996, 2, 1), D("30.0000"), 1, 1),
    ]  # fmt: skip


def test_revenue_rebuilds_only_the_groups_asked_for(
    spark: SparkSession, silver: dict[str, DataFrame]
) -> None:
    groups = local_frame(spark, [("PERU", dt.date(1996, 2, 1))], "nation string, order_month date")
    built = GOLD.get("revenue_by_nation_month").build(reader(silver), groups)
    assert [r["nation"] for r in built.collect()] == ["PERU"]


def test_a_changed_line_item_touches_its_orders_group(
    spark: SparkSession, silver: dict[str, DataFrame]
) -> None:
    no_orders = silver["orders"].limit(0)
    line_change = local_frame(spark, [(102,)], "l_orderkey bigint")
    touched = revenue_groups_touched(reader(silver), {"orders": no_orders, "lineitem": line_change})
    assert rows(touched, "nation") == [("PERU", dt.date(1996, 2, 1))]
    # An order moved to another month touches both months (its pre- and post-image).
    moved = local_frame(
        spark,
        [(100, 10, dt.date(1996, 1, 5)), (100, 10, dt.date(1996, 3, 5))],
        "o_orderkey bigint, o_custkey bigint, o_orderdate date",
    )
    touched = revenue_groups_touched(
        reader(silver), {"orders": moved, "lineitem": line_change.limit(0)}
    )
    assert rows(touched, "order_month") == [
        ("FRANCE", dt.date(1996, 1, 1)),
        ("FRANCE", dt.date(1996, 3, 1)),
    ]


def test_order_status_summary(silver: dict[str, DataFrame]) -> None:
    built = GOLD.get("order_status_summary").build(reader(silver))
    assert rows(built, "o_orderstatus") == [("F", 2, D("100.00")), ("O", 1, D("50.00"))]


def test_pricing_summary_keeps_lines_shipped_by_the_cutoff(silver: dict[str, DataFrame]) -> None:
    built = GOLD.get("pricing_summary").build(reader(silver))
    by_flag = {(r["l_returnflag"], r["l_linestatus"]): r for r in built.collect()}
    assert set(by_flag) == {("N", "O"), ("R", "F")}  # the line shipped 1998-09-03 is out
    n_o = by_flag[("N", "O")]
    assert (n_o["count_order"], n_o["sum_qty"], n_o["sum_disc_price"]) == (
        1,
        D("2.00"),
        D("9.0000"),
    )
    r_f = by_flag[("R", "F")]
    assert r_f["count_order"] == 2
    assert r_f["sum_base_price"] == D("70.00")
    assert r_f["sum_charge"] == D("20.000000") * D("1.1") + D("30.000000")
    assert r_f["avg_qty"] == D("3.5")


def test_users_by_location(silver: dict[str, DataFrame]) -> None:
    built = GOLD.get("users_by_location").build(reader(silver))
    assert rows(built.select("location", "user_count"), "location") == [(None, 1), ("Paris", 2)]
    latest = {r["location"]: r["last_seen"] for r in built.collect()}["Paris"]
    assert latest.astimezone(dt.timezone.utc) == dt.datetime(2024, 3, 1, 9, tzinfo=dt.timezone.utc)


def test_every_gold_table_has_a_test_here() -> None:
    tested = {
        "revenue_by_nation_month",
        "order_status_summary",
        "pricing_summary",
        "users_by_location",
    }
    assert set(GOLD.names()) == tested
