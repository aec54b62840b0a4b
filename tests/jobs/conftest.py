"""The jobs' fast tier: real Spark and Delta on this machine, no object store, tiny frames.

Every test here runs against one local Spark session (one core, small shuffles) and, where a
table is needed, Delta tables in a temporary folder. A change to a job is checked in seconds;
the integration tier runs the same jobs over S3A against a real MinIO.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakehouse.local.jvm import QUICK_START, class_data_sharing
from lakehouse.local.spark import LocalSpark, local_session
from lakehouse_core.catalog import (
    BATCH_ID_COLUMN,
    CATALOG,
    INGESTED_AT_COLUMN,
    SOURCE_FILE_COLUMN,
    Dataset,
    LakeCatalog,
)
from lakehouse_jobs.bronze import bronze_schema

pytestmark = pytest.mark.jobs


@pytest.fixture(scope="session")
def spark() -> Iterator[SparkSession]:
    session = local_session(
        "lakehouse-jobs-tests",
        LocalSpark(
            None,
            cores=1,
            driver_memory="1g",
            shuffle_partitions=1,
            extra_conf={
                "spark.sql.adaptive.enabled": "false",
                # Frames of a few rows: interpreting a query costs less than generating
                # and compiling its Java (about a fifth of this tier's time). Spark's
                # own test suites switch the same way; the integration tier and every
                # real run keep code generation.
                "spark.sql.codegen.wholeStage": "false",
                "spark.sql.codegen.factoryMode": "NO_CODEGEN",
            },
            # A JVM that lives a minute: compile quickly, and map the classes that the
            # previous run archived (the first run writes the archive as its JVM exits).
            java_options=(*QUICK_START, *class_data_sharing("jobs-tests")),
        ),
    )
    yield session
    session.stop()


@pytest.fixture
def lake(tmp_path: Path) -> LakeCatalog:
    """The catalog's layout in a temporary folder instead of a bucket."""
    # Hadoop's own spelling (file:/path): Delta compares table locations as strings.
    return CATALOG.on_filesystem(f"file:{tmp_path / 'lake'}")


def raw_rows(
    spark: SparkSession,
    dataset: Dataset,
    rows: list[Mapping[str, str | None]],
    batch_id: int = 1,
) -> DataFrame:
    """Bronze rows for ``dataset``: every raw column a string, as a landing file gives them."""
    schema = bronze_schema(dataset)
    system = {BATCH_ID_COLUMN, SOURCE_FILE_COLUMN, INGESTED_AT_COLUMN}
    strings = [f.name for f in schema.fields if f.name not in system]
    data = [tuple(row.get(name) for name in strings) for row in rows]
    frame = spark.createDataFrame(data, f"{', '.join(f'`{n}` string' for n in strings)}")
    return frame.select(
        *[F.col(f"`{n}`") for n in strings],
        F.lit(f"file:/landing/{dataset.name}/part-0.csv").alias(SOURCE_FILE_COLUMN),
        F.lit(batch_id).cast("bigint").alias(BATCH_ID_COLUMN),
        F.current_timestamp().alias(INGESTED_AT_COLUMN),
    )
