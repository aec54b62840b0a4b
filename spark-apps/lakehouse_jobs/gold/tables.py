"""The builds of the gold tables (business aggregates over silver) the core declares."""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from lakehouse_jobs.gold.registry import GoldRegistry, GroupRecompute, Measure, ReadTable, average

GOLD = GoldRegistry()

# TPC-H Q1: l_shipdate <= date '1998-12-01' - interval '90' day
Q1_SHIP_DATE_CUTOFF = "1998-09-02"


def _orders_with_group(read: ReadTable, orders: DataFrame | None = None) -> DataFrame:
    orders = read("orders") if orders is None else orders
    customer = read("customer").select("c_custkey", "c_nationkey")
    nation = read("nation").select("n_nationkey", "n_name")
    return (
        orders.join(customer, orders.o_custkey == customer.c_custkey)
        .join(nation, F.col("c_nationkey") == nation.n_nationkey)
        .select(
            "o_orderkey",
            F.col("n_name").alias("nation"),
            F.trunc("o_orderdate", "month").alias("order_month"),
        )
    )


def revenue_groups_touched(read: ReadTable, changes: dict[str, DataFrame]) -> DataFrame:
    """(nation, order_month) groups whose revenue may differ after the given changes."""
    order_cols = ["o_orderkey", "o_custkey", "o_orderdate"]
    changed_orders = changes["orders"].select(*order_cols)  # pre- and post-images, deletes
    changed_line_orders = changes["lineitem"].select(F.col("l_orderkey").alias("o_orderkey"))
    orders_of_changed_lines = (
        read("orders")
        .select(*order_cols)
        .unionByName(changed_orders)
        .join(changed_line_orders.distinct(), "o_orderkey", "left_semi")
    )
    touched_orders = changed_orders.unionByName(orders_of_changed_lines)
    return _orders_with_group(read, touched_orders).select("nation", "order_month").distinct()


@GOLD.table(
    "revenue_by_nation_month",
    incremental=GroupRecompute(revenue_groups_touched, rebuild_on=("customer", "nation")),
)
def revenue_by_nation_month(read: ReadTable, groups: DataFrame | None = None) -> DataFrame:
    orders = _orders_with_group(read)
    if groups is not None:
        orders = orders.join(F.broadcast(groups), ["nation", "order_month"], "left_semi")
    lineitem = read("lineitem")
    return (
        lineitem.join(orders, lineitem.l_orderkey == orders.o_orderkey)
        .groupBy("nation", "order_month")
        .agg(
            F.sum(F.col("l_extendedprice") * (F.lit(1) - F.col("l_discount"))).alias("revenue"),
            F.countDistinct("o_orderkey").alias("order_count"),
            F.count(F.lit(1)).alias("line_count"),
        )
    )


@GOLD.additive(
    "order_status_summary",
    measures=("order_count", "total_price"),
    count="order_count",
)
def order_status_contributions(orders: DataFrame) -> DataFrame:
    return orders.select(
        "o_orderstatus",
        F.lit(1).cast("bigint").alias("order_count"),
        F.col("o_totalprice").alias("total_price"),
    )


def _pricing_averages(measure: Measure) -> dict[str, Column]:
    count = measure("count_order")
    return {
        "avg_qty": average(measure("sum_qty"), count),
        "avg_price": average(measure("sum_base_price"), count),
        "avg_disc": average(measure("sum_discount"), count),
    }


@GOLD.additive(
    "pricing_summary",
    measures=(
        "sum_qty",
        "sum_base_price",
        "sum_disc_price",
        "sum_charge",
        "sum_discount",
        "count_order",
    ),
    count="count_order",
    derived=_pricing_averages,
)
def pricing_contributions(lineitem: DataFrame) -> DataFrame:
    shipped = lineitem.where(F.col("l_shipdate") <= F.lit(Q1_SHIP_DATE_CUTOFF).cast("date"))
    disc_price = F.col("l_extendedprice") * (F.lit(1) - F.col("l_discount"))
    return shipped.select(
        "l_returnflag",
        "l_linestatus",
        F.col("l_quantity").alias("sum_qty"),
        F.col("l_extendedprice").alias("sum_base_price"),
        disc_price.alias("sum_disc_price"),
        (disc_price * (F.lit(1) + F.col("l_tax"))).alias("sum_charge"),
        F.col("l_discount").alias("sum_discount"),
        F.lit(1).cast("bigint").alias("count_order"),
    )


def locations_touched(read: ReadTable, changes: dict[str, DataFrame]) -> DataFrame:
    """Locations whose users changed (old and new location of a moved user)."""
    return changes["users"].select("location").distinct()


@GOLD.table("users_by_location", incremental=GroupRecompute(locations_touched))
def users_by_location(read: ReadTable, groups: DataFrame | None = None) -> DataFrame:
    users = read("users")
    if groups is not None:
        users = users.join(
            F.broadcast(groups), users["location"].eqNullSafe(groups["location"]), "left_semi"
        )
    return users.groupBy("location").agg(
        F.count(F.lit(1)).alias("user_count"),
        F.max("timestamp").alias("last_seen"),
    )


GOLD.check_complete()
