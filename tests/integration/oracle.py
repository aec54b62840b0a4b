"""An independent oracle: DuckDB computes silver and gold straight from the landing files.

It shares nothing with the Spark jobs but the catalog's column names and types. Where
the jobs MERGE batch after batch, the oracle takes, per key, the single latest change
over all batches (highest sequence, then highest batch) and drops keys whose latest
change is a delete: the same answer reached another way.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
from deltalake import DeltaTable

from lakehouse.s3 import ObjectStore, S3Endpoint
from lakehouse_core.catalog import (
    CHANGE_SEQ_COLUMN,
    OP_COLUMN,
    Dataset,
    LakeCatalog,
    Layer,
)

DUCKDB_TYPES = {
    "bigint": "BIGINT",
    "int": "INTEGER",
    "string": "VARCHAR",
    "date": "DATE",
    "timestamp": "TIMESTAMPTZ",
}


def duck_type(spark_type: str) -> str:
    return DUCKDB_TYPES.get(spark_type, spark_type.upper())


def open_delta(endpoint: S3Endpoint, uri: str, version: int | None = None) -> DeltaTable:
    """A table read with delta-rs, an implementation independent of Spark's."""
    return DeltaTable(
        uri.replace("s3a://", "s3://"),
        version=version,
        storage_options=endpoint.delta_rs_options(),
    )


def read_delta_rows(
    endpoint: S3Endpoint, uri: str, version: int | None = None
) -> list[dict[str, Any]]:
    table = open_delta(endpoint, uri, version).to_pyarrow_table()
    return list(table.to_pylist())


class Oracle:
    def __init__(self, store: ObjectStore, catalog: LakeCatalog, workdir: Path) -> None:
        self.catalog = catalog
        self.workdir = workdir
        for key in store.keys("landing/"):
            target = workdir / key
            target.parent.mkdir(parents=True, exist_ok=True)
            data = store.get_bytes(key)
            assert data is not None
            target.write_bytes(data)
        self.con = duckdb.connect()
        self.con.execute("SET TimeZone = 'UTC'")

    def files(self, dataset: str, max_batch: int | None = None) -> list[str]:
        root = self.workdir / "landing" / dataset
        found = []
        for path in sorted(root.glob("batch=*/*")):
            batch = int(path.parent.name.split("=")[1])
            if path.stat().st_size and (max_batch is None or batch <= max_batch):
                found.append(str(path))
        return found

    def _raw_sql(self, dataset: Dataset, files: list[str]) -> str:
        listing = ", ".join(f"'{f}'" for f in files)
        if dataset.source_format == "csv":
            return (
                f"SELECT * FROM read_csv([{listing}], header=true, all_varchar=true, "
                "union_by_name=true, filename=true, quote='\"', escape='\"')"
            )
        columns = ", ".join(f"'{c}': 'VARCHAR'" for c in dataset.column_names)
        return (
            f"SELECT * FROM read_json([{listing}], format='newline_delimited', "
            f"columns={{{columns}}}, filename=true)"
        )

    def silver_sql(self, dataset: Dataset, max_batch: int | None = None) -> str:
        files = self.files(dataset.name, max_batch)
        raw_columns = set(
            self.con.execute(f"SELECT * FROM ({self._raw_sql(dataset, files)}) LIMIT 0")
            .fetchdf()
            .columns
        )
        typed = ", ".join(
            f"TRY_CAST({c.name} AS {duck_type(c.type)}) AS {c.name}" for c in dataset.columns
        )
        op = f"coalesce(upper({OP_COLUMN}), 'U')" if OP_COLUMN in raw_columns else "'U'"
        if dataset.sequence_by == CHANGE_SEQ_COLUMN and CHANGE_SEQ_COLUMN in raw_columns:
            seq = f"TRY_CAST({CHANGE_SEQ_COLUMN} AS BIGINT)"
        elif dataset.sequence_by and dataset.sequence_by != CHANGE_SEQ_COLUMN:
            sequence = dataset.column(dataset.sequence_by)
            seq = f"TRY_CAST({sequence.name} AS {duck_type(sequence.type)})"
        else:
            seq = "NULL"
        keys = ", ".join(dataset.key)
        columns = ", ".join(dataset.column_names)
        return f"""
            WITH raw AS ({self._raw_sql(dataset, files)}),
            typed AS (
                SELECT {typed}, {op} AS op, {seq} AS seq,
                       CAST(regexp_extract(filename, 'batch=([0-9]+)', 1) AS BIGINT) AS batch_id
                FROM raw),
            latest AS (
                SELECT *, row_number() OVER (
                    PARTITION BY {keys} ORDER BY seq DESC NULLS LAST, batch_id DESC) AS rn
                FROM typed)
            SELECT {columns} FROM latest WHERE rn = 1 AND op <> 'D' ORDER BY {keys}"""

    def silver(self, dataset: Dataset, max_batch: int | None = None) -> list[dict[str, Any]]:
        return self._rows(self.silver_sql(dataset, max_batch))

    def landing_row_count(self, dataset: Dataset) -> int:
        files = self.files(dataset.name)
        row = self.con.execute(f"SELECT count(*) FROM ({self._raw_sql(dataset, files)})").fetchone()
        assert row is not None
        return int(row[0])

    def register_silver(self) -> None:
        for dataset in self.catalog.datasets:
            self.con.execute(
                f"CREATE OR REPLACE TABLE {dataset.name} AS {self.silver_sql(dataset)}"
            )

    def gold(self, name: str) -> list[dict[str, Any]]:
        return self._rows(GOLD_SQL[name])

    def _rows(self, sql: str) -> list[dict[str, Any]]:
        cursor = self.con.execute(sql)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


