"""Landing files as they really arrive, through bronze and silver on a local disk.

RFC 4180 CSV in full (quoted delimiters, doubled quotes, line breaks inside quotes, CRLF, a
UTF-8 BOM), compressed files, JSON lines with exact numbers. Every value of a valid row must
reach silver exactly as written, every unreadable row must land in rejects with a reason,
and the counts must reconcile per file. The property tests write arbitrary text into every
string column and check each value round-trips.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import io
import json
from pathlib import Path
from urllib.parse import urlparse

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from lakehouse_core.catalog import (
    CATALOG,
    CORRUPT_RECORD_COLUMN,
    SOURCE_FILE_COLUMN,
    LakeCatalog,
    Layer,
)
from lakehouse_jobs.landing import (
    SPLIT_CHECK_MIN_BYTES_CONF,
    LandingFile,
    line_wise,
    read_batch,
)
from lakehouse_jobs.main import run_layers

pytestmark = pytest.mark.integration

REGION_HEADER = ["r_regionkey", "r_name", "r_comment"]


def batch_dir(lake: LakeCatalog, dataset: str, batch: int) -> Path:
    folder = Path(urlparse(lake.landing_uri(dataset, batch)).path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def csv_bytes(rows: list[list[str]], *, newline: str, bom: bool, quote_all: bool) -> bytes:
    out = io.StringIO()
    csv.writer(
        out, lineterminator=newline, quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL
    ).writerows([REGION_HEADER, *rows])
    return ("\ufeff" if bom else "").encode() + out.getvalue().encode("utf-8")


def write(folder: Path, name: str, data: bytes) -> None:
    if name.endswith(".gz"):
        data = gzip.compress(data)
    elif name.endswith(".bz2"):
        data = bz2.compress(data)
    (folder / name).write_bytes(data)


def silver_rows(
    spark: SparkSession, lake: LakeCatalog, dataset: str
) -> dict[int, tuple[object, ...]]:
    frame = spark.read.format("delta").load(lake.table_uri(Layer.SILVER, dataset))
    key = frame.columns[0]
    return {r[key]: tuple(r)[1:] for r in frame.collect()}


def rejects(spark: SparkSession, lake: LakeCatalog, dataset: str) -> list[dict[str, object]]:
    uri = lake.table_uri(Layer.SILVER, lake.rejects_table(dataset))
    return [r.asDict() for r in spark.read.format("delta").load(uri).collect()]


TRICKY = [
    ["1", "comma, inside", 'a "quoted" word'],
    ["2", "line\nbreak", "crlf\r\ninside"],
    ["3", "  spaces kept  ", "tab\there"],
    ["4", "ünïcödé ✓ 漢字", "emoji 🚀 and \\ backslash"],
    ["5", '"', 'ends with a quote"'],
    ["6", "lone\rcarriage", "x"],
]


@pytest.mark.parametrize(
    ("name", "newline", "bom", "quote_all"),
    [
        ("plain.csv", "\n", False, False),
        ("windows.csv", "\r\n", True, False),
        ("quoted.csv", "\r\n", False, True),
        ("packed.csv.gz", "\n", True, False),
        ("packed.csv.bz2", "\r\n", False, True),
    ],
)
def test_rfc4180_values_reach_silver_exactly(
    spark: SparkSession,
    disk_lake: LakeCatalog,
    name: str,
    newline: str,
    bom: bool,
    quote_all: bool,
) -> None:
    write(
        batch_dir(disk_lake, "region", 1),
        name,
        csv_bytes(TRICKY, newline=newline, bom=bom, quote_all=quote_all),
    )
    results = run_layers(spark, disk_lake, "bronze", ["region"]) + run_layers(
        spark, disk_lake, "silver", ["region"]
    )
    silver = {r.layer: r for r in results}["silver"]
    assert (silver.rows_in, silver.rows_applied, silver.rows_rejected) == (
        len(TRICKY),
        len(TRICKY),
        0,
    )
    assert silver_rows(spark, disk_lake, "region") == {
        int(key): (name_, comment, 1) for key, name_, comment in TRICKY
    }


def test_ragged_and_broken_rows_are_rejected_and_counts_reconcile_per_file(
    spark: SparkSession, disk_lake: LakeCatalog
) -> None:
    folder = batch_dir(disk_lake, "region", 1)
    (folder / "good.csv").write_text("r_regionkey,r_name,r_comment\n1,a,x\n2,b,y\n")
    (folder / "ragged.csv").write_text(
        'r_regionkey,r_name,r_comment\n3,c\n4,d,z,extra\n5,e,ok\n6,"unclosed,q\n'
    )
    write(folder, "also.csv.gz", b"r_regionkey,r_name,r_comment\n7,g,w\n")
    run_layers(spark, disk_lake, "bronze", ["region"])
    (silver,) = run_layers(spark, disk_lake, "silver", ["region"])
    bronze = spark.read.format("delta").load(disk_lake.table_uri(Layer.BRONZE, "region"))
    per_file = {
        Path(r[SOURCE_FILE_COLUMN]).name: r["count"]
        for r in bronze.groupBy(SOURCE_FILE_COLUMN).count().collect()
    }
    rejected = rejects(spark, disk_lake, "region")
    rejected_per_file: dict[str, int] = {}
    for r in rejected:
        name = Path(str(r[SOURCE_FILE_COLUMN])).name
        rejected_per_file[name] = rejected_per_file.get(name, 0) + 1
    applied = silver_rows(spark, disk_lake, "region")
    assert sorted(applied) == [1, 2, 5, 7]
    assert per_file == {"good.csv": 2, "ragged.csv": 4, "also.csv.gz": 1}
    assert rejected_per_file == {"ragged.csv": 3}
    assert {r["reason"] for r in rejected} == {"malformed_record"}
    assert any("3,c" in str(r["raw_record"]) for r in rejected)
    assert silver.rows_in == sum(per_file.values())
    assert silver.rows_in == silver.rows_applied + silver.rows_superseded + silver.rows_rejected


def test_json_lines_keep_numbers_and_nested_values_as_written(
    spark: SparkSession, disk_lake: LakeCatalog
) -> None:
    folder = batch_dir(disk_lake, "users", 1)
    lines = [
        '{"id": 1, "name": "a", "location": "x", "timestamp": "2024-01-01T00:00:00Z"}',
        '{"id": 2, "name": 1.10, "location": {"k": 1.50}, "timestamp": "2024-01-01T00:00:00Z"}',
        '{"id": 3, "name": 12345678901234567890.123, "location": null, "timestamp": "2024-01-01T00:00:00Z"}',  # noqa: E501
        '{"id": 4, "id": 5, "name": "dup"}',
        "not json at all",
        "[1, 2]",
    ]
    data = ("\ufeff" + "\r\n".join(lines) + "\r\n").encode()
    write(folder, "users.jsonl.gz", data)
    run_layers(spark, disk_lake, "bronze", ["users"])
    (silver,) = run_layers(spark, disk_lake, "silver", ["users"])
    rows = silver_rows(spark, disk_lake, "users")
    assert {k: v[:2] for k, v in rows.items()} == {
        1: ("a", "x"),
        2: ("1.10", '{"k":1.50}'),
        3: ("12345678901234567890.123", None),
    }
    assert (silver.rows_in, silver.rows_rejected) == (6, 3)
    assert {r["reason"] for r in rejects(spark, disk_lake, "users")} == {"malformed_record"}


# Any text a CSV field can hold, but NUL (no text format carries it) and U+FFFD (the mark
# of an undecodable byte, which silver rejects as invalid_encoding).
FIELD_TEXT = st.text(
    alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\x00\ufffd"),
    min_size=1,
    max_size=40,
)


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    values=st.lists(st.tuples(FIELD_TEXT, FIELD_TEXT), min_size=1, max_size=25),
    newline=st.sampled_from(["\n", "\r\n"]),
    bom=st.booleans(),
    quote_all=st.booleans(),
    compressed=st.booleans(),
)
def test_any_text_round_trips_through_csv(
    spark: SparkSession,
    tmp_path_factory: pytest.TempPathFactory,
    values: list[tuple[str, str]],
    newline: str,
    bom: bool,
    quote_all: bool,
    compressed: bool,
) -> None:
    lake = CATALOG.on_filesystem(f"file:{tmp_path_factory.mktemp('lake')}")
    rows = [[str(i), name, comment] for i, (name, comment) in enumerate(values, start=1)]
    name = "region.csv.gz" if compressed else "region.csv"
    write(
        batch_dir(lake, "region", 1),
        name,
        csv_bytes(rows, newline=newline, bom=bom, quote_all=quote_all),
    )
    run_layers(spark, lake, "bronze", ["region"])
    (silver,) = run_layers(spark, lake, "silver", ["region"])
    assert silver.rows_rejected == 0, rejects(spark, lake, "region")
    assert silver_rows(spark, lake, "region") == {
        int(key): (name_, comment, 1) for key, name_, comment in rows
    }


JSON_TEXT = st.text(
    alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\ufffd"),
    max_size=40,
)
# A location written as a JSON string, or as a bare JSON number (kept as its exact text).
LOCATION = st.one_of(
    JSON_TEXT.map(lambda text: (text, json.dumps(text, ensure_ascii=False))),
    st.decimals(allow_nan=False, allow_infinity=False, places=4).map(lambda d: (str(d), str(d))),
)


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    values=st.lists(st.tuples(JSON_TEXT, LOCATION), min_size=1, max_size=25),
    newline=st.sampled_from(["\n", "\r\n"]),
)
def test_any_text_and_number_round_trips_through_json_lines(
    spark: SparkSession,
    tmp_path_factory: pytest.TempPathFactory,
    values: list[tuple[str, tuple[str, str]]],
    newline: str,
) -> None:
    lake = CATALOG.on_filesystem(f"file:{tmp_path_factory.mktemp('lake')}")
    lines = [
        f'{{"id": {i}, "name": {json.dumps(name, ensure_ascii=False)}, "location": {written}, '
        '"timestamp": "2024-05-01T12:00:00Z"}'
        for i, (name, (_, written)) in enumerate(values, start=1)
    ]
    write(batch_dir(lake, "users", 1), "users.jsonl", (newline.join(lines) + newline).encode())
    run_layers(spark, lake, "bronze", ["users"])
    (silver,) = run_layers(spark, lake, "silver", ["users"])
    assert silver.rows_rejected == 0, rejects(spark, lake, "users")
    got = {k: v[:2] for k, v in silver_rows(spark, lake, "users").items()}
    assert got == {i: (name, text) for i, (name, (text, _)) in enumerate(values, start=1)}


def test_an_empty_landing_file_is_skipped(spark: SparkSession, disk_lake: LakeCatalog) -> None:
    folder = batch_dir(disk_lake, "region", 1)
    (folder / "empty.csv").write_bytes(b"")
    (folder / "one.csv").write_text("r_regionkey,r_name,r_comment\n1,a,\n")
    (bronze,) = run_layers(spark, disk_lake, "bronze", ["region"])
    assert (bronze.files, bronze.rows_in) == (2, 1)
    frame = spark.read.format("delta").load(disk_lake.table_uri(Layer.BRONZE, "region"))
    assert frame.where(F.col("r_comment").isNull()).count() == 1


def landing_file(folder: Path, name: str, text: str) -> LandingFile:
    path = folder / name
    path.write_bytes(text.encode("utf-8"))
    return LandingFile(f"file:{path}", path.stat().st_size)


@pytest.mark.parametrize(
    ("lines", "whole"),
    [
        (["1,a,x", "2,b,y"], True),  # no quote at all
        (['1,"comma, inside","a ""quoted"" word"', '2,"",""""'], True),  # whole quoted fields
        (['1,"line', 'break",x'], False),  # a quoted line break: a record spans two lines
        (['1,a"b,"c', 'd",x'], False),  # a stray quote: the lines say nothing for certain
        (['1,"closed"then,x'], False),  # text after a closing quote: not RFC 4180
    ],
)
def test_only_files_whose_every_line_is_a_whole_record_are_parsed_line_by_line(
    spark: SparkSession, tmp_path: Path, lines: list[str], whole: bool
) -> None:
    text = "\n".join(["r_regionkey,r_name,r_comment", *lines]) + "\n"
    assert line_wise(spark, landing_file(tmp_path, "f.csv", text), "\n") is whole
    crlf = landing_file(tmp_path, "crlf.csv", text.replace("\n", "\r\n"))
    assert line_wise(spark, crlf, "\r\n") is whole


