"""Silver's row validation: each problem a raw row can have, found and named."""

from __future__ import annotations

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from lakehouse_core.catalog import CATALOG
from lakehouse_jobs import validation
from tests.jobs.conftest import raw_rows

ORDERS = CATALOG.dataset("orders")

GOOD_ORDER: dict[str, str | None] = {
    "o_orderkey": "1",
    "o_custkey": "7",
    "o_orderstatus": "O",
    "o_totalprice": "1234.56",
    "o_orderdate": "1996-01-02",
    "o_orderpriority": "5-LOW",
    "o_clerk": "Clerk#000000951",
    "o_shippriority": "0",
    "o_comment": "a comment, with a comma",
    "_op": "U",
    "_change_seq": "3",
}


def problems_of(spark: SparkSession, row: dict[str, str | None]) -> tuple[str | None, list[str]]:
    frame = raw_rows(spark, ORDERS, [row]).withColumn("p", validation.problems(ORDERS))
    result = frame.select(validation.first_reason(F.col("p")).alias("r"), "p").first()
    assert result is not None
    return result["r"], list(result["p"])


def test_a_good_row_has_no_problem(spark: SparkSession) -> None:
    assert problems_of(spark, GOOD_ORDER) == (None, [])


@pytest.mark.parametrize(
    ("change", "reason", "message"),
    [
        ({"o_orderkey": None}, "null_key", "key column o_orderkey is empty"),
        ({"_op": "X"}, "invalid_op", "_op 'X' is not one of"),
        ({"_change_seq": "3.5"}, "invalid_value", "_change_seq='3.5' is not a bigint"),
        ({"o_custkey": None}, "missing_value", "o_custkey is required"),
        ({"o_totalprice": "12,50"}, "invalid_value", "o_totalprice='12,50' is not a valid"),
        ({"o_orderdate": "1996-02-30"}, "invalid_value", "o_orderdate='1996-02-30'"),
        ({"o_orderstatus": "Z"}, "invalid_value", "o_orderstatus='Z' is not one of F, O, P"),
        ({"o_totalprice": "-0.01"}, "out_of_range", "o_totalprice=-0.01 is below 0"),
        ({"o_shippriority": "99999999999"}, "invalid_value", "is not a valid int"),
        ({"_corrupt_record": "1|2|3"}, "malformed_record", "does not parse"),
        ({"_extra_columns": '{"x":"1"}'}, "unexpected_columns", "columns not in the catalog"),
        ({"_missing_columns": "o_clerk"}, "missing_columns", "the file has no column o_clerk"),
        ({"o_comment": "caf\ufffd"}, "invalid_encoding", "not valid UTF-8"),
    ],
)
def test_each_problem_is_named_with_its_value(
    spark: SparkSession, change: dict[str, str | None], reason: str, message: str
) -> None:
    found, detail = problems_of(spark, {**GOOD_ORDER, **change})
    assert found == reason
    assert any(message in entry for entry in detail), detail


def test_the_reason_is_the_first_problem_and_the_detail_lists_all(spark: SparkSession) -> None:
    found, detail = problems_of(
        spark, {**GOOD_ORDER, "o_orderkey": None, "o_orderstatus": "Z", "o_totalprice": "-1"}
    )
    assert found == "null_key"
    codes = sorted(entry.split(":")[0] for entry in detail)
    assert codes == ["invalid_value", "missing_value", "null_key", "out_of_range"]


def test_a_delete_needs_only_its_key(spark: SparkSession) -> None:
    delete = {"o_orderkey": "1", "_op": "d", "_change_seq": "4"}
    assert problems_of(spark, delete) == (None, [])
    assert problems_of(spark, {**delete, "o_orderkey": None})[0] == "null_key"


def test_values_at_the_bounds_are_valid(spark: SparkSession) -> None:
    lineitem = CATALOG.dataset("lineitem")
    row = {
        "l_orderkey": "1", "l_partkey": "2", "l_suppkey": "3", "l_linenumber": "1",
        "l_quantity": "0", "l_extendedprice": "0.00", "l_discount": "1", "l_tax": "0",
        "l_returnflag": "N", "l_linestatus": "O", "l_shipdate": "1998-09-02",
    }  # fmt: skip
    frame = raw_rows(spark, lineitem, [row]).select(validation.problems(lineitem).alias("p"))
    first = frame.first()
    assert first is not None and list(first["p"]) == []
