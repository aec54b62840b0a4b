"""Delta tables written by hand, byte by byte, for the rules check's negative cases.

Each one is a valid Parquet data file plus a ``_delta_log`` that breaks exactly one of
Dremio 25.2's rules (and nothing else), on any ``pyarrow.fs`` filesystem: a local folder
in the unit tests, MinIO in the contract and integration tests.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from pyarrow.fs import FileSystem

SCHEMA = {
    "type": "struct",
    "fields": [
        {"name": "id", "type": "long", "nullable": False, "metadata": {}},
        {"name": "name", "type": "string", "nullable": True, "metadata": {}},
    ],
}
ROWS = pa.table({"id": pa.array([1, 2], pa.int64()), "name": ["a", "b"]})


def _write(fs: FileSystem, path: str, data: bytes) -> None:
    with fs.open_output_stream(path) as out:
        out.write(data)


def _commit(actions: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(a) + "\n" for a in actions).encode()


def write_table(
    fs: FileSystem,
    root: str,
    *,
    protocol: dict[str, Any] | None = None,
    schema: dict[str, Any] | None = None,
    provider: str = "parquet",
    rows: pa.Table = ROWS,
) -> None:
    """One commit: commitInfo, protocol, metaData and one added Parquet file."""
    fs.create_dir(f"{root}/_delta_log", recursive=True)
    data_file = f"part-00000-{uuid.uuid4()}.snappy.parquet"
    with fs.open_output_stream(f"{root}/{data_file}") as out:
        pq.write_table(rows, out)
    actions = [
        {"commitInfo": {"timestamp": 1_700_000_000_000, "operation": "WRITE"}},
        {"protocol": protocol or {"minReaderVersion": 1, "minWriterVersion": 2}},
        {
            "metaData": {
                "id": str(uuid.uuid4()),
                "format": {"provider": provider, "options": {}},
                "schemaString": json.dumps(schema or SCHEMA),
                "partitionColumns": [],
                "configuration": {},
                "createdTime": 1_700_000_000_000,
            }
        },
        {
            "add": {
                "path": data_file,
                "partitionValues": {},
                "size": 1,
                "modificationTime": 1_700_000_000_000,
                "dataChange": True,
            }
        },
    ]
    _write(fs, f"{root}/_delta_log/{0:020d}.json", _commit(actions))


def append_commit(fs: FileSystem, root: str, version: int, actions: list[dict[str, Any]]) -> None:
    _write(fs, f"{root}/_delta_log/{version:020d}.json", _commit(actions))


def reader3_with_empty_features(fs: FileSystem, root: str) -> None:
    write_table(
        fs,
        root,
        protocol={
            "minReaderVersion": 3,
            "minWriterVersion": 7,
            "readerFeatures": [],
            "writerFeatures": [],
        },
    )


def timestamp_ntz_column(fs: FileSystem, root: str) -> None:
    """A reader-1 log whose schema names timestamp_ntz: only the type rule can refuse it."""
    schema = {
        "type": "struct",
        "fields": [
            {"name": "id", "type": "long", "nullable": False, "metadata": {}},
            {"name": "at", "type": "timestamp_ntz", "nullable": True, "metadata": {}},
        ],
    }
    rows = pa.table({"id": pa.array([1], pa.int64()), "at": pa.array([0], pa.timestamp("us"))})
    write_table(fs, root, schema=schema, rows=rows)


def v2_checkpoint(fs: FileSystem, root: str) -> None:
    """A table that moved to v2 checkpoints (Delta's v2Checkpoint feature) at version 1:
    its newest checkpoint is UUID-named, and the protocol in it asks for reader version 3."""
    write_table(fs, root)
    protocol = {
        "minReaderVersion": 3,
        "minWriterVersion": 7,
        "readerFeatures": ["v2Checkpoint"],
        "writerFeatures": ["v2Checkpoint"],
    }
    append_commit(
        fs,
        root,
        1,
        [
            {"commitInfo": {"timestamp": 1_700_000_001_000, "operation": "SET TBLPROPERTIES"}},
            {"protocol": protocol},
        ],
    )
    checkpoint = pa.table({"protocol": pa.array([protocol])})
    name = f"{1:020d}.checkpoint.{uuid.uuid4()}.parquet"
    with fs.open_output_stream(f"{root}/_delta_log/{name}") as out:
        pq.write_table(checkpoint, out)
    _write(
        fs,
        f"{root}/_delta_log/_last_checkpoint",
        json.dumps({"version": 1, "size": 1, "v2Checkpoint": {"path": name}}).encode(),
    )


def non_parquet(fs: FileSystem, root: str) -> None:
    write_table(fs, root, provider="csv")


NEGATIVE = {
    "reader3_with_empty_features": (
        reader3_with_empty_features,
        "Deltalake format version 3 is not supported. Please use version 2.",
    ),
    "timestamp_ntz_column": (timestamp_ntz_column, "Unsupported type : timestamp_ntz"),
    "v2_checkpoint": (
        v2_checkpoint,
        "Deltalake format version 3 is not supported. Please use version 2.",
    ),
    "non_parquet": (non_parquet, "Non-parquet delta lake tables aren't supported"),
}
