"""``divergence()`` sees each kind of damage planted in a real lake.

The fault suite's verdict "0 lost, 0 duplicated" is only worth something if the check finds
a duplicate row, a lost row, a changed value and a batch audited twice when they are there.
Each case copies a lake the pipeline wrote, plants one defect with delta-rs (an independent
writer), and asserts the check names it; the untouched copy is clean.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from deltalake import DeltaTable, write_deltalake
from pyspark.sql import SparkSession

from lakehouse.datagen.landing import GeneratorSettings, generate
from lakehouse.s3 import ObjectStore, S3Endpoint
from lakehouse_core.catalog import LakeCatalog, Layer
from lakehouse_jobs.main import run_layers

from .conftest import new_lake
from .divergence import divergence

pytestmark = pytest.mark.integration

SETTINGS = GeneratorSettings(scale=0.001, seed=11, fraction=0.02)


@pytest.fixture(scope="module")
def written(spark: SparkSession, s3_endpoint: S3Endpoint) -> tuple[LakeCatalog, ObjectStore]:
    catalog, store = new_lake(s3_endpoint, "divergence")
    generate(store, SETTINGS, change_batches=1, catalog=catalog, log=lambda _m: None)
    run_layers(spark, catalog, "all")
    return catalog, store


def copy_of(
    written: tuple[LakeCatalog, ObjectStore], s3_endpoint: S3Endpoint, label: str
) -> LakeCatalog:
    _, source = written
    catalog, store = new_lake(s3_endpoint, label)
    for key in source.keys(""):
        store.client.copy_object(
            Bucket=catalog.bucket, Key=key, CopySource={"Bucket": source.bucket, "Key": key}
        )
    return catalog


def table(endpoint: S3Endpoint, uri: str) -> DeltaTable:
    return DeltaTable(uri.replace("s3a://", "s3://"), storage_options=endpoint.delta_rs_options())


def append_first_row(endpoint: S3Endpoint, uri: str) -> None:
    dt = table(endpoint, uri)
    first = dt.to_pyarrow_table().slice(0, 1)
    write_deltalake(
        uri.replace("s3a://", "s3://"),
        first,
        mode="append",
        storage_options=endpoint.delta_rs_options(),
    )


PLANTS: dict[str, Callable[[S3Endpoint, LakeCatalog], object]] = {
    "a duplicated silver row": lambda e, c: append_first_row(
        e, c.table_uri(Layer.SILVER, "orders")
    ),
    "a lost silver row": lambda e, c: table(e, c.table_uri(Layer.SILVER, "customer")).delete(
        "c_custkey = 1"
    ),
    "a changed gold value": lambda e, c: table(
        e, c.table_uri(Layer.GOLD, "order_status_summary")
    ).update({"order_count": "order_count + 1"}, predicate="o_orderstatus = 'F'"),
    "a batch audited twice": lambda e, c: append_first_row(
        e, c.system_table_uri(c.audit_table(Layer.BRONZE))
    ),
}


def test_an_untouched_lake_is_clean(
    written: tuple[LakeCatalog, ObjectStore], s3_endpoint: S3Endpoint, tmp_path: Path
) -> None:
    assert divergence(s3_endpoint, written[0], tmp_path) == (0, 0, {})


@pytest.mark.parametrize("plant", PLANTS)
def test_planted_damage_is_seen(
    written: tuple[LakeCatalog, ObjectStore], s3_endpoint: S3Endpoint, tmp_path: Path, plant: str
) -> None:
    catalog = copy_of(written, s3_endpoint, plant.split()[-2][:8])
    assert divergence(s3_endpoint, catalog, tmp_path / "before") == (0, 0, {})  # the copy
    PLANTS[plant](s3_endpoint, catalog)
    lost, duplicated, detail = divergence(s3_endpoint, catalog, tmp_path / "after")
    if plant == "a duplicated silver row":
        assert (lost, duplicated) == (0, 1), detail
        assert detail == {"silver.orders": {"wrong_or_missing": 0, "extra": 1}}
    elif plant == "a lost silver row":
        assert (lost, duplicated) == (1, 0), detail
        assert detail == {"silver.customer": {"wrong_or_missing": 1, "extra": 0}}
    elif plant == "a changed gold value":
        assert (lost, duplicated) == (1, 0), detail
        assert detail == {"gold.order_status_summary": {"wrong_or_missing": 1, "extra": 0}}
    else:
        [problem] = [v for k, v in detail.items() if k.startswith("audit.bronze.")]
        assert problem == "audited 2 times" and (lost, duplicated) == (0, 0), detail
