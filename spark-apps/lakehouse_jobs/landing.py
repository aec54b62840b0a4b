"""Reading landing batches into raw rows without losing anything.

Each file is read with its *own* header, so a file with an unknown extra column or a
missing one is still read; the drift is recorded per row (``_extra_columns`` keeps the
extra values as JSON, ``_missing_columns`` names what was absent) and silver quarantines
those rows. Lines that do not parse land in ``_corrupt_record`` verbatim. Nothing is cast
here: every raw column is a string, exactly as it arrived.
"""

from __future__ import annotations

import csv
import json
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

# A CSV file at least this large is checked for whether it can be parsed line by line,
# which Spark splits across tasks; a smaller one is parsed whole (RFC 4180, one task), as a
# split would gain less than the check costs. A Spark setting (the tests set 0, so every
# file takes the check and whichever path it allows).
SPLIT_CHECK_MIN_BYTES_CONF = "spark.lakehouse.bronze.splitCheckMinBytes"
DEFAULT_SPLIT_CHECK_MIN_BYTES = 16 * 2**20
# One CSV field as a line may hold it whole: quoted from its first character to its last
# with inner quotes doubled (RFC 4180), or unquoted (no quote anywhere in it). The quoted
# form is tried first, so each field has one reading and the possessive quantifiers (a
# long line matched in one pass, never backtracking) cannot stop at a wrong one.
_FIELD = r'(?:"(?:[^"]|"")*+"|[^",]*+)'
WHOLE_RECORD_LINE = rf"^{_FIELD}(?:,{_FIELD})*+$"


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


def _codec(spark: SparkSession, path: Any) -> Any:
    """The codec a file's name implies (``.gz``, ``.bz2``, ``.deflate``, ``.zst``, ...), the
    codecs Spark itself reads with; None for a plain file."""
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    factory = jvm.org.apache.hadoop.io.compress.CompressionCodecFactory(
        spark.sparkContext._jsc.hadoopConfiguration()
    )
    return factory.getCodec(path)


def _open(spark: SparkSession, uri: str) -> Any:
    """An input stream of the file's content, decompressed by its codec."""
    fs, path = _hadoop_fs(spark, uri)
    stream = fs.open(path)
    codec = _codec(spark, path)
    return codec.createInputStream(stream) if codec is not None else stream


def first_line(spark: SparkSession, uri: str) -> tuple[str, str]:
    """The file's first line (without a UTF-8 BOM) and the line separator it ends with.

    The separator decides how the rest is parsed: a CRLF file's records end in CRLF, so a
    CR or LF inside a quoted value stays exactly as written.
    """
    stream = _open(spark, uri)
    data = b""
    try:
        while len(data) < 1_048_576:
            chunk = bytes(stream.readNBytes(65_536))  # one call: py4j hands over byte[] whole
            data += chunk
            if b"\n" in data or b"\r" in data.rstrip(b"\r") or len(chunk) < 65_536:
                break
    finally:
        stream.close()
    cr, lf = data.find(b"\r"), data.find(b"\n")
    if lf >= 0 and (cr < 0 or cr > lf):
        end, separator = lf, "\n"
    elif lf >= 0 and cr == lf - 1:
        end, separator = cr, "\r\n"
    elif cr >= 0:
        end, separator = cr, "\r"
    else:
        end, separator = len(data), "\n"
    return data[:end].decode("utf-8", errors="replace").lstrip("\ufeff"), separator


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


def line_wise(spark: SparkSession, file: LandingFile, separator: str) -> bool:
    """Whether every line of the file is a whole record, so that parsing it line by line
    (which Spark splits across tasks) reads exactly the records RFC 4180 parsing reads.

    A quoted field may hold a line break; a line without a quote cannot be inside one, and
    a line with quotes is safe when it is a sequence of whole fields (``WHOLE_RECORD_LINE``).
    Every line starts outside quotes then, so no record spans two lines. One splittable
    pass over the text, stopped by the first line that is not whole; compressed and small
    files are not checked (they are one task either way, or not worth it).
    """
    least = int(spark.conf.get(SPLIT_CHECK_MIN_BYTES_CONF, None) or DEFAULT_SPLIT_CHECK_MIN_BYTES)
    if file.size < least or _codec(spark, _hadoop_fs(spark, file.uri)[1]) is not None:
        return False
    lines = spark.read.option("lineSep", separator).text(file.uri)
    doubtful = F.col("value").contains('"') & ~F.col("value").rlike(WHOLE_RECORD_LINE)
    return lines.where(doubtful).isEmpty()


