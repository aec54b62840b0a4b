"""The lake catalog: one layout, consistent names, clear errors."""

from __future__ import annotations

import pytest

from lakehouse.catalog import (
    CATALOG,
    GOLD_TABLES,
    PIPELINES,
    Layer,
    format_batch_id,
    parse_batch_dir,
)


def test_layout_matches_the_documented_prefixes() -> None:
    lake = CATALOG.with_bucket("lake")
    assert lake.landing_uri("orders", 7) == "s3a://lake/landing/orders/batch=000007/"
    assert lake.table_uri(Layer.SILVER, "orders") == "s3a://lake/deltalake/silver/orders"
    assert lake.audit_table_uris()[0] == "s3a://lake/deltalake/_system/batch_audit_bronze"
    assert lake.rejects_table("orders") == "orders_rejects"
    assert lake.dremio_path(Layer.GOLD, "pricing_summary") == [
        "lake",
        "lake",
        "deltalake",
        "gold",
        "pricing_summary",
    ]


def test_batch_directories_round_trip_and_bad_names_say_how_to_fix() -> None:
    assert parse_batch_dir(format_batch_id(42)) == 42
    assert parse_batch_dir("batch=000042/") == 42
    with pytest.raises(ValueError, match="batch=000001"):
        parse_batch_dir("2024-01-01")


def test_every_key_and_sequence_column_is_a_column_of_its_dataset() -> None:
    for dataset in CATALOG.datasets:
        for key in dataset.key:
            assert dataset.column(key).required, f"{dataset.name}.{key} must be required"
        if dataset.sequence_by and not dataset.sequence_by.startswith("_"):
            dataset.column(dataset.sequence_by)


def test_gold_tables_read_only_catalog_datasets_and_each_has_a_job() -> None:
    from lakehouse_jobs.gold import DEFINITIONS

    names = {d.name for d in CATALOG.datasets}
    for gold in GOLD_TABLES:
        assert set(gold.sources) <= names
        assert gold.refresh in ("incremental", "overwrite")
    assert set(DEFINITIONS) == {g.name for g in GOLD_TABLES}


def test_selecting_by_pipeline_or_dataset_and_unknown_names() -> None:
    assert [d.name for d in CATALOG.select_datasets(["users"])] == ["users"]
    assert [d.name for d in CATALOG.select_datasets(["tpch"])] == list(PIPELINES["tpch"])
    assert (
        CATALOG.gold_tables_for(CATALOG.select_datasets(["users"]))[0].name == "users_by_location"
    )
    with pytest.raises(KeyError, match="unknown dataset 'nope'"):
        CATALOG.select_datasets(["nope"])


def test_all_tables_lists_each_layer_once() -> None:
    tables = CATALOG.all_tables()
    assert len(tables) == len(set(tables))
    assert (Layer.SILVER, "orders_rejects") in tables
    assert {layer for layer, _ in tables} == set(Layer)
