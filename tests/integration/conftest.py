"""Fixtures that start real services: a MinIO server process and a local Spark session.

Both are started once per test session on 127.0.0.1 and stopped at the end. Each test
module works in its own bucket, so modules cannot see each other's tables.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from pyarrow.fs import S3FileSystem
from pyspark.sql import SparkSession

from lakehouse.local.minio import LocalMinio
from lakehouse.local.spark import LocalSpark, local_session
from lakehouse.s3 import ObjectStore, S3Endpoint
from lakehouse_core.catalog import CATALOG, LakeCatalog
from lakehouse_jobs.gold.refresh import (
    ADDITIVE_REWRITE_BELOW_BYTES_CONF,
    REWRITE_BELOW_BYTES_CONF,
)
from lakehouse_jobs.landing import SPLIT_CHECK_MIN_BYTES_CONF

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def minio() -> Iterator[LocalMinio]:
    with LocalMinio(log=lambda _msg: None) as server:
        yield server


@pytest.fixture(scope="session")
def s3_endpoint(minio: LocalMinio) -> S3Endpoint:
    return S3Endpoint(minio.endpoint, minio.credentials.access_key, minio.credentials.secret_key)


@pytest.fixture(scope="session")
def spark(s3_endpoint: S3Endpoint) -> Iterator[SparkSession]:
    session = local_session(
        "lakehouse-tests",
        LocalSpark(
            s3_endpoint,
            cores=2,
            driver_memory="2g",
            shuffle_partitions=2,
            extra_conf={
                "spark.databricks.delta.snapshotPartitions": "2",
                "spark.default.parallelism": "2",
                # The tests' lakes are tiny: refresh gold from the change feed, as a large
                # lake does (the choice by cost has its own test, in test_pipeline).
                REWRITE_BELOW_BYTES_CONF: "0",
                ADDITIVE_REWRITE_BELOW_BYTES_CONF: "0",
                # ... and check every landing file for line-wise parsing, as a large one is
                # (the landing tests' files then take whichever path their lines allow).
                SPLIT_CHECK_MIN_BYTES_CONF: "0",
            },
        ),
    )
    yield session
    session.stop()


def new_lake(s3_endpoint: S3Endpoint, label: str) -> tuple[LakeCatalog, ObjectStore]:
    """A fresh bucket with the catalog's layout, for one test module."""
    bucket = f"test-{label}-{secrets.token_hex(3)}"
    store = ObjectStore(s3_endpoint, bucket)
    store.ensure_bucket()
    return CATALOG.with_bucket(bucket), store


def s3_filesystem(endpoint: S3Endpoint) -> S3FileSystem:
    """The MinIO as a pyarrow filesystem: what the Dremio rules check and the double read."""
    return S3FileSystem(
        access_key=endpoint.access_key,
        secret_key=endpoint.secret_key,
        endpoint_override=endpoint.url,
        scheme="http",
        region=endpoint.region,
    )


@pytest.fixture
def disk_lake(tmp_path: Path) -> LakeCatalog:
    """The catalog's layout in a temporary folder: the jobs' whole path without S3."""
    # Hadoop's own spelling (file:/path): Delta compares table locations as strings.
    return CATALOG.on_filesystem(f"file:{tmp_path / 'lake'}")
