"""``lakehouse table history|restore``: one table's versions, and putting it back.

History is read from the table's Delta log by delta-rs (no Spark, through the lake's S3
endpoint). A restore runs the jobs' own step (``lakehouse_jobs.restore``): on this
machine's Spark under the local lock, or as a SparkApplication under the pipeline's Lease.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from lakehouse.s3 import ObjectStore
from lakehouse_core.catalog import CATALOG, Layer
from lakehouse_core.errors import LakehouseError


class TableError(LakehouseError):
    """The table named does not exist, or has no history yet."""


@dataclass(frozen=True)
class Version:
    version: int
    when: str
    operation: str
    detail: str


def table_uri(store: ObjectStore, name: str) -> str:
    layer_name, _, table = name.partition(".")
    try:
        layer = Layer(layer_name)
    except ValueError:
        raise TableError(
            f"{name!r} names no layer", hint="name a table as <layer>.<table>, e.g. silver.orders"
        ) from None
    if not table:
        raise TableError(f"{name!r} names no table", hint="e.g. silver.orders")
    return f"s3://{store.bucket}/{CATALOG.table_key(layer, table)}"


def history(store: ObjectStore, name: str, limit: int | None = None) -> list[Version]:
    from deltalake import DeltaTable
    from deltalake.exceptions import TableNotFoundError

    uri = table_uri(store, name)
    try:
        table = DeltaTable(uri, storage_options=store.endpoint.delta_rs_options())
    except TableNotFoundError:
        raise TableError(
            f"there is no table {name} in the lake ({uri})",
            hint="run the pipeline first, or check the name (`<layer>.<table>`)",
        ) from None
    found = []
    for entry in table.history(limit):
        when = dt.datetime.fromtimestamp(int(entry.get("timestamp", 0)) / 1000, dt.timezone.utc)
        found.append(
            Version(
                int(entry["version"]),
                when.strftime("%Y-%m-%d %H:%M:%S UTC"),
                str(entry.get("operation", "")),
                _detail(entry),
            )
        )
    return found


def _detail(entry: dict[str, Any]) -> str:
    metrics = entry.get("operationMetrics") or {}
    parameters = entry.get("operationParameters") or {}
    if entry.get("operation") == "RESTORE":
        target = parameters.get("version") or parameters.get("timestamp")
        return f"to {target}"
    shown = [
        f"{k}={metrics[k]}"
        for k in (
            "numOutputRows",
            "numTargetRowsInserted",
            "numTargetRowsUpdated",
            "numTargetRowsDeleted",
        )
        if metrics.get(k) not in (None, "0", 0)
    ]
    return ", ".join(shown)
