"""The lake catalog: one layout, consistent names, clear errors."""

from __future__ import annotations

import pytest

from lakehouse_core.catalog import (
    CATALOG,
    LAYER_CHOICES,
    PIPELINES,
    Layer,
    format_batch_id,
    layers_for,
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


def test_gold_tables_read_only_catalog_datasets_and_are_declared_once() -> None:
    from lakehouse_jobs.gold import GOLD

    names = {d.name for d in CATALOG.datasets}
    assert len(GOLD) >= 4
    for gold in GOLD:
        assert set(gold.sources) <= names, gold.name
        assert set(gold.key), gold.name
        assert gold.refresh in ("additive", "groups", "rewrite")
    assert len(set(GOLD.names())) == len(GOLD)
    with pytest.raises(ValueError, match="built twice"):
        GOLD.table("pricing_summary")(lambda read, groups=None: read("lineitem"))


def test_the_jobs_build_exactly_the_gold_tables_the_core_declares() -> None:
    from lakehouse_core.gold import GOLD_TABLES
    from lakehouse_jobs.gold import GOLD
    from lakehouse_jobs.gold.registry import GoldRegistry

    assert [(t.name, t.sources, t.key, t.description) for t in GOLD] == [
        (t.name, t.sources, t.key, t.description) for t in GOLD_TABLES
    ]
    with pytest.raises(KeyError, match="unknown gold table 'nope'; declared: revenue_by"):
        GOLD.table("nope")
    partial = GoldRegistry()
    partial.table("users_by_location")(lambda read, groups=None: read("users"))
    with pytest.raises(ValueError, match=r"without a build: .*'revenue_by_nation_month'"):
        partial.check_complete()


def test_selecting_by_pipeline_or_dataset_and_unknown_names() -> None:
    from lakehouse_jobs.gold import GOLD

    assert [d.name for d in CATALOG.select_datasets(["users"])] == ["users"]
    assert [d.name for d in CATALOG.select_datasets(["tpch"])] == list(PIPELINES["tpch"])
    users = [d.name for d in CATALOG.select_datasets(["users"])]
    assert [g.name for g in GOLD.reading(users)] == ["users_by_location"]
    with pytest.raises(KeyError, match="unknown dataset 'nope'"):
        CATALOG.select_datasets(["nope"])


def test_dataset_tables_list_bronze_and_silver_once() -> None:
    tables = CATALOG.dataset_tables()
    assert len(tables) == len(set(tables))
    assert (Layer.SILVER, "orders_rejects") in tables
    assert {layer for layer, _ in tables} == {Layer.BRONZE, Layer.SILVER}


def test_the_layer_list_lives_in_one_place() -> None:
    import typing

    from lakehouse.cli import common
    from lakehouse_jobs.main import parse_args

    cli_choices = typing.get_args(common.LayerName)  # what `--layer` accepts

    assert tuple(layer.value for layer in Layer) == ("bronze", "silver", "gold")
    assert (*(layer.value for layer in Layer), "all") == LAYER_CHOICES
    assert cli_choices == LAYER_CHOICES
    assert layers_for("all") == tuple(Layer)
    assert layers_for("silver") == (Layer.SILVER,)
    with pytest.raises(ValueError, match="unknown layer 'platinum'"):
        layers_for("platinum")
    assert parse_args(["gold"]).layer == "gold"


def test_lookups_that_fail_name_what_there_is() -> None:
    """The whole message, so that a changed or dropped part of it is seen."""
    with pytest.raises(ValueError) as layer:
        layers_for("platinum")
    assert str(layer.value) == "unknown layer 'platinum'; use one of bronze, silver, gold, all"
    with pytest.raises(ValueError) as batch:
        parse_batch_dir("batch=x/")
    assert str(batch.value) == (
        "landing directory 'batch=x/' is not a batch: name batch directories "
        "'batch=<number>', for example 'batch=000001'"
    )
    orders = CATALOG.dataset("orders")
    assert orders.column("o_orderkey").name == "o_orderkey"
    with pytest.raises(KeyError) as column:
        orders.column("o_nope")
    assert column.value.args[0] == "dataset 'orders' has no column 'o_nope'"
    with pytest.raises(KeyError) as dataset:
        CATALOG.dataset("nope")
    known = ", ".join(d.name for d in CATALOG.datasets)
    assert dataset.value.args[0] == f"unknown dataset 'nope'; the catalog has: {known}"


def test_a_lake_on_a_filesystem_keeps_the_same_keys_under_its_root() -> None:
    lake = CATALOG.with_bucket("lake")
    local = lake.on_filesystem("file:/tmp/lake/")
    assert lake.uri("landing/x") == "s3a://lake/landing/x"
    assert local.uri("landing/x") == "file:/tmp/lake/landing/x"
    assert local.table_uri(Layer.GOLD, "t") == "file:/tmp/lake/deltalake/gold/t"


def test_an_unknown_gold_table_lists_the_declared_ones() -> None:
    from lakehouse_core.gold import GOLD_NAMES, gold_table

    assert gold_table(GOLD_NAMES[0]).name == GOLD_NAMES[0]
    with pytest.raises(KeyError) as unknown:
        gold_table("nope")
    assert unknown.value.args[0] == f"unknown gold table 'nope'; declared: {', '.join(GOLD_NAMES)}"
