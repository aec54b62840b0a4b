"""Which objects of a lake make a consistent copy of it.

A Delta table is copied at its latest committed version: the log up to that version
(commits, checkpoints, checksums) and exactly the data files that version references, as
delta-rs reads them; its change-data files too, so gold's next incremental refresh can
read the feed it has not consumed yet. Older versions' files are left out: time travel in
a restored lake starts at the version backed up. The landing files (immutable batches) are
copied whole. The caller holds the lake's writer lock, so no commit lands meanwhile.
"""

from __future__ import annotations

from dataclasses import dataclass

from lakehouse.s3 import ObjectStore
from lakehouse_core.backup_layout import (
    change_data_keys,
    latest_version,
    log_keys,
    table_prefixes,
)
from lakehouse_core.catalog import DELTA_PREFIX, LANDING_PREFIX


@dataclass(frozen=True)
class TablePlan:
    prefix: str
    version: int
    log: list[str]  # object keys
    data: list[str]


def data_keys(store: ObjectStore, prefix: str, version: int) -> list[str]:
    """The data files ``version`` of the table references (delta-rs replays the log)."""
    from deltalake import DeltaTable

    uri = f"s3://{store.bucket}/{prefix}"
    table = DeltaTable(uri, version=version, storage_options=store.endpoint.delta_rs_options())
    base = f"s3://{store.bucket}/"
    return sorted(u.removeprefix(base) for u in table.file_uris())


def plan(store: ObjectStore) -> tuple[list[TablePlan], list[str]]:
    """The tables (each at its latest version) and the landing files of the lake."""
    staging = f"{DELTA_PREFIX}/_restore/"  # a restore's files in flight, not the lake's
    lake_keys = [k for k in store.keys(f"{DELTA_PREFIX}/") if not k.startswith(staging)]
    tables = []
    for prefix in table_prefixes(lake_keys):
        version = latest_version(prefix, lake_keys)
        if version < 0:
            continue  # a table whose first commit never landed: nothing to keep
        change_data = change_data_keys(prefix, lake_keys)
        tables.append(
            TablePlan(
                prefix,
                version,
                log_keys(prefix, lake_keys, version),
                sorted({*data_keys(store, prefix, version), *change_data}),
            )
        )
    landing = sorted(store.keys(f"{LANDING_PREFIX}/"))
    return tables, landing
