"""Bad input is quarantined with its reason, never dropped; retries never double-apply."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pyspark.sql import SparkSession

from lakehouse.s3 import S3Endpoint
from lakehouse_core.catalog import LakeCatalog, Layer
from lakehouse_jobs import audit, bronze, delta_io, silver
from lakehouse_jobs.main import run_layers

from .conftest import new_lake
from .oracle import read_delta_rows

pytestmark = pytest.mark.integration

ORDER_HEADER = (
    "o_orderkey,o_custkey,o_orderstatus,o_totalprice,o_orderdate,o_orderpriority,"
    "o_clerk,o_shippriority,o_comment"
)
CLEAN_ORDERS = (
    ORDER_HEADER
    + "\n"
    + "\n".join(
        f"{k},{k * 10},O,{k}00.00,2024-01-0{k},1-URGENT,Clerk#1,0,first {k}" for k in range(1, 5)
    )
    + "\n"
)

# One line per problem; the comment after '#' is the reason silver must give (not in the file).
CHANGES = [
    ("1,10,F,150.00,2024-01-01,1-URGENT,Clerk#1,0,updated,U,100", None),
    ("5,1,O", "malformed_record"),
    (",1,O,10.00,2024-01-01,1-URGENT,Clerk#1,0,no key,U,101", "null_key"),
    ("6,1,O,abc,2024-01-01,1-URGENT,Clerk#1,0,bad price,U,102", "invalid_value"),
    ("7,1,O,10.00,2024-13-45,1-URGENT,Clerk#1,0,bad date,U,103", "invalid_value"),
    ("8,1,O,10.00,2024-01-01,1-URGENT,Clerk#1,0,twin a,U,200", "duplicate_key"),
    ("8,1,F,10.00,2024-01-01,1-URGENT,Clerk#1,0,twin b,U,200", "duplicate_key"),
    ("9,1,O,10.00,2024-01-01,1-URGENT,Clerk#1,0,same twice,U,300", None),
    ("9,1,O,10.00,2024-01-01,1-URGENT,Clerk#1,0,same twice,U,300", None),
    ("10,1,O,10.00,2024-01-01,1-URGENT,Clerk#1,0,older,U,400", None),
    ("10,1,P,11.00,2024-01-01,1-URGENT,Clerk#1,0,newer,U,401", None),
    ("11,1,O,10.00,2024-01-01,1-URGENT,Clerk#1,0,bad op,X,500", "invalid_op"),
    ("12,1,O,-5.00,2024-01-01,1-URGENT,Clerk#1,0,negative,U,501", "out_of_range"),
    ("13,1,Z,10.00,2024-01-01,1-URGENT,Clerk#1,0,bad status,U,502", "invalid_value"),
    ("2,,,,,,,,,D,503", None),
]
NON_UTF8_LINE = b"14,1,O,10.00,2024-01-01,1-URGENT,Clerk#1,0,caf\xe9 latin-1,U,600"
EXTRA_COLUMN_FILE = (
    ORDER_HEADER + ",_op,_change_seq,o_coupon\n"
    "15,1,O,10.00,2024-01-01,1-URGENT,Clerk#1,0,extra col,U,700,SAVE10\n"
)
MISSING_COLUMN_FILE = (
    "o_orderkey,o_custkey,o_orderstatus,o_totalprice,o_orderdate,o_orderpriority,o_clerk,"
    "o_shippriority,_op,_change_seq\n16,1,O,10.00,2024-01-01,1-URGENT,Clerk#1,0,U,800\n"
)
BAD_USERS = (
    b'{"id": 1, "name": "Alice", "location": "Paris", "timestamp": "2025-02-01T00:00:00Z"}\n'
    b'{"id": 2, "name": \n'
    b'{"id": 3, "name": "Carl", "timestamp": "2025-02-01T00:00:00Z", "email": "c@x"}\n'
    b'{"id": 4, "name": null, "timestamp": "2025-02-01T00:00:00Z"}\n'
    b'{"id": 5, "name": "Eve", "timestamp": "yesterday"}\n'
    b"\n"
)
EXPECTED_USER_REASONS = ["malformed_record", "unexpected_columns", "missing_value", "invalid_value"]


def change_file() -> bytes:
    lines = [f"{ORDER_HEADER},_op,_change_seq".encode()]
    lines += [line.encode() for line, _ in CHANGES]
    lines.append(NON_UTF8_LINE)
    return b"\n".join(lines) + b"\n"


def rejects(endpoint: S3Endpoint, catalog: LakeCatalog, dataset: str) -> list[dict[str, Any]]:
    uri = catalog.table_uri(Layer.SILVER, catalog.rejects_table(dataset))
    return read_delta_rows(endpoint, uri)


def order_key(reject: dict[str, Any]) -> str:
    try:
        key = json.loads(reject["raw_record"])["o_orderkey"]
        return "" if key is None else str(key)
    except json.JSONDecodeError:  # a malformed line is kept verbatim
        return str(reject["raw_record"]).split(",")[0]


@pytest.fixture(scope="module")
def quarantined(spark: SparkSession, s3_endpoint: S3Endpoint) -> tuple[LakeCatalog, list[Any]]:
    catalog, store = new_lake(s3_endpoint, "quarantine")
    store.put_bytes(catalog.landing_key("orders", 1) + "orders.csv", CLEAN_ORDERS.encode())
    batch2 = catalog.landing_key("orders", 2)
    store.put_bytes(batch2 + "a-changes.csv", change_file())
    store.put_bytes(batch2 + "b-extra-column.csv", EXTRA_COLUMN_FILE.encode())
    store.put_bytes(batch2 + "c-missing-column.csv", MISSING_COLUMN_FILE.encode())
    store.put_bytes(batch2 + "d-empty.csv", b"")
    store.put_bytes(catalog.landing_key("users", 1) + "users.jsonl", BAD_USERS)
    results = run_layers(spark, catalog, "silver", ["orders", "users"])  # nothing ingested yet
    assert results == []
    results = run_layers(spark, catalog, "bronze", ["orders", "users"])
    results += run_layers(spark, catalog, "silver", ["orders", "users"])
    return catalog, results


def test_each_bad_order_row_is_rejected_with_its_reason(
    quarantined: tuple[LakeCatalog, list[Any]], s3_endpoint: S3Endpoint
) -> None:
    catalog, _ = quarantined
    got: dict[str, list[str]] = {}
    for r in rejects(s3_endpoint, catalog, "orders"):
        assert r["_batch_id"] == 2 and r["detail"] and r["raw_record"]
        got.setdefault(order_key(r), []).append(r["reason"])
    expected: dict[str, list[str]] = {}
    for line, reason in CHANGES:
        if reason:
            expected.setdefault(line.split(",")[0], []).append(reason)
    expected["14"] = ["invalid_encoding"]
    expected["15"] = ["unexpected_columns"]
    expected["16"] = ["missing_columns"]
    assert got == expected


def test_reject_detail_names_the_column_and_value(
    quarantined: tuple[LakeCatalog, list[Any]], s3_endpoint: S3Endpoint
) -> None:
    catalog, _ = quarantined
    by_key = {order_key(r): r for r in rejects(s3_endpoint, catalog, "orders")}
    assert "o_totalprice='abc' is not a valid decimal(15,2)" in by_key["6"]["detail"]
    assert "o_orderdate='2024-13-45'" in by_key["7"]["detail"]
    assert "o_coupon" in by_key["15"]["detail"] and "SAVE10" in by_key["15"]["raw_record"]
    assert "o_comment" in by_key["16"]["detail"]
    assert by_key["5"]["raw_record"] == "5,1,O"


def test_good_rows_of_the_same_batch_are_applied(
    quarantined: tuple[LakeCatalog, list[Any]], s3_endpoint: S3Endpoint
) -> None:
    catalog, _ = quarantined
    rows = {
        r["o_orderkey"]: r
        for r in read_delta_rows(s3_endpoint, catalog.table_uri(Layer.SILVER, "orders"))
    }
    assert sorted(rows) == [1, 3, 4, 9, 10]  # 2 deleted; 5-8 and 11-16 rejected
    assert rows[1]["o_orderstatus"] == "F" and rows[1]["_change_seq"] == 100
    assert rows[10]["o_comment"] == "newer" and rows[10]["_change_seq"] == 401
    assert rows[9]["o_comment"] == "same twice"


def test_counts_reconcile_with_the_landing_files(
    quarantined: tuple[LakeCatalog, list[Any]],
) -> None:
    _, results = quarantined
    data_lines = len(CHANGES) + 1 + 1 + 1  # the change file, the non-UTF-8 line, extra, missing
    [bronze2] = [
        r for r in results if r.layer == "bronze" and r.table_name == "orders" and r.batch_id == 2
    ]
    [silver2] = [
        r for r in results if r.layer == "silver" and r.table_name == "orders" and r.batch_id == 2
    ]
    assert bronze2.files == 4 and bronze2.rows_in == data_lines
    assert silver2.rows_in == data_lines
    assert silver2.rows_superseded == 2  # the identical twin of 9, and 10's older change
    assert silver2.rows_rejected == 12
    assert silver2.rows_applied + silver2.rows_superseded + silver2.rows_rejected == data_lines


def test_bad_json_lines_are_quarantined(
    quarantined: tuple[LakeCatalog, list[Any]], s3_endpoint: S3Endpoint
) -> None:
    catalog, results = quarantined
    [silver1] = [r for r in results if r.layer == "silver" and r.table_name == "users"]
    assert (silver1.rows_in, silver1.rows_applied, silver1.rows_rejected) == (5, 1, 4)
    reasons = sorted(r["reason"] for r in rejects(s3_endpoint, catalog, "users"))
    assert reasons == sorted(EXPECTED_USER_REASONS)


def test_retry_after_a_crash_never_applies_a_batch_twice(
    spark: SparkSession, s3_endpoint: S3Endpoint
) -> None:
    catalog, store = new_lake(s3_endpoint, "retry")
    store.put_bytes(catalog.landing_key("orders", 1) + "orders.csv", CLEAN_ORDERS.encode())
    store.put_bytes(catalog.landing_key("orders", 2) + "changes.csv", change_file())
    orders = catalog.dataset("orders")
    bronze.run(spark, catalog, (orders,))
    silver.run(spark, catalog, (orders,))
    bronze_uri = catalog.table_uri(Layer.BRONZE, "orders")
    # A bronze retry of batch 2 (same txnAppId/txnVersion) is skipped by Delta.
    batch2 = spark.read.format("delta").load(bronze_uri).where("_batch_id = 2")
    skipped = delta_io.append_idempotent(batch2, bronze_uri, "lakehouse.bronze.orders", 2)
    assert not skipped.committed
    assert spark.read.format("delta").load(bronze_uri).count() == 4 + len(CHANGES) + 1

    # Silver crashes after its MERGE and rejects commits but before its audit row:
    store.put_bytes(
        catalog.landing_key("orders", 3) + "changes.csv",
        (
            f"{ORDER_HEADER},_op,_change_seq\n3,1,P,1.00,2024-02-01,1-URGENT,Clerk#1,0,late,U,900\n"
        ).encode(),
    )
    bronze.run(spark, catalog, (orders,))
    bronze_version = delta_io.current_version(spark, bronze_uri)
    # committed, audit never written:
    crashed = silver.apply_batch(spark, catalog, orders, 3, bronze_version=bronze_version)
    assert crashed.committed
    silver_uri = catalog.table_uri(Layer.SILVER, "orders")
    version = delta_io.current_version(spark, silver_uri)
    [retried] = silver.run(spark, catalog, (orders,))
    assert retried.batch_id == 3 and not retried.committed
    assert delta_io.current_version(spark, silver_uri) == version
    assert audit.processed_batches(spark, catalog, Layer.SILVER, "orders") == [1, 2, 3]


def test_a_batch_older_than_an_ingested_one_is_refused(
    spark: SparkSession, s3_endpoint: S3Endpoint
) -> None:
    catalog, store = new_lake(s3_endpoint, "late")
    users = catalog.dataset("users")
    store.put_bytes(catalog.landing_key("users", 5) + "u.jsonl", BAD_USERS)
    bronze.run(spark, catalog, (users,))
    store.put_bytes(catalog.landing_key("users", 4) + "u.jsonl", BAD_USERS)
    with pytest.raises(bronze.LateBatchError, match=r"batch\(es\) \[4\] arrived after batch 5"):
        bronze.run(spark, catalog, (users,))