def test_a_file_parsed_line_by_line_in_many_tasks_reads_what_rfc4180_reads(
    spark: SparkSession, tmp_path: Path
) -> None:
    """Split into many tasks (a small maxPartitionBytes), the line-wise path reads the same
    records, value for value, as the whole-file path and as Python's csv module."""
    rows = [[str(i), f"name, {i}", f'say "{i}"' if i % 3 else f"plain {i}"] for i in range(1, 2001)]
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows([REGION_HEADER, *rows])
    file = landing_file(tmp_path, "many.csv", out.getvalue())
    region = CATALOG.dataset("region")

    def read(whole_lines: bool) -> tuple[int, list[tuple[str, ...]]]:
        least = "0" if whole_lines else str(2**62)
        spark.conf.set(SPLIT_CHECK_MIN_BYTES_CONF, least)
        spark.conf.set("spark.sql.files.maxPartitionBytes", "8192")
        try:
            frame = read_batch(spark, region, [file])
            assert frame is not None
            found = frame.select(*REGION_HEADER, CORRUPT_RECORD_COLUMN).collect()
            return frame.rdd.getNumPartitions(), sorted(tuple(r) for r in found)
        finally:
            spark.conf.set(SPLIT_CHECK_MIN_BYTES_CONF, "0")
            spark.conf.unset("spark.sql.files.maxPartitionBytes")

    tasks, line_by_line = read(whole_lines=True)
    one, whole_file = read(whole_lines=False)
    assert one == 1 and tasks > 4, (tasks, one)
    assert line_by_line == whole_file == sorted((*r, None) for r in rows)
