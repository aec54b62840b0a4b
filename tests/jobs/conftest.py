"""The jobs' fast tier: real Spark and Delta on this machine, no object store, tiny frames.

Every test here runs against one local Spark session (one core, small shuffles) and, where a
table is needed, Delta tables in a temporary folder. A change to a job is checked in seconds;
the integration tier runs the same jobs over S3A against a real MinIO.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import pyarrow as pa
import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import to_arrow_schema
from pyspark.sql.types import StructType

from lakehouse.local.spark import QUICK_START_JVM, LocalSpark, local_session
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
                # and compiling its Java (a tenth of this tier's time, measured). Spark's
                # own test suites switch the same way; the integration tier and every
                # real run keep code generation.
                "spark.sql.codegen.wholeStage": "false",
                "spark.sql.codegen.factoryMode": "NO_CODEGEN",
            },
            java_options=QUICK_START_JVM,
        ),
    )
    yield session
    session.stop()


@pytest.fixture
def lake(tmp_path: Path) -> LakeCatalog:
    """The catalog's layout in a temporary folder instead of a bucket."""
    # Hadoop's own spelling (file:/path): Delta compares table locations as strings.
    return CATALOG.on_filesystem(f"file:{tmp_path / 'lake'}")


def local_frame(
    spark: SparkSession, rows: Sequence[Sequence[object]], schema: str | StructType
) -> DataFrame:
    """A frame of ``rows`` held by the driver (``schema`` a DDL string or a StructType).

    ``createDataFrame`` of a list of rows sends them through a Python worker each time the
    frame is read (a Spark job of its own, a quarter of a second here); an Arrow table goes
    to the JVM once and becomes a local relation. Same rows, same types; a quarter to a
    third of this tier's time (measured).
    """
    struct = schema if isinstance(schema, StructType) else StructType.fromDDL(schema)
    assert isinstance(struct, StructType), schema
    arrow_schema = to_arrow_schema(struct)
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in struct.fields]
    arrays = [
        pa.array(values, type=field.type)
        for values, field in zip(columns, arrow_schema, strict=True)
    ]
    table = pa.Table.from_arrays(arrays, schema=arrow_schema)
    return spark.createDataFrame(table, schema=struct)


LABEL_COLUMN = "__label"


def raw_rows(
    spark: SparkSession,
    dataset: Dataset,
    rows: Sequence[Mapping[str, str | None]],
    batch_id: int = 1,
    *,
    labels: Sequence[str] | None = None,
) -> DataFrame:
    """Bronze rows for ``dataset``: every raw column a string, as a landing file gives them.

    ``labels`` name the rows (in a ``LABEL_COLUMN`` the jobs never read), so that several
    cases can share one frame and one Spark job and still be told apart afterwards.
    """
    schema = bronze_schema(dataset)
    system = {BATCH_ID_COLUMN, SOURCE_FILE_COLUMN, INGESTED_AT_COLUMN}
    strings = [f.name for f in schema.fields if f.name not in system]
    if labels is not None:
        assert len(labels) == len(rows), "one label per row"
        strings.append(LABEL_COLUMN)
        rows = [{**row, LABEL_COLUMN: label} for row, label in zip(rows, labels, strict=True)]
    data = [tuple(row.get(name) for name in strings) for row in rows]
    frame = local_frame(spark, data, ", ".join(f"`{n}` string" for n in strings))
    return frame.select(
        *[F.col(f"`{n}`") for n in strings],
        F.lit(f"file:/landing/{dataset.name}/part-0.csv").alias(SOURCE_FILE_COLUMN),
        F.lit(batch_id).cast("bigint").alias(BATCH_ID_COLUMN),
        F.current_timestamp().alias(INGESTED_AT_COLUMN),
    )
