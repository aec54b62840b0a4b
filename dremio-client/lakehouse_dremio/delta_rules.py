"""What Dremio OSS 25.2 can read of a Delta table: its rules, in this project's own words.

Dremio's Delta reader (``sabot/kernel/.../store/deltalake`` in the dremio-oss 25.2.0
source) is narrower than Delta itself. Replaying the log segment the way it does:

* it finds the newest checkpoint through ``_delta_log/_last_checkpoint`` (its ``version``
  and ``parts``), reads the classic single-file or multi-part Parquet checkpoint (or any
  ``<version>.checkpoint*.parquet`` file), and falls back to that version's JSON commit
  when there is none; then it replays every later JSON commit;
* in the checkpoint and in every commit it replays, the only protocol field it reads is
  ``minReaderVersion``: above 2 it stops with "Deltalake format version N is not
  supported. Please use version 2." Writer versions and table features are never read,
  so a reader-3 table is refused even when its feature lists are empty;
* the data files must be Parquet (``metaData.format.provider``), else "Non-parquet delta
  lake tables aren't supported";
* the schema's primitive types must be boolean, byte, short, integer, long, float,
  double, string, binary, date, decimal(p,s) or timestamp (read as milliseconds, no time
  zone); any other primitive, ``timestamp_ntz`` for one, stops it with "Unsupported type :
  X". Unknown complex types are dropped, not refused; column mapping (none, name, id) is
  fine.

``check_table`` applies these rules to a table on any ``pyarrow.fs`` filesystem (MinIO
through S3, or a local folder) and returns what Dremio would see; ``DremioCannotRead``
carries Dremio's message. The integration tests run it on every table the jobs write, and
the Dremio double reads every table through it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lakehouse_core.errors import LakehouseError

if TYPE_CHECKING:
    from pyarrow.fs import FileSystem

SUPPORTED_READER_VERSION = 2
FORMAT_NOT_SUPPORTED = "Deltalake format version {} is not supported. Please use version {}."
NON_PARQUET = "Non-parquet delta lake tables aren't supported"
UNSUPPORTED_TYPE = "Unsupported type : {}"
# Delta primitive type -> the type Dremio reports for it.
PRIMITIVES = {
    "boolean": "BOOLEAN",
    "byte": "INTEGER",
    "short": "INTEGER",
    "integer": "INTEGER",
    "long": "BIGINT",
    "float": "FLOAT",
    "double": "DOUBLE",
    "string": "VARCHAR",
    "binary": "VARBINARY",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
}
DECIMAL = re.compile(r"^decimal\(\s*(\d+)\s*,\s*(\d+)\s*\)$")
COMMIT = re.compile(r"^(\d{20})\.json$")


class DremioCannotRead(LakehouseError):
    """Dremio 25.2 would refuse this table; the message is the one Dremio gives."""

    hint = (
        "keep every table at Delta reader version <= 2: no deletion vectors, no "
        "TimestampNTZ, classic checkpoints (the jobs' session settings do)"
    )


@dataclass(frozen=True)
class ColumnType:
    name: str  # Dremio's type name: BIGINT, DECIMAL, TIMESTAMP, ...
    precision: int | None = None
    scale: int | None = None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        if self.precision is not None:
            out.update({"precision": self.precision, "scale": self.scale})
        return out


@dataclass
class TableSnapshot:
    """What Dremio would read: the version, the columns, the live Parquet files."""

    root: str
    version: int
    columns: list[tuple[str, ColumnType]] = field(default_factory=list)
    files: list[str] = field(default_factory=list)  # relative paths of live data files
    partition_columns: list[str] = field(default_factory=list)


def dremio_type(delta_type: Any) -> ColumnType | None:
    """The Dremio type of a Delta schema type; None for a complex type Dremio drops."""
    if isinstance(delta_type, dict):
        kind = str(delta_type.get("type", ""))
        if kind == "struct":
            fields = [f for f in delta_type.get("fields", []) if dremio_type(f["type"])]
            return ColumnType("STRUCT") if fields else None
        if kind == "array":
            return ColumnType("LIST") if dremio_type(delta_type["elementType"]) else None
        if kind == "map":
            if isinstance(delta_type.get("keyType"), dict):
                return None
            dremio_type(delta_type["keyType"])  # an unsupported key type is refused
            return ColumnType("MAP") if dremio_type(delta_type["valueType"]) else None
        return None
    name = str(delta_type)
    decimal = DECIMAL.match(name)
    if decimal:
        return ColumnType("DECIMAL", int(decimal.group(1)), int(decimal.group(2)))
    if name in PRIMITIVES:
        return ColumnType(PRIMITIVES[name])
    raise DremioCannotRead(UNSUPPORTED_TYPE.format(name))


def _check_protocol(protocol: dict[str, Any] | None) -> None:
    if not protocol:
        return
    reader = int(protocol.get("minReaderVersion") or 1)
    if reader > SUPPORTED_READER_VERSION:
        raise DremioCannotRead(FORMAT_NOT_SUPPORTED.format(reader, SUPPORTED_READER_VERSION))


class _Replay:
    """The table state as Dremio accumulates it, action by action."""

    def __init__(self) -> None:
        self.metadata: dict[str, Any] | None = None
        self.files: dict[str, bool] = {}

    def apply(self, action: dict[str, Any]) -> None:
        if action.get("protocol"):
            _check_protocol(action["protocol"])
        if action.get("metaData"):
            self.metadata = action["metaData"]
        if action.get("add"):
            self.files[action["add"]["path"]] = True
        if action.get("remove"):
            self.files.pop(action["remove"]["path"], None)


def _read_text(fs: FileSystem, path: str) -> str:
    with fs.open_input_stream(path) as stream:
        return bytes(stream.read()).decode("utf-8")


def _exists(fs: FileSystem, path: str) -> bool:
    from pyarrow.fs import FileType

    return bool(fs.get_file_info(path).type != FileType.NotFound)


def _log_files(fs: FileSystem, log_dir: str) -> list[str]:
    from pyarrow.fs import FileSelector

    return sorted(info.base_name for info in fs.get_file_info(FileSelector(log_dir)))


def _checkpoint_files(names: list[str], version: int, parts: int) -> list[str]:
    """The checkpoint files Dremio reads for ``version``: classic names first, then any."""
    if parts > 1:
        classic = [
            f"{version:020d}.checkpoint.{i:010d}.{parts:010d}.parquet" for i in range(1, parts + 1)
        ]
    else:
        classic = [f"{version:020d}.checkpoint.parquet"]
    if all(name in names for name in classic):
        return classic
    prefix = f"{version:020d}.checkpoint"
    found = [n for n in names if n.startswith(prefix) and n.endswith(".parquet")]
    return found if found and (parts <= 1 or len(found) == parts) else []


def _checkpoint_actions(fs: FileSystem, paths: list[str]) -> list[dict[str, Any]]:
    import pyarrow.parquet as pq

    actions: list[dict[str, Any]] = []
    for path in paths:
        with fs.open_input_file(path) as handle:
            table = pq.read_table(handle)
        for row in table.to_pylist():
            actions.append({k: v for k, v in row.items() if v is not None})
    return actions


def check_table(fs: FileSystem, root: str, version: int | None = None) -> TableSnapshot:
    """Replay the log as Dremio 25.2 does; DremioCannotRead with Dremio's message if it would
    refuse. ``version`` pins an older version (``AT SNAPSHOT``); default: the newest."""
    root = root.rstrip("/")
    log_dir = f"{root}/_delta_log"
    names = _log_files(fs, log_dir)
    commits = sorted(int(m.group(1)) for n in names if (m := COMMIT.match(n)))
    if not commits:
        raise DremioCannotRead(f"Metadata log is empty for delta dataset {root}.")
    latest = commits[-1] if version is None else version
    if version is not None and version not in commits:
        raise DremioCannotRead(
            f"The provided snapshot ID '{version}' is invalid for delta dataset {root}."
        )
    start, parts = 0, 1
    if "_last_checkpoint" in names:
        last = json.loads(_read_text(fs, f"{log_dir}/_last_checkpoint").splitlines()[0])
        start, parts = int(last.get("version", 0)), int(last.get("parts", 1) or 1)
    if start > latest:  # an older version than the newest checkpoint: replay from 0
        start, parts = 0, 1
    replay = _Replay()
    checkpoint = _checkpoint_files(names, start, parts) if start else []
    if checkpoint:
        for action in _checkpoint_actions(fs, [f"{log_dir}/{n}" for n in checkpoint]):
            replay.apply(action)
        first_commit = start + 1
    else:
        first_commit = 0
    for commit in (c for c in commits if first_commit <= c <= latest):
        for line in _read_text(fs, f"{log_dir}/{commit:020d}.json").splitlines():
            if line.strip():
                replay.apply(json.loads(line))
    return _snapshot(root, latest, replay)


def _snapshot(root: str, version: int, replay: _Replay) -> TableSnapshot:
    metadata = replay.metadata or {}
    provider = str((metadata.get("format") or {}).get("provider", ""))
    if provider.lower() != "parquet":
        raise DremioCannotRead(NON_PARQUET)
    schema = json.loads(metadata.get("schemaString") or '{"fields": []}')
    columns = []
    for column in schema.get("fields", []):
        kind = dremio_type(column["type"])
        if kind is not None:
            columns.append((str(column["name"]), kind))
    return TableSnapshot(
        root=root,
        version=version,
        columns=columns,
        files=sorted(replay.files),
        partition_columns=list(metadata.get("partitionColumns") or []),
    )


def is_delta_table(fs: FileSystem, root: str) -> bool:
    return _exists(fs, f"{root.rstrip('/')}/_delta_log")
