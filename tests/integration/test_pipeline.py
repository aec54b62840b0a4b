"""The medallion pipeline on real Spark, Delta Lake and MinIO, checked against an oracle.

The module's lake goes through the life the README describes: a TPC-H snapshot and one
change batch, a full run; a second change batch, a run that takes gold's incremental path;
then a re-run that must change nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import pyarrow.parquet as pq
import pytest
from pyspark.sql import SparkSession

from lakehouse.datagen import changes
from lakehouse.datagen.landing import GeneratorSettings, generate
from lakehouse.s3 import ObjectStore, S3Endpoint
from lakehouse_core.catalog import LakeCatalog, Layer
from lakehouse_core.gold import GOLD_NAMES
from lakehouse_dremio.client import DremioClient, quote_path
from lakehouse_dremio.delta_rules import check_table
from lakehouse_dremio.lake import LakeSource, lake_tables, promote_tables
from lakehouse_dremio_double.server import DremioDouble
from lakehouse_jobs.audit import BatchResult
from lakehouse_jobs.gold import GOLD
from lakehouse_jobs.main import run_layers

from .conftest import new_lake, s3_filesystem
from .oracle import Oracle, as_dremio_shows, assert_same_rows, open_delta, read_delta_rows

pytestmark = pytest.mark.integration

SETTINGS = GeneratorSettings(scale=0.001, seed=7, fraction=0.02)


@dataclass
class LakeHistory:
    catalog: LakeCatalog
    store: ObjectStore
    endpoint: S3Endpoint
    first_run: list[BatchResult]
    second_run: list[BatchResult]
    rerun: list[BatchResult]
    versions_before_rerun: dict[str, int]
    versions_after_rerun: dict[str, int]
    oracle: Oracle


def table_versions(endpoint: S3Endpoint, catalog: LakeCatalog) -> dict[str, int]:
    uris = [catalog.table_uri(layer, name) for layer, name in lake_tables(catalog, GOLD_NAMES)]
    uris += catalog.audit_table_uris()
    return {uri: open_delta(endpoint, uri).version() for uri in uris}


@pytest.fixture(scope="module")
def lake(
    spark: SparkSession, s3_endpoint: S3Endpoint, tmp_path_factory: pytest.TempPathFactory
) -> LakeHistory:
    catalog, store = new_lake(s3_endpoint, "pipeline")
    generate(store, SETTINGS, change_batches=1, catalog=catalog, log=lambda _m: None)
    first = run_layers(spark, catalog, "all")
    generate(store, SETTINGS, change_batches=2, catalog=catalog, log=lambda _m: None)
    second = run_layers(spark, catalog, "all")
    before = table_versions(s3_endpoint, catalog)
    rerun = run_layers(spark, catalog, "all")
    after = table_versions(s3_endpoint, catalog)
    oracle = Oracle(store, catalog, tmp_path_factory.mktemp("landing"))
    oracle.register_silver()
    return LakeHistory(catalog, store, s3_endpoint, first, second, rerun, before, after, oracle)


def results(history: list[BatchResult], layer: str, table: str) -> list[BatchResult]:
    return [r for r in history if r.layer == layer and r.table_name == table]


def silver_rows(lake: LakeHistory, name: str, version: int | None = None) -> list[dict[str, Any]]:
    return read_delta_rows(lake.endpoint, lake.catalog.table_uri(Layer.SILVER, name), version)


@pytest.mark.parametrize("dataset", ["region", "nation", "customer", "orders", "lineitem", "users"])
def test_silver_matches_oracle_row_for_row(lake: LakeHistory, dataset: str) -> None:
    ds = lake.catalog.dataset(dataset)
    actual = [{c: r[c] for c in ds.column_names} for r in silver_rows(lake, dataset)]
    expected = lake.oracle.silver(ds)
    assert expected, f"the oracle found no {dataset} rows: the landing zone is empty"
    assert_same_rows(actual, expected, ds.key, f"silver.{dataset}")


@pytest.mark.parametrize(
    "gold",
    ["revenue_by_nation_month", "order_status_summary", "pricing_summary", "users_by_location"],
)
def test_gold_matches_oracle_row_for_row(lake: LakeHistory, gold: str) -> None:
    table = GOLD.get(gold)
    actual = read_delta_rows(lake.endpoint, lake.catalog.table_uri(Layer.GOLD, gold))
    expected = lake.oracle.gold(gold)
    assert expected
    assert_same_rows(actual, expected, table.key, f"gold.{gold}")


def test_second_change_batch_took_the_incremental_gold_path(lake: LakeHistory) -> None:
    [first] = results(lake.first_run, "gold", "revenue_by_nation_month")
    [second] = results(lake.second_run, "gold", "revenue_by_nation_month")
    assert first.note == "rewritten"
    assert second.note.startswith("recomputed") and second.note.endswith("touched group(s)")
    assert second.committed and second.rows_applied > 0
    # The additive tables added the change feed's signed sums instead of a rewrite.
    for name in ("order_status_summary", "pricing_summary"):
        [additive] = results(lake.second_run, "gold", name)
        assert additive.note == "added the change feed's signed sums", additive
    # Only the recent months were touched, not the whole table.
    total = len(
        read_delta_rows(
            lake.endpoint, lake.catalog.table_uri(Layer.GOLD, "revenue_by_nation_month")
        )
    )
    assert second.rows_applied < total / 2


def test_rerun_changes_nothing(lake: LakeHistory) -> None:
    assert lake.rerun == []
    assert lake.versions_after_rerun == lake.versions_before_rerun


def test_every_bronze_row_is_applied_or_rejected(lake: LakeHistory) -> None:
    history = lake.first_run + lake.second_run
    for dataset in lake.catalog.datasets:
        bronze = {r.batch_id: r.rows_in for r in results(history, "bronze", dataset.name)}
        silver = {r.batch_id: r for r in results(history, "silver", dataset.name)}
        assert bronze.keys() == silver.keys(), dataset.name
        for batch_id, rows in bronze.items():
            s = silver[batch_id]
            assert s.rows_in == rows
            assert s.rows_applied + s.rows_superseded + s.rows_rejected == rows
        assert sum(bronze.values()) == lake.oracle.landing_row_count(dataset), dataset.name


def test_change_batch_inserts_updates_and_deletes(lake: LakeHistory) -> None:
    """Batch 3's changes, as the generator emitted them, are what silver shows."""
    generator = changes.ChangeGenerator(
        lake.oracle.workdir / "landing/orders/batch=000001/orders.csv",
        lake.oracle.workdir / "landing/lineitem/batch=000001/lineitem.csv",
        customers=150,
        seed=SETTINGS.seed,
        fraction=SETTINGS.fraction,
    )
    generator.next_batch(2)
    batch3 = generator.next_batch(3)
    ops = {row["o_orderkey"]: row for row in batch3.orders}  # the last change per key wins
    orders = {str(r["o_orderkey"]): r for r in silver_rows(lake, "orders")}
    inserted = [k for k, r in ops.items() if r["_op"] == "I"]
    updated = [k for k, r in ops.items() if r["_op"] == "U"]
    deleted = [k for k, r in ops.items() if r["_op"] == "D"]
    assert inserted and updated and deleted
    for key in inserted + updated:
        assert key in orders
        assert orders[key]["o_orderstatus"] == ops[key]["o_orderstatus"]
        assert orders[key]["o_orderpriority"] == ops[key]["o_orderpriority"]
        assert orders[key]["_batch_id"] == 3
    for key in deleted:
        assert key not in orders
    lines = {(r["l_orderkey"], r["l_linenumber"]) for r in silver_rows(lake, "lineitem")}
    assert not [k for k in lines if str(k[0]) in deleted], "line items of deleted orders remain"
    twice = results(lake.second_run, "silver", "orders")[0]
    assert twice.rows_superseded > 0, (
        "some orders change twice in a batch; the earlier change is superseded"
    )


