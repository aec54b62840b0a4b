"""The scheduled backup: the lake copied, inside the cluster, to the ``backups/`` prefix of
its own bucket, in the layout ``lakehouse backup`` writes and ``lakehouse restore`` reads
(``lakehouse_core.backup_layout``), keeping the newest ``keep`` backups.

The copy is consistent for the same reason as the CLI's: the driver holds the pipeline's
Lease (``main.one_writer``), so no commit lands while the tables' versions are chosen and
copied. Every Delta table is taken at its latest version: its log up to that version, the
data files that version references (as Delta reads them), and its change-data files; the
landing files whole. Files are read and written by the JVM's Hadoop file system (S3A in the
cluster), never through Python, and a file whose checksum is already stored is not copied
again, so a nightly backup of a lake that changed little writes little.

This copy lives in the same MinIO as the lake: it undoes a bad write, a dropped table or an
operator's mistake, not the loss of the cluster; for that, ``lakehouse backup --to`` a
store elsewhere (docs/recovery.md). Dremio's catalog is not in it (the job has no Dremio
credentials); a restore sets Dremio's tables up again, and the stack's own views come back
with its bootstrap.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass
from typing import Any

from pyspark.sql import SparkSession

from lakehouse_core import backup_layout as layout
from lakehouse_core.catalog import BACKUPS_PREFIX, DELTA_PREFIX, LANDING_PREFIX, LakeCatalog
from lakehouse_core.errors import LakehouseError

log = logging.getLogger(__name__)

# The image's release (its Dockerfile sets it from the build argument).
RELEASE_ENV = "LAKEHOUSE_VERSION"
RESTORE_STAGING = f"{DELTA_PREFIX}/_restore/"
BUFFER = 1 << 20


class BackupIncomplete(LakehouseError):
    """A table's version names a file the bucket no longer holds."""


@dataclass(frozen=True)
class BackupSummary:
    backup_id: str
    tables: int
    files: int
    bytes: int
    copied: int
    copied_bytes: int
    dropped: list[str]
    seconds: float


class _Files:
    """The bucket through Hadoop's FileSystem (the JVM side of the Spark session)."""

    def __init__(self, spark: SparkSession, catalog: LakeCatalog) -> None:
        jvm: Any = spark.sparkContext._jvm
        self.jvm = jvm
        self.conf = spark.sparkContext._jsc.hadoopConfiguration()
        self.base = catalog.uri("")
        self.fs = jvm.org.apache.hadoop.fs.Path(self.base).getFileSystem(self.conf)

    def path(self, key: str) -> Any:
        return self.jvm.org.apache.hadoop.fs.Path(self.base + key)

    def keys(self, prefix: str) -> dict[str, int]:
        """Every object under ``prefix`` (key -> size); nothing when it does not exist."""
        root = self.path(prefix)
        if not self.fs.exists(root):
            return {}
        found: dict[str, int] = {}
        listing = self.fs.listFiles(root, True)
        while listing.hasNext():
            status = listing.next()
            found[self.key_of(status.getPath().toString())] = int(status.getLen())
        return found

    def key_of(self, uri: str) -> str:
        """The object key of a file URI under the bucket."""
        if uri.startswith(self.base):
            return uri[len(self.base) :]
        # file:///x and file:/x name the same file; so do s3a URIs with or without a slash.
        bare = self.base.split(":", 1)[1].lstrip("/")
        return uri.split(":", 1)[1].lstrip("/")[len(bare) :]

    def exists(self, key: str) -> bool:
        return bool(self.fs.exists(self.path(key)))

    def sha256(self, key: str) -> str:
        digest = self.jvm.java.security.MessageDigest.getInstance("SHA-256")
        stream = self.jvm.java.security.DigestInputStream(self.fs.open(self.path(key)), digest)
        sink = self.jvm.java.io.OutputStream.nullOutputStream()
        self.jvm.org.apache.hadoop.io.IOUtils.copyBytes(stream, sink, BUFFER, True)
        return bytes(digest.digest()).hex()

    def copy(self, source: str, target: str) -> None:
        self.jvm.org.apache.hadoop.fs.FileUtil.copy(
            self.fs, self.path(source), self.fs, self.path(target), False, True, self.conf
        )

    def write(self, key: str, data: bytes) -> None:
        out = self.fs.create(self.path(key), True)
        try:
            out.write(bytearray(data))
        finally:
            out.close()

    def read(self, key: str) -> bytes:
        stream = self.fs.open(self.path(key))
        try:
            return bytes(stream.readAllBytes())
        finally:
            stream.close()

    def delete(self, key: str) -> None:
        self.fs.delete(self.path(key), False)


