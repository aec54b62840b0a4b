"""Dremio 25.2's rules refuse what Dremio refuses, with Dremio's messages, on real storage:
hand-written negative logs in MinIO, and tables Spark writes with features Dremio lacks."""

from __future__ import annotations

import pytest
from pyarrow.fs import FileSelector
from pyspark.sql import SparkSession

from lakehouse.s3 import S3Endpoint
from lakehouse_dremio.delta_rules import DremioCannotRead, check_table
from tests.delta_fixtures import NEGATIVE

from .conftest import new_lake, s3_filesystem

pytestmark = pytest.mark.integration
FORMAT_3 = "Deltalake format version 3 is not supported. Please use version 2."


@pytest.mark.parametrize("case", sorted(NEGATIVE))
def test_negative_fixtures_in_minio(s3_endpoint: S3Endpoint, case: str) -> None:
    catalog, _ = new_lake(s3_endpoint, "rules")
    fs = s3_filesystem(s3_endpoint)
    make, message = NEGATIVE[case]
    root = f"{catalog.bucket}/deltalake/gold/{case}"
    make(fs, root)
    with pytest.raises(DremioCannotRead) as refused:
        check_table(fs, root)
    assert refused.value.message == message


def test_spark_tables_with_features_dremio_lacks_are_refused(
    spark: SparkSession, s3_endpoint: S3Endpoint
) -> None:
    """What a job would write if its session settings slipped: Dremio could read none of it."""
    catalog, _ = new_lake(s3_endpoint, "spark-rules")
    fs = s3_filesystem(s3_endpoint)
    uri = catalog.uri("deltalake/gold/{}")
    spark.sql("SELECT 1 AS id, TIMESTAMP_NTZ'2025-01-01 00:00:00' AS at").write.format(
        "delta"
    ).save(uri.format("ntz"))
    deletion_vectors = (
        spark.range(3).write.format("delta").option("delta.enableDeletionVectors", "true")
    )
    deletion_vectors.save(uri.format("dv"))
    v2 = spark.range(3).write.format("delta").option("delta.checkpointPolicy", "v2")
    v2.save(uri.format("v2"))
    for name in ("ntz", "dv", "v2"):
        with pytest.raises(DremioCannotRead) as refused:
            check_table(fs, uri.format(name).removeprefix("s3a://"))
        assert refused.value.message == FORMAT_3, name
    plain = uri.format("plain")
    spark.range(3).write.format("delta").save(plain)
    assert [n for n, _ in check_table(fs, plain.removeprefix("s3a://")).columns] == ["id"]


@pytest.mark.parametrize("part_size", [None, 2], ids=["single-file", "multi-part"])
def test_classic_checkpoints_are_read_through_last_checkpoint(
    spark: SparkSession, s3_endpoint: S3Endpoint, part_size: int | None
) -> None:
    """Twelve commits: Spark checkpoints at version 10; Dremio reads it, then 11."""
    catalog, _ = new_lake(s3_endpoint, "checkpoints")
    fs = s3_filesystem(s3_endpoint)
    uri = catalog.uri("deltalake/gold/counted")
    if part_size:
        spark.conf.set("spark.databricks.delta.checkpoint.partSize", str(part_size))
    try:
        for n in range(12):
            spark.range(n, n + 1).write.format("delta").mode("append").save(uri)
    finally:
        spark.conf.unset("spark.databricks.delta.checkpoint.partSize")
    root = uri.removeprefix("s3a://")
    log = [i.base_name for i in fs.get_file_info(FileSelector(f"{root}/_delta_log"))]
    checkpoints = [n for n in log if ".checkpoint." in n]
    assert "_last_checkpoint" in log
    assert (len(checkpoints) > 1) == bool(part_size), checkpoints
    snapshot = check_table(fs, root)
    assert snapshot.version == 11
    assert len(snapshot.files) == 12  # eleven from the checkpoint (0-10), one replayed after
