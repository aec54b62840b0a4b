"""The single-node peer: the same medallion steps written plainly with delta-rs and DuckDB.

What a user could pick instead of Spark, measured on the same machine, MinIO and landing
files: bronze (landing CSV -> Delta, every column a string), the silver snapshot (casts,
the same validity rules, latest change per key), one change batch MERGEd into silver with
delta-rs, and gold (DuckDB aggregates written as Delta). Run as its own process
(``python -m bench.peer``) so that its peak memory is its own; it prints one JSON document.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv
from deltalake import DeltaTable, write_deltalake
from pyarrow import fs

from lakehouse_core.catalog import CATALOG, CHANGE_SEQ_COLUMN, OP_COLUMN, TPCH_DATASETS, Dataset

DUCK_TYPES = {"bigint": "BIGINT", "int": "INTEGER", "string": "VARCHAR", "date": "DATE"}


def duck_type(name: str) -> str:
    return DUCK_TYPES.get(name, name.upper())


class Peer:
    def __init__(self, endpoint: str, access_key: str, secret_key: str, source: str, target: str):
        self.s3 = fs.S3FileSystem(
            access_key=access_key, secret_key=secret_key, endpoint_override=endpoint, scheme="http"
        )
        self.options = {
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": access_key,
            "AWS_SECRET_ACCESS_KEY": secret_key,
            "AWS_REGION": "us-east-1",
            "AWS_ALLOW_HTTP": "true",
            "AWS_S3_ALLOW_UNSAFE_RENAME": "true",
        }
        self.source, self.target = source, target
        self.con = duckdb.connect()

    def uri(self, layer: str, name: str) -> str:
        return f"s3://{self.target}/peer/{layer}/{name}"

    def landing(self, dataset: Dataset, batch: int) -> pa.Table:
        folder = f"{self.source}/{CATALOG.landing_key(dataset.name, batch)}"
        tables = []
        for info in self.s3.get_file_info(fs.FileSelector(folder)):
            with self.s3.open_input_stream(info.path) as stream:
                tables.append(
                    pacsv.read_csv(
                        stream,
                        convert_options=pacsv.ConvertOptions(
                            column_types={c: pa.string() for c in dataset.raw_column_names},
                            strings_can_be_null=True,
                        ),
                        parse_options=pacsv.ParseOptions(newlines_in_values=True),
                    )
                )
        table = pa.concat_tables(tables, promote_options="default")
        # A snapshot has no change columns; as in Spark's bronze, they are then null.
        for column in (OP_COLUMN, CHANGE_SEQ_COLUMN):
            if column not in table.column_names:
                table = table.append_column(column, pa.nulls(table.num_rows, pa.string()))
        return table

    def bronze(self, batch: int) -> int:
        rows = 0
        for dataset in TPCH_DATASETS:
            table = self.landing(dataset, batch)
            table = table.append_column("_batch_id", pa.array([batch] * table.num_rows, pa.int64()))
            write_deltalake(self.uri("bronze", dataset.name), table, mode="append",
                            storage_options=self.options)  # fmt: skip
            rows += table.num_rows
        return rows

    def _typed_sql(self, dataset: Dataset, relation: str, keep_deletes: bool) -> str:
        casts, checks = [], []
        for c in dataset.columns:
            cast = f'TRY_CAST("{c.name}" AS {duck_type(c.type)})'
            casts.append(f'{cast} AS "{c.name}"')
            deleted = f"upper(coalesce({OP_COLUMN}, '')) = 'D'"
            applies = "TRUE" if c.name in dataset.key else f"NOT ({deleted})"
            if c.required:
                checks.append(f'NOT ({applies} AND "{c.name}" IS NULL)')
            checks.append(f'NOT ({applies} AND "{c.name}" IS NOT NULL AND {cast} IS NULL)')
            if c.allowed:
                allowed = ", ".join(f"'{a}'" for a in c.allowed)
                checks.append(f"NOT ({applies} AND {cast} NOT IN ({allowed}))")
            if c.min_value is not None:
                checks.append(f"coalesce(NOT ({applies} AND {cast} < {c.min_value}), TRUE)")
            if c.max_value is not None:
                checks.append(f"coalesce(NOT ({applies} AND {cast} > {c.max_value}), TRUE)")
        keys = ", ".join(f'"{k}"' for k in dataset.key)
        seq = f"TRY_CAST({CHANGE_SEQ_COLUMN} AS BIGINT)"
        drop_deletes = "" if keep_deletes else "AND op <> 'D'"
        valid = " AND ".join(f"coalesce({c}, TRUE)" for c in checks)
        content = ", ".join(f'"{c.name}"' for c in dataset.columns)
        # As silver: the latest change per key wins; changes that share a key and the
        # latest sequence but disagree are all rejected (duplicate_key); identical ones
        # count once.
        return f"""
            WITH typed AS (
              SELECT {", ".join(casts)}, {seq} AS {CHANGE_SEQ_COLUMN}, _batch_id,
                     CASE WHEN upper({OP_COLUMN}) = 'D' THEN 'D' ELSE 'U' END AS op
              FROM {relation} WHERE {valid}
            ), latest AS (
              SELECT * FROM (
                SELECT *, rank() OVER (PARTITION BY {keys}
                                       ORDER BY {CHANGE_SEQ_COLUMN} DESC NULLS LAST) AS rk
                FROM typed) WHERE rk = 1
            ), agreed AS (
              SELECT *, count(DISTINCT md5(concat_ws('|', op, {content})))
                          OVER (PARTITION BY {keys}) AS variants,
                        row_number() OVER (PARTITION BY {keys}) AS rn
              FROM latest
            )
            SELECT * EXCLUDE (rk, variants, rn) FROM agreed
            WHERE variants = 1 AND rn = 1 {drop_deletes}
        """

    def silver_snapshot(self) -> dict[str, int]:
        counts = {}
        for dataset in TPCH_DATASETS:
            bronze = DeltaTable(self.uri("bronze", dataset.name), storage_options=self.options)
            self.con.register("bronze", bronze.to_pyarrow_dataset())
            table = self.con.sql(self._typed_sql(dataset, "bronze", False)).to_arrow_table()
            table = table.drop_columns(["op"])
            write_deltalake(self.uri("silver", dataset.name), table, mode="overwrite",
                            storage_options=self.options)  # fmt: skip
            counts[dataset.name] = table.num_rows
            self.con.unregister("bronze")
        return counts

    def merge_changes(self, batch: int) -> dict[str, int]:
        counts = {}
        for dataset in TPCH_DATASETS:
            if dataset.sequence_by is None:
                continue
            raw = self.landing(dataset, batch)
            raw = raw.append_column("_batch_id", pa.array([batch] * raw.num_rows, pa.int64()))
            self.con.register("raw", raw)
            changes = self.con.sql(self._typed_sql(dataset, "raw", True)).to_arrow_table()
            self.con.unregister("raw")
            on = " AND ".join(f't."{k}" = s."{k}"' for k in dataset.key)
            columns = [c.name for c in dataset.columns] + [CHANGE_SEQ_COLUMN, "_batch_id"]
            values = {f'"{c}"': f's."{c}"' for c in columns}
            newer = (
                f"(t.{CHANGE_SEQ_COLUMN} IS NULL OR s.{CHANGE_SEQ_COLUMN} >= t.{CHANGE_SEQ_COLUMN})"
            )
            table = DeltaTable(self.uri("silver", dataset.name), storage_options=self.options)
            (
                table.merge(changes, predicate=on, source_alias="s", target_alias="t")
                .when_matched_delete(predicate=f"s.op = 'D' AND {newer}")
                .when_matched_update(predicate=f"s.op <> 'D' AND {newer}", updates=values)
                .when_not_matched_insert(predicate="s.op <> 'D'", updates=values)
                .execute()
            )
            counts[dataset.name] = (
                DeltaTable(self.uri("silver", dataset.name), storage_options=self.options)
                .to_pyarrow_dataset()
                .count_rows()
            )
        return counts

    def gold(self) -> dict[str, int]:
        for dataset in TPCH_DATASETS:
            silver = DeltaTable(self.uri("silver", dataset.name), storage_options=self.options)
            self.con.register(dataset.name, silver.to_pyarrow_dataset())
        queries = {
            "revenue_by_nation_month": """
                SELECT n_name AS nation,
                       CAST(date_trunc('month', o_orderdate) AS DATE) AS order_month,
                       SUM(l_extendedprice * (1 - l_discount)) AS revenue,
                       COUNT(DISTINCT o_orderkey) AS order_count, COUNT(*) AS line_count
                FROM lineitem JOIN orders ON l_orderkey = o_orderkey
                JOIN customer ON o_custkey = c_custkey JOIN nation ON c_nationkey = n_nationkey
                GROUP BY 1, 2""",
            "order_status_summary": """SELECT o_orderstatus, COUNT(*) AS order_count,
                SUM(o_totalprice) AS total_price FROM orders GROUP BY 1""",
            "pricing_summary": """SELECT l_returnflag, l_linestatus, SUM(l_quantity) AS sum_qty,
                SUM(l_extendedprice) AS sum_base_price,
                SUM(l_extendedprice * (1 - l_discount)) AS sum_disc_price,
                SUM(l_extendedprice * (1 - l_discount) * (1 + l_tax)) AS sum_charge,
                AVG(l_quantity) AS avg_qty, AVG(l_extendedprice) AS avg_price,
                AVG(l_discount) AS avg_disc, COUNT(*) AS count_order
                FROM lineitem WHERE l_shipdate <= DATE '1998-09-02' GROUP BY 1, 2""",
        }
        counts = {}
        for name, sql in queries.items():
            table = self.con.sql(sql).to_arrow_table()
            write_deltalake(self.uri("gold", name), table, mode="overwrite",
                            storage_options=self.options)  # fmt: skip
            counts[name] = table.num_rows
        return counts


def timed(fn: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    out = fn()
    return round(time.perf_counter() - started, 2), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in ("endpoint", "access-key", "secret-key", "source-bucket", "target-bucket"):
        parser.add_argument(f"--{name}", required=True)
    parser.add_argument("--change-batch", type=int, default=2)
    args = parser.parse_args()
    peer = Peer(args.endpoint, args.access_key, args.secret_key, args.source_bucket,
                args.target_bucket)  # fmt: skip
    result: dict[str, Any] = {}
    result["bronze_seconds"], result["bronze_rows"] = timed(lambda: peer.bronze(1))
    result["silver_seconds"], result["silver_rows"] = timed(peer.silver_snapshot)
    result["gold_seconds"], result["gold_rows"] = timed(peer.gold)
    result["change_merge_seconds"], result["silver_rows_after_change"] = timed(
        lambda: peer.merge_changes(args.change_batch)
    )
    # ru_maxrss is in KiB on Linux
    result["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
