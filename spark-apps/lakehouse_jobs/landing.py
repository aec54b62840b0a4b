"""Reading landing batches into raw rows without losing anything.

Each file is read with its *own* header, so a file with an unknown extra column or a
missing one is still read; the drift is recorded per row (``_extra_columns`` keeps the
extra values as JSON, ``_missing_columns`` names what was absent) and silver quarantines
those rows. Lines that do not parse land in ``_corrupt_record`` verbatim. Nothing is cast
here: every raw column is a string, exactly as it arrived.
"""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass
from functools import reduce
from typing import Any

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StringType, StructField, StructType

from lakehouse_core.catalog import (
    CORRUPT_RECORD_COLUMN,
    EXTRA_COLUMNS_COLUMN,
    MISSING_COLUMNS_COLUMN,
    SOURCE_FILE_COLUMN,
    Dataset,
    parse_batch_dir,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LandingFile:
    uri: str
    size: int


def _hadoop_fs(spark: SparkSession, uri: str) -> tuple[Any, Any]:
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    path = jvm.org.apache.hadoop.fs.Path(uri)
    return path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()), path


def _is_hidden(name: str) -> bool:
    return name.startswith(("_", "."))


def list_batches(spark: SparkSession, dataset_uri: str) -> dict[int, str]:
    """Batch id -> batch directory URI; entries that are not batch directories are skipped."""
    fs, path = _hadoop_fs(spark, dataset_uri)
    if not fs.exists(path):
        return {}
    batches: dict[int, str] = {}
    for status in fs.listStatus(path):
        name = status.getPath().getName()
        if _is_hidden(name):
            continue
        if not status.isDirectory():
            log.warning(
                "ignoring %s/%s: landing files belong in batch=<n>/ folders", dataset_uri, name
            )
            continue
        try:
            batch_id = parse_batch_dir(name)
        except ValueError as err:
            log.warning("ignoring %s/%s: %s", dataset_uri.rstrip("/"), name, err)
            continue
        if batch_id in batches:
            raise ValueError(
                f"two landing folders name batch {batch_id} under {dataset_uri}: "
                f"{batches[batch_id]} and {status.getPath().toString()}; keep one"
            )
        batches[batch_id] = status.getPath().toString()
    return batches


def list_files(spark: SparkSession, batch_uri: str) -> list[LandingFile]:
    fs, path = _hadoop_fs(spark, batch_uri)
    files = []
    for status in fs.listStatus(path):
        name = status.getPath().getName()
        if status.isDirectory() or _is_hidden(name):
            continue
        files.append(LandingFile(status.getPath().toString(), int(status.getLen())))
    return sorted(files, key=lambda f: f.uri)


def _read_first_line(spark: SparkSession, uri: str) -> str:
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    fs, path = _hadoop_fs(spark, uri)
    reader = jvm.java.io.BufferedReader(jvm.java.io.InputStreamReader(fs.open(path), "UTF-8"))
    try:
        line = reader.readLine()
    finally:
        reader.close()
    return (line or "").lstrip("\ufeff")


def _header_names(header_line: str) -> list[str]:
    """Column names from a CSV header; blanks and repeats get names that mark them extra."""
    raw = next(csv.reader([header_line]), [])
    names: list[str] = []
    for i, field_name in enumerate(raw):
        name = field_name.strip() or f"_unnamed_{i + 1}"
        while name in names:
            name = f"{name}_dup"
        names.append(name)
    return names


def _drift_columns(dataset: Dataset, present: list[str]) -> tuple[Column, Column]:
    known = set(dataset.raw_column_names)
    extra = [n for n in present if n not in known]
    missing = [c for c in dataset.column_names if c not in present]
    extra_col = (
        F.to_json(F.struct(*[F.col(f"`{n}`").alias(n) for n in extra]))
        if extra
        else F.lit(None).cast("string")
    )
    missing_col = F.lit(",".join(missing)) if missing else F.lit(None).cast("string")
    return extra_col, missing_col


def _read_csv_file(spark: SparkSession, dataset: Dataset, file: LandingFile) -> DataFrame:
    names = _header_names(_read_first_line(spark, file.uri))
    schema = StructType(
        [StructField(n, StringType(), True) for n in names]
        + [StructField(CORRUPT_RECORD_COLUMN, StringType(), True)]
    )
    df = (
        spark.read.schema(schema)
        .option("header", True)
        .option("enforceSchema", True)
        .option("mode", "PERMISSIVE")
        .option("columnNameOfCorruptRecord", CORRUPT_RECORD_COLUMN)
        .option("escape", '"')
        .option("encoding", "UTF-8")
        .csv(file.uri)
    )
    extra_col, missing_col = _drift_columns(dataset, names)
    raw = [
        (F.col(f"`{c}`") if c in names else F.lit(None).cast("string")).alias(c)
        for c in dataset.raw_column_names
    ]
    return df.select(
        *raw,
        F.col(CORRUPT_RECORD_COLUMN),
        extra_col.alias(EXTRA_COLUMNS_COLUMN),
        missing_col.alias(MISSING_COLUMNS_COLUMN),
        F.lit(file.uri).alias(SOURCE_FILE_COLUMN),
    )


def _read_json_lines_file(spark: SparkSession, dataset: Dataset, file: LandingFile) -> DataFrame:
    lines = spark.read.text(file.uri).where(F.trim("value") != "")
    # A map keeps every key, so an unexpected field is kept (as JSON) rather than dropped.
    parsed = lines.select("value", F.from_json("value", "map<string,string>").alias("m"))
    known = list(dataset.raw_column_names)
    known_array = F.array(*[F.lit(k) for k in known])
    extras = F.map_filter("m", lambda k, _v: ~F.array_contains(known_array, k))
    return parsed.select(
        *[F.col("m").getItem(c).alias(c) for c in known],
        F.when(F.col("m").isNull(), F.col("value")).alias(CORRUPT_RECORD_COLUMN),
        F.when(F.size(extras) > 0, F.to_json(extras)).alias(EXTRA_COLUMNS_COLUMN),
        F.lit(None).cast("string").alias(MISSING_COLUMNS_COLUMN),
        F.lit(file.uri).alias(SOURCE_FILE_COLUMN),
    )


def read_batch(spark: SparkSession, dataset: Dataset, files: list[LandingFile]) -> DataFrame | None:
    """All rows of a batch's non-empty files as raw strings; None when there are none."""
    frames = []
    for file in files:
        if file.size == 0:
            log.warning("skipping empty file %s", file.uri)
            continue
        if dataset.source_format == "csv":
            frames.append(_read_csv_file(spark, dataset, file))
        elif dataset.source_format == "json":
            frames.append(_read_json_lines_file(spark, dataset, file))
        else:  # pragma: no cover - the catalog only declares csv and json
            raise ValueError(f"dataset {dataset.name}: unknown format {dataset.source_format}")
    if not frames:
        return None
    return reduce(DataFrame.unionByName, frames)