def _read_csv_file(spark: SparkSession, dataset: Dataset, file: LandingFile) -> DataFrame:
    """One CSV file as RFC 4180 says: quoted fields may hold the delimiter, doubled quotes and
    line breaks, kept exactly as written. Records are split at the file's own line separator:
    line by line where every line is a whole record (``line_wise``: Spark splits the file
    across tasks), else with multiLine parsing (a file is one task, the price of never
    splitting a quoted field). A record with too few or too many fields is flagged by Spark
    in ``_corrupt_record``."""
    header, separator = first_line(spark, file.uri)
    whole_lines = line_wise(spark, file, separator)
    log.info("%s: parsed %s", file.uri, "line by line" if whole_lines else "whole (RFC 4180)")
    names = _header_names(header)
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
        .option("multiLine", not whole_lines)
        .option("lineSep", separator)
        .option("quote", '"')
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


class JsonNumber(str):
    """A JSON number kept as the exact text it was written in (1.10 stays 1.10)."""


class JsonObject(list[tuple[str, Any]]):
    """A JSON object as its (key, value) pairs, in the order written."""


def _json_text(value: Any) -> str:
    """JSON text for a nested value, numbers exactly as they arrived."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, JsonNumber):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, JsonObject):
        fields = (f"{json.dumps(k, ensure_ascii=False)}:{_json_text(v)}" for k, v in value)
        return "{" + ",".join(fields) + "}"
    return "[" + ",".join(_json_text(v) for v in value) + "]"


def _pairs(pairs: list[tuple[str, Any]]) -> JsonObject:
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        repeated = sorted({k for k in keys if keys.count(k) > 1})
        raise ValueError(f"the key(s) {', '.join(repeated)} appear more than once")
    return JsonObject(pairs)


def parse_json_line(line: str | None) -> tuple[dict[str, str | None] | None, str | None]:
    """A JSON-lines record as {field: exact text}, or (None, why it is not one).

    Spark's own JSON reader turns numbers into doubles before it gives them back as text
    (1.10 becomes 1.1, a 20-digit decimal loses digits), so records are parsed here with
    the standard library, keeping each number's text.
    """
    if line is None:
        return None, "empty line"
    text = line.lstrip("\ufeff")
    try:
        parsed = json.loads(
            text,
            parse_float=JsonNumber,
            parse_int=JsonNumber,
            parse_constant=lambda name: (_ for _ in ()).throw(ValueError(f"{name} is not JSON")),
            object_pairs_hook=_pairs,
        )
    except ValueError as err:
        return None, f"not valid JSON: {err}"
    if not isinstance(parsed, JsonObject):
        return None, "not a JSON object"
    record: dict[str, str | None] = {}
    for key, value in parsed:
        if value is None:
            record[key] = None
        elif isinstance(value, str):  # a string, or a number as written
            record[key] = str(value)
        else:
            record[key] = _json_text(value)
    return record, None


_PARSED_SCHEMA = "struct<record: map<string,string>, error: string>"


def _read_json_lines_file(spark: SparkSession, dataset: Dataset, file: LandingFile) -> DataFrame:
    parse = F.udf(parse_json_line, _PARSED_SCHEMA)
    lines = spark.read.text(file.uri).where(F.trim("value") != "")
    parsed = lines.select("value", parse("value").alias("p")).select(
        "value", F.col("p.record").alias("m"), F.col("p.error").alias("error")
    )
    # A map keeps every key, so an unexpected field is kept (as JSON) rather than dropped.
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
