"""Silver's row validation: each problem a raw row can have, found and named."""

from __future__ import annotations

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from lakehouse_core.catalog import CATALOG
from lakehouse_jobs import validation
from tests.jobs.conftest import LABEL_COLUMN, raw_rows

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


Found = tuple[str | None, list[str]]

# Every orders row the tests below look at, by name. They are validated together, in one
# frame and one Spark job (as silver validates a batch): a row's problems must not depend on
# its neighbours, and the tier stays fast.
PROBLEM_CASES: list[tuple[dict[str, str | None], str, str]] = [
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
]
DELETE: dict[str, str | None] = {"o_orderkey": "1", "_op": "d", "_change_seq": "4"}
ORDER_ROWS: dict[str, dict[str, str | None]] = {
    "good": GOOD_ORDER,
    **{f"problem {i}": {**GOOD_ORDER, **change} for i, (change, _, _) in enumerate(PROBLEM_CASES)},
    "several problems": {
        **GOOD_ORDER,
        "o_orderkey": None,
        "o_orderstatus": "Z",
        "o_totalprice": "-1",
    },
    "delete": DELETE,
    "delete without key": {**DELETE, "o_orderkey": None},
}


@pytest.fixture(scope="module")
def found(spark: SparkSession) -> dict[str, Found]:
    """Each row of ``ORDER_ROWS``: its reason and the entries of its detail."""
    frame = raw_rows(spark, ORDERS, list(ORDER_ROWS.values()), labels=list(ORDER_ROWS))
    result = frame.withColumn("p", validation.RowValidation(ORDERS).problems).select(
        LABEL_COLUMN, validation.first_reason(F.col("p")).alias("r"), "p"
    )
    by_label = {row[LABEL_COLUMN]: (row["r"], list(row["p"])) for row in result.collect()}
    assert set(by_label) == set(ORDER_ROWS)
    return by_label


def test_a_good_row_has_no_problem(found: dict[str, Found]) -> None:
    assert found["good"] == (None, [])


@pytest.mark.parametrize(
    ("case", "reason", "message"),
    [(i, reason, message) for i, (_, reason, message) in enumerate(PROBLEM_CASES)],
    ids=[f"{next(iter(change))}-{reason}" for change, reason, _ in PROBLEM_CASES],
)
def test_each_problem_is_named_with_its_value(
    found: dict[str, Found], case: int, reason: str, message: str
) -> None:
    reason_found, detail = found[f"problem {case}"]
    assert reason_found == reason
    assert any(message in entry for entry in detail), detail


def test_the_reason_is_the_first_problem_and_the_detail_lists_all(
    found: dict[str, Found],
) -> None:
    reason, detail = found["several problems"]
    assert reason == "null_key"
    codes = sorted(entry.split(":")[0] for entry in detail)
    assert codes == ["invalid_value", "missing_value", "null_key", "out_of_range"]


def test_a_delete_needs_only_its_key(found: dict[str, Found]) -> None:
    assert found["delete"] == (None, [])
    assert found["delete without key"][0] == "null_key"


def test_values_at_the_bounds_are_valid(spark: SparkSession) -> None:
    lineitem = CATALOG.dataset("lineitem")
    row = {
        "l_orderkey": "1", "l_partkey": "2", "l_suppkey": "3", "l_linenumber": "1",
        "l_quantity": "0", "l_extendedprice": "0.00", "l_discount": "1", "l_tax": "0",
        "l_returnflag": "N", "l_linestatus": "O", "l_shipdate": "1998-09-02",
    }  # fmt: skip
    frame = raw_rows(spark, lineitem, [row]).select(
        validation.RowValidation(lineitem).problems.alias("p")
    )
    first = frame.first()
    assert first is not None and list(first["p"]) == []
