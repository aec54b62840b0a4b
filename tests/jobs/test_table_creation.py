"""Creating a table after a driver was killed half-way through creating it.

Found by the fault suite: Delta makes ``_delta_log`` before it writes commit 0, and a
driver killed in between left a folder that made every later run fail.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pyspark.sql import SparkSession
from pyspark.sql.types import StringType, StructField, StructType

from lakehouse_jobs import delta_io
from tests.jobs.conftest import local_frame

pytestmark = pytest.mark.jobs

SCHEMA = StructType([StructField("name", StringType(), True)])


def test_a_log_folder_without_a_commit_is_an_interrupted_creation(
    spark: SparkSession, tmp_path: Path
) -> None:
    (tmp_path / "t" / "_delta_log").mkdir(parents=True)
    uri = f"file:{tmp_path / 't'}"
    assert delta_io.ensure_table(spark, uri, SCHEMA, {}) == 0
    assert spark.read.format("delta").load(uri).schema == SCHEMA


def test_a_committed_table_is_never_recreated(spark: SparkSession, tmp_path: Path) -> None:
    uri = f"file:{tmp_path / 't'}"
    delta_io.ensure_table(spark, uri, SCHEMA, {})
    local_frame(spark, [("kept",)], SCHEMA).write.format("delta").mode("append").save(uri)
    assert delta_io.ensure_table(spark, uri, SCHEMA, {}) == 1
    assert [r["name"] for r in spark.read.format("delta").load(uri).collect()] == ["kept"]