def test_time_travel_gives_the_earlier_rows(lake: LakeHistory) -> None:
    dataset = lake.catalog.dataset("orders")
    [batch1] = [r for r in results(lake.first_run, "silver", "orders") if r.batch_id == 1]
    then = [
        {c: r[c] for c in dataset.column_names}
        for r in silver_rows(lake, "orders", batch1.target_version)
    ]
    assert_same_rows(then, lake.oracle.silver(dataset, max_batch=1), dataset.key, "orders@v1")
    now = silver_rows(lake, "orders")
    assert {r["o_orderkey"] for r in then} != {r["o_orderkey"] for r in now}


def test_every_table_passes_dremios_rules_and_delta_rs_reads_it(lake: LakeHistory) -> None:
    """Dremio 25.2's rules (reader version, Parquet, types, checkpoints) on every table."""
    fs = s3_filesystem(lake.endpoint)
    checked = 0
    for uri in lake.versions_after_rerun:
        snapshot = check_table(fs, uri.removeprefix("s3a://"))
        assert snapshot.version == lake.versions_after_rerun[uri], uri
        assert snapshot.columns, uri
        table = open_delta(lake.endpoint, uri)
        assert table.metadata().configuration.get("delta.enableDeletionVectors") == "false", uri
        # delta-rs reads every row of exactly the live files Dremio's reading of the log
        # finds (counted from the Parquet footers themselves).
        root = uri.removeprefix("s3a://")
        footer_rows = sum(
            pq.ParquetFile(fs.open_input_file(f"{root}/{unquote(path)}")).metadata.num_rows
            for path in snapshot.files
        )
        assert table.to_pyarrow_table().num_rows == footer_rows, uri
        checked += 1
    assert checked == len(lake_tables(lake.catalog, GOLD_NAMES)) + 3