GOLD_SQL = {
    "revenue_by_nation_month": """
        SELECT n.n_name AS nation, CAST(date_trunc('month', o.o_orderdate) AS DATE) AS order_month,
               SUM(l.l_extendedprice * (1 - l.l_discount)) AS revenue,
               COUNT(DISTINCT o.o_orderkey) AS order_count, COUNT(*) AS line_count
        FROM lineitem l JOIN orders o ON l.l_orderkey = o.o_orderkey
        JOIN customer c ON o.o_custkey = c.c_custkey JOIN nation n ON c.c_nationkey = n.n_nationkey
        GROUP BY 1, 2 ORDER BY 1, 2""",
    "order_status_summary": """
        SELECT o_orderstatus, COUNT(*) AS order_count, SUM(o_totalprice) AS total_price
        FROM orders GROUP BY 1 ORDER BY 1""",
    "pricing_summary": """
        SELECT l_returnflag, l_linestatus, SUM(l_quantity) AS sum_qty,
               SUM(l_extendedprice) AS sum_base_price,
               SUM(l_extendedprice * (1 - l_discount)) AS sum_disc_price,
               SUM(l_extendedprice * (1 - l_discount) * (1 + l_tax)) AS sum_charge,
               AVG(l_quantity) AS avg_qty, AVG(l_extendedprice) AS avg_price,
               AVG(l_discount) AS avg_disc, COUNT(*) AS count_order,
               SUM(l_discount) AS sum_discount
        FROM lineitem WHERE l_shipdate <= DATE '1998-09-02' GROUP BY 1, 2 ORDER BY 1, 2""",
    "users_by_location": """
        SELECT location, COUNT(*) AS user_count, MAX(timestamp) AS last_seen
        FROM users GROUP BY 1 ORDER BY 1 NULLS FIRST""",
}


def normalise(value: Any) -> Any:
    """Compare decimals and floats by value (Spark averages are decimals, DuckDB's doubles)."""
    if isinstance(value, Decimal):
        return round(float(value), 6)
    if isinstance(value, float):
        return round(value, 6)
    return value


def assert_same_rows(
    actual: list[dict[str, Any]], expected: list[dict[str, Any]], key: tuple[str, ...], label: str
) -> None:
    columns = list(expected[0]) if expected else []

    def keyed(rows: list[dict[str, Any]]) -> dict[tuple[Any, ...], tuple[Any, ...]]:
        out = {}
        for r in rows:
            k = tuple(r[c] for c in key)
            assert k not in out, f"{label}: key {k} appears twice"
            out[k] = tuple(normalise(r[c]) for c in columns)
        return out

    got, want = keyed(actual), keyed(expected)
    missing = sorted(set(want) - set(got), key=str)[:5]
    extra = sorted(set(got) - set(want), key=str)[:5]
    assert not missing and not extra, f"{label}: missing keys {missing}, unexpected keys {extra}"
    differing = [(k, got[k], want[k]) for k in want if got[k] != want[k]][:3]
    assert not differing, f"{label}: rows differ (key, spark, oracle): {differing}"
    assert len(got) == len(want)


def table_uri(catalog: LakeCatalog, layer: Layer, name: str) -> str:
    return catalog.table_uri(layer, name)


def as_dremio_shows(row: dict[str, Any]) -> dict[str, Any]:
    """The oracle's row as Dremio shows it: timestamps at millisecond precision, in UTC,
    without a zone."""
    out = {}
    for name, value in row.items():
        if isinstance(value, dt.datetime):
            utc = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
            out[name] = utc.replace(microsecond=utc.microsecond // 1000 * 1000)
        else:
            out[name] = value
    return out
