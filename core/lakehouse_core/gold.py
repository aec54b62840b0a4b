"""The gold tables, declared as plain data: name, the silver tables each reads, its key and
what it means.

The jobs attach a build to each name (``lakehouse_jobs.gold``); the CLI, the Dremio
bootstrap and the docs read these declarations without PySpark. A gold table exists when
it is declared here and built there: the jobs' registry refuses a build of an undeclared
name, and a declaration without a build fails the registry's completeness check.

Pure Python, importable in the job image and the Dremio bootstrap image.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GoldTableSpec:
    name: str
    sources: tuple[str, ...]  # the silver tables (datasets) it reads; never other gold
    key: tuple[str, ...]  # one row per key
    description: str


GOLD_TABLES: tuple[GoldTableSpec, ...] = (
    GoldTableSpec(
        "revenue_by_nation_month",
        sources=("lineitem", "orders", "customer", "nation"),
        key=("nation", "order_month"),
        description="Net revenue (extended price x (1 - discount)) and orders per nation and month",
    ),
    GoldTableSpec(
        "order_status_summary",
        sources=("orders",),
        key=("o_orderstatus",),
        description="Orders and total price per order status",
    ),
    GoldTableSpec(
        "pricing_summary",
        sources=("lineitem",),
        key=("l_returnflag", "l_linestatus"),
        description="TPC-H Q1 pricing summary report (ship date <= 1998-09-02); sum_discount "
        "is kept so the averages can be refreshed from changes",
    ),
    GoldTableSpec(
        "users_by_location",
        sources=("users",),
        key=("location",),
        description="Users and the latest activity per location",
    ),
)
GOLD_NAMES: tuple[str, ...] = tuple(t.name for t in GOLD_TABLES)


def gold_table(name: str) -> GoldTableSpec:
    """The declaration of one gold table; KeyError naming the declared ones otherwise."""
    for table in GOLD_TABLES:
        if table.name == name:
            return table
    raise KeyError(f"unknown gold table {name!r}; declared: {', '.join(GOLD_NAMES)}")
