"""The layout of a backup, shared by the two programs that write one: ``lakehouse backup``
(delta-rs and boto3, on a person's machine) and the scheduled backup job (Spark, in the
cluster). Both must produce what ``lakehouse restore`` reads, so the layout, the choice of
a table's log files and the retention rule live here once, in plain Python (the job image
carries this module, not the application).

A backup store holds files by checksum (``objects/<sha[:2]>/<sha256>``), so a file already
there is never copied again, and one manifest per backup (``manifests/<id>.json``), written
last: a backup exists only once it is complete.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping

# The manifest's own format; a restore reads this one and older ones.
FORMAT = 1
OBJECTS_DIR = "objects"
MANIFESTS_DIR = "manifests"
MANIFEST_SUFFIX = ".json"

LOG_DIR = "_delta_log"
CHANGE_DATA_DIR = "_change_data"
_LOG_FILE = re.compile(r"^(\d{20})\.(?:json|crc|checkpoint(?:\.\d+\.\d+)?\.parquet)$")
_COMMIT = re.compile(r"^(\d{20})\.json$")
LAST_CHECKPOINT = "_last_checkpoint"


def object_key(sha256: str) -> str:
    """Where a file with this content lives in a store."""
    return f"{OBJECTS_DIR}/{sha256[:2]}/{sha256}"


def manifest_key(backup_id: str) -> str:
    return f"{MANIFESTS_DIR}/{backup_id}{MANIFEST_SUFFIX}"


def backup_id(now: float | None = None) -> str:
    """A backup's id: the UTC second it was taken (sorts in time order)."""
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))


def table_prefixes(keys: Iterable[str]) -> list[str]:
    """Every Delta table among ``keys``: a prefix with a _delta_log/ below it."""
    found = set()
    for key in keys:
        head, marker, _ = key.partition(f"/{LOG_DIR}/")
        if marker:
            found.add(head)
    return sorted(found)


def latest_version(prefix: str, keys: Iterable[str]) -> int:
    """The newest committed version of the table at ``prefix`` (-1: none committed)."""
    versions = [
        int(m.group(1))
        for key in keys
        if key.startswith(f"{prefix}/{LOG_DIR}/") and (m := _COMMIT.match(key.rsplit("/", 1)[-1]))
    ]
    return max(versions) if versions else -1


def log_keys(prefix: str, keys: Iterable[str], version: int) -> list[str]:
    """The log of ``prefix`` up to ``version``; _last_checkpoint names a checkpoint at or
    below the version (the writer holds the lake's lock, so it cannot be newer)."""
    chosen = []
    for key in keys:
        if not key.startswith(f"{prefix}/{LOG_DIR}/"):
            continue
        name = key.rsplit("/", 1)[-1]
        match = _LOG_FILE.match(name)
        if (match and int(match.group(1)) <= version) or name == LAST_CHECKPOINT:
            chosen.append(key)
    return sorted(chosen)


def change_data_keys(prefix: str, keys: Iterable[str]) -> list[str]:
    """The table's change-data files: gold's next refresh reads the feed it has not
    consumed yet, so a restored lake keeps all of it."""
    return sorted(k for k in keys if k.startswith(f"{prefix}/{CHANGE_DATA_DIR}/"))


def to_drop(manifest_ids: Iterable[str], keep: int) -> list[str]:
    """The backups retention removes: all but the newest ``keep``."""
    if keep < 1:
        raise ValueError(f"keep must be at least 1, not {keep}")
    ids = sorted(manifest_ids)
    return ids[: max(0, len(ids) - keep)]


def unreferenced(objects: Iterable[str], kept: Mapping[str, Iterable[str]]) -> list[str]:
    """The stored files (by checksum) that no kept backup lists: safe to delete."""
    needed = {sha for files in kept.values() for sha in files}
    return sorted(sha for sha in objects if sha not in needed)