def test_gold_and_silver_read_through_the_dremio_double_equal_the_oracle(lake: LakeHistory) -> None:
    """As Dremio would answer (the double: a stand-in, not Dremio): timestamps in ms, UTC."""
    with DremioDouble() as dremio:
        client = DremioClient(dremio.url)
        client.create_first_user("admin", "passw0rd-for-test", "a@b.c")
        client.login("admin", "passw0rd-for-test")
        host = lake.endpoint.url.removeprefix("http://")
        source = LakeSource(
            lake.catalog.bucket, host, lake.endpoint.access_key, lake.endpoint.secret_key
        )
        client.ensure_source(source.definition())
        outcomes = promote_tables(client, lake.catalog, GOLD_NAMES)
        assert not [t for t, o in outcomes.items() if o not in ("promoted", "missing")], outcomes
        for dataset in lake.catalog.datasets:
            path = quote_path(lake.catalog.dremio_path(Layer.SILVER, dataset.name))
            rows = client.sql(f"SELECT * FROM {path}").to_arrow().to_pylist()
            actual = [{c: r[c] for c in dataset.column_names} for r in rows]
            expected = [as_dremio_shows(r) for r in lake.oracle.silver(dataset)]
            assert_same_rows(actual, expected, dataset.key, f"dremio silver.{dataset.name}")
        for gold in GOLD:
            path = quote_path(lake.catalog.dremio_path(Layer.GOLD, gold.name))
            rows = client.sql(f"SELECT * FROM {path}").to_arrow().to_pylist()
            expected = [as_dremio_shows(r) for r in lake.oracle.gold(gold.name)]
            assert_same_rows(rows, expected, gold.key, f"dremio gold.{gold.name}")


def test_gold_over_small_sources_is_rewritten_rather_than_refreshed(
    lake: LakeHistory, spark: SparkSession
) -> None:
    """The choice by cost, made before either path runs: the sources' bytes (from their
    logs) against `spark.lakehouse.gold.rewriteBelowBytes`. The tests' session sets it to
    0 (always from the change feed); here a session of its own sets it."""
    from lakehouse_jobs.audit import Ledger
    from lakehouse_jobs.gold.refresh import (
        ADDITIVE_REWRITE_BELOW_BYTES_CONF,
        REWRITE_BELOW_BYTES_CONF,
        REWRITTEN_SMALL,
        cheaper_to_rewrite,
        refresh_table,
    )

    def silver_bytes(*names: str) -> int:
        """The live files' bytes of silver tables, from their logs (delta-rs, not Spark)."""
        return sum(
            sum(open_delta(lake.endpoint, lake.catalog.table_uri(Layer.SILVER, n))
                .get_add_actions().column("size_bytes").to_pylist())
            for n in names
        )  # fmt: skip

    gold = GOLD.get("revenue_by_nation_month")
    live = silver_bytes(*gold.sources)
    session = spark.newSession()
    assert cheaper_to_rewrite(session, lake.catalog, gold) == (False, -1)  # the tests' 0
    session.conf.set(REWRITE_BELOW_BYTES_CONF, str(live + 1))
    assert cheaper_to_rewrite(session, lake.catalog, gold) == (True, live)
    session.conf.set(REWRITE_BELOW_BYTES_CONF, str(live))
    assert cheaper_to_rewrite(session, lake.catalog, gold) == (False, live)
    # An additive table is judged by its own limit (its refresh costs less), not this one.
    additive = GOLD.get("pricing_summary")
    assert additive.refresh == "additive"
    lineitem = silver_bytes(*additive.sources)
    session.conf.set(REWRITE_BELOW_BYTES_CONF, str(10 * live))
    assert cheaper_to_rewrite(session, lake.catalog, additive) == (False, -1)  # the tests' 0
    session.conf.set(ADDITIVE_REWRITE_BELOW_BYTES_CONF, str(lineitem + 1))
    assert cheaper_to_rewrite(session, lake.catalog, additive) == (True, lineitem)
    session.conf.set(ADDITIVE_REWRITE_BELOW_BYTES_CONF, str(lineitem))
    assert cheaper_to_rewrite(session, lake.catalog, additive) == (False, lineitem)
    # As the second run saw it (built from the first run's versions): with small sources
    # it takes the rewrite; that run's commit is there already, so nothing is written.
    session.conf.set(REWRITE_BELOW_BYTES_CONF, str(live + 1))
    [first] = results(lake.first_run, "gold", gold.name)
    ledger = Ledger(Layer.GOLD, {gold.name: {first.batch_id: first}})
    versions = table_versions(lake.endpoint, lake.catalog)
    [again] = refresh_table(session, lake.catalog, gold, ledger)
    assert again.note == REWRITTEN_SMALL and not again.committed, again
    assert table_versions(lake.endpoint, lake.catalog) == versions