def _data_keys(spark: SparkSession, files: _Files, prefix: str, version: int) -> list[str]:
    """The data files ``version`` of the table references, as Delta itself reads them."""
    frame = spark.read.format("delta").option("versionAsOf", version).load(files.base + prefix)
    return sorted(files.key_of(uri) for uri in frame.inputFiles())


def run(
    spark: SparkSession,
    catalog: LakeCatalog,
    *,
    keep: int,
    release: str | None = None,
    now: float | None = None,
) -> BackupSummary:
    """Take one backup of the lake into ``<bucket>/backups/``, then keep the newest ``keep``."""
    started = time.monotonic()
    files = _Files(spark, catalog)
    store = f"{BACKUPS_PREFIX}/"
    lake = {
        k: n for k, n in files.keys(f"{DELTA_PREFIX}/").items() if not k.startswith(RESTORE_STAGING)
    }
    landing = files.keys(f"{LANDING_PREFIX}/")
    sizes = {**lake, **landing}
    stored = set(files.keys(store + layout.OBJECTS_DIR + "/"))
    counts = {"copied": 0, "bytes": 0}

    def take(key: str) -> dict[str, Any]:
        sha = files.sha256(key)
        target = store + layout.object_key(sha)
        if target not in stored:
            files.copy(key, target)
            stored.add(target)
            counts["copied"] += 1
            counts["bytes"] += sizes[key]
        return {"key": key, "sha256": sha, "size": sizes[key]}

    tables: list[dict[str, Any]] = []
    for prefix in layout.table_prefixes(lake):
        version = layout.latest_version(prefix, lake)
        if version < 0:
            continue  # its first commit never landed: nothing to keep
        data = sorted(
            {*_data_keys(spark, files, prefix, version), *layout.change_data_keys(prefix, lake)}
        )
        missing = [k for k in data if k not in sizes]
        if missing:
            raise BackupIncomplete(
                f"{prefix} version {version} names {len(missing)} file(s) the bucket lacks, "
                f"e.g. {missing[0]}; no backup was written",
                hint="see which commit removed it with `lakehouse table history`; restore the "
                "table to a version whose files are all there (`lakehouse table restore`)",
            )
        tables.append(
            {
                "prefix": prefix,
                "version": version,
                "data": [take(k) for k in data],
                "log": [take(k) for k in layout.log_keys(prefix, lake, version)],
            }
        )
        log.info("backup: %s at version %d", prefix, version)
    landed = [take(k) for k in sorted(landing)]
    backup_id = layout.backup_id(now)
    manifest = {
        "format": layout.FORMAT,
        "release": release or os.environ.get(RELEASE_ENV) or "unknown",
        "backup_id": backup_id,
        "source": f"bucket {catalog.bucket} (the scheduled backup in the cluster)",
        "bucket": catalog.bucket,
        "tables": tables,
        "landing": landed,
        "dremio": None,
        "settings": {},
    }
    files.write(store + layout.manifest_key(backup_id), json.dumps(manifest, indent=1).encode())
    dropped = prune(files, store, keep)
    every = [f for t in tables for f in (*t["data"], *t["log"])] + landed
    return BackupSummary(
        backup_id=backup_id,
        tables=len(tables),
        files=len(every),
        bytes=sum(f["size"] for f in every),
        copied=counts["copied"],
        copied_bytes=counts["bytes"],
        dropped=dropped,
        seconds=round(time.monotonic() - started, 1),
    )


def prune(files: _Files, store: str, keep: int) -> list[str]:
    """Keep the newest ``keep`` backups; drop the others, then every file only they held."""
    manifests_dir = store + layout.MANIFESTS_DIR + "/"
    ids = [
        k[len(manifests_dir) :].removesuffix(layout.MANIFEST_SUFFIX)
        for k in files.keys(manifests_dir)
        if k.endswith(layout.MANIFEST_SUFFIX)
    ]
    dropped = layout.to_drop(ids, keep)
    for backup_id in dropped:
        files.delete(store + layout.manifest_key(backup_id))
    kept = {}
    for backup_id in sorted(set(ids) - set(dropped)):
        manifest = json.loads(files.read(store + layout.manifest_key(backup_id)))
        listed = [f for t in manifest["tables"] for f in (*t["data"], *t["log"])]
        listed += manifest["landing"] + ([manifest["dremio"]] if manifest.get("dremio") else [])
        kept[backup_id] = [f["sha256"] for f in listed]
    objects = {k.rsplit("/", 1)[-1]: k for k in files.keys(store + layout.OBJECTS_DIR + "/")}
    for sha in layout.unreferenced(objects, kept):
        files.delete(objects[sha])
    return dropped
