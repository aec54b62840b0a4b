"""Delta Lake table plumbing shared by the layers: creation, idempotent writes, versions.

Every write in the pipeline is guarded by Delta's transaction identifiers (``txnAppId`` +
``txnVersion``): Delta records the highest version committed for an application id and
silently skips a write whose version is not higher. A job that crashed after its commit
and is retried therefore cannot apply the same batch twice.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import StructType

log = logging.getLogger(__name__)

# Table properties that every table gets. Deletion vectors would raise the reader version
# to 3, which Dremio OSS cannot read; they are also off in the session defaults, but a
# table property survives a session that forgot.
BASE_PROPERTIES: dict[str, str] = {"delta.enableDeletionVectors": "false"}
APPEND_ONLY_PROPERTIES: dict[str, str] = {**BASE_PROPERTIES, "delta.appendOnly": "true"}
# Change data feed raises only the writer version (4); the reader version stays at 1.
CHANGE_FEED_PROPERTIES: dict[str, str] = {
    **BASE_PROPERTIES,
    "delta.enableChangeDataFeed": "true",
}


def _hadoop(spark: SparkSession, uri: str) -> tuple[Any, Any]:
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    path = jvm.org.apache.hadoop.fs.Path(uri.rstrip("/") + "/_delta_log")
    return path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()), path


def current_version(spark: SparkSession, uri: str) -> int:
    """The latest committed version, or -1 when there is no table yet.

    Read from the names of the commit files in ``_delta_log`` (one listing, no Spark job):
    the Delta protocol names commit n ``<n, 20 digits>.json``. Asking Delta through
    ``history()`` or ``isDeltaTable`` costs a query each, which added seconds to every run.
    """
    fs, log_dir = _hadoop(spark, uri)
    if not fs.exists(log_dir):
        return -1
    versions = [
        int(name[:-5])
        for name in (status.getPath().getName() for status in fs.listStatus(log_dir))
        if len(name) == 25 and name.endswith(".json") and name[:20].isdigit()
    ]
    return max(versions, default=-1)


def table_exists(spark: SparkSession, uri: str) -> bool:
    return current_version(spark, uri) >= 0


def _discard_interrupted_creation(spark: SparkSession, uri: str) -> None:
    """Remove a ``_delta_log`` that holds no commit and no checkpoint.

    Delta creates the log folder before it writes commit 0; a driver killed in between
    leaves the folder alone, and ``createIfNotExists`` then fails on it for ever
    (DELTA_TABLE_NOT_FOUND). Without commit 0 there is no table, so nothing is lost.
    """
    fs, log_dir = _hadoop(spark, uri)
    if not fs.exists(log_dir):
        return
    names = [status.getPath().getName() for status in fs.listStatus(log_dir)]
    if any(name.endswith(".json") or ".checkpoint" in name for name in names):
        return
    log.warning("%s: removing the log of an interrupted table creation %s", uri, names)
    fs.delete(log_dir, True)


def ensure_table(
    spark: SparkSession,
    uri: str,
    schema: StructType,
    properties: Mapping[str, str],
) -> int:
    """Create the table at ``uri`` with this schema and properties unless it exists.

    Returns its current version.
    """
    version = current_version(spark, uri)
    if version < 0:
        _discard_interrupted_creation(spark, uri)
        builder = DeltaTable.createIfNotExists(spark).location(uri).addColumns(schema)
        for key, value in properties.items():
            builder = builder.property(key, value)
        builder.execute()
        log.info("created Delta table %s", uri)
        version = current_version(spark, uri)
    return version


@dataclass(frozen=True)
class Commit:
    version: int
    user_metadata: str | None
    metrics: dict[str, str]
    timestamp_ms: int = 0


@dataclass(frozen=True)
class WriteOutcome:
    """What a guarded write did: committed a new version, or was skipped as a repeat."""

    committed: bool
    version: int
    metrics: dict[str, str]


def commit_at(spark: SparkSession, uri: str, version: int) -> Commit:
    """The commitInfo of one version, read from its commit file (no Spark job)."""
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    fs, log_dir = _hadoop(spark, uri)
    path = jvm.org.apache.hadoop.fs.Path(log_dir, f"{version:020d}.json")
    stream = fs.open(path)
    reader = jvm.java.io.BufferedReader(jvm.java.io.InputStreamReader(stream, "UTF-8"))
    info: dict[str, Any] = {}
    try:
        line = reader.readLine()
        while line is not None:
            action = json.loads(line)
            if "commitInfo" in action:
                info = action["commitInfo"]
                break
            line = reader.readLine()
    finally:
        reader.close()
    metrics = {str(k): str(v) for k, v in (info.get("operationMetrics") or {}).items()}
    return Commit(version, info.get("userMetadata"), metrics, int(info.get("timestamp") or 0))


def checkpoint(spark: SparkSession, uri: str) -> None:
    """Write a checkpoint of the table's latest version (readers then replay few commits)."""
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    delta_log = jvm.org.apache.spark.sql.delta.DeltaLog.forTable(spark._jsparkSession, uri)
    delta_log.checkpoint()


def _last_commit(spark: SparkSession, uri: str) -> Commit | None:
    version = current_version(spark, uri)
    return commit_at(spark, uri, version) if version >= 0 else None


def _token(app_id: str, version: int) -> str:
    """Tags our commit (commitInfo.userMetadata) so we can tell it from a skipped write."""
    return f"{app_id}@{version}#{uuid.uuid4().hex[:12]}"


def _outcome(spark: SparkSession, uri: str, token: str) -> WriteOutcome:
    commit = _last_commit(spark, uri)
    if commit is None:
        return WriteOutcome(False, -1, {})
    committed = commit.user_metadata == token
    return WriteOutcome(committed, commit.version, commit.metrics if committed else {})


def _guarded_write(df: DataFrame, uri: str, app_id: str, version: int, mode: str) -> WriteOutcome:
    token = _token(app_id, version)
    writer = df.write.format("delta").mode(mode)
    if mode == "overwrite":  # a rewrite may follow a changed definition (gold)
        writer = writer.option("overwriteSchema", "true")
    (
        writer.option("txnAppId", app_id)
        .option("txnVersion", version)
        .option("userMetadata", token)
        .save(uri)
    )
    return _outcome(df.sparkSession, uri, token)


def append_idempotent(df: DataFrame, uri: str, app_id: str, version: int) -> WriteOutcome:
    """Append ``df`` unless (app_id, version) was already committed to this table."""
    return _guarded_write(df, uri, app_id, version, "append")


def overwrite_idempotent(df: DataFrame, uri: str, app_id: str, version: int) -> WriteOutcome:
    """Replace the table's rows atomically (one commit) unless already done."""
    return _guarded_write(df, uri, app_id, version, "overwrite")


class GuardedDml:
    """Inside ``with GuardedDml(spark, uri, app, v) as g:`` a MERGE is idempotent for (app, v);
    afterwards ``g.outcome`` says whether it committed."""

    def __init__(self, spark: SparkSession, uri: str, app_id: str, version: int) -> None:
        self._spark, self._uri = spark, uri
        self._app_id, self._version = app_id, version
        self._token = _token(app_id, version)
        self.outcome = WriteOutcome(False, -1, {})

    def __enter__(self) -> GuardedDml:
        conf = self._spark.conf
        conf.set("spark.databricks.delta.write.txnAppId", self._app_id)
        conf.set("spark.databricks.delta.write.txnVersion", str(self._version))
        conf.set("spark.databricks.delta.commitInfo.userMetadata", self._token)
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        for key in ("write.txnAppId", "write.txnVersion", "commitInfo.userMetadata"):
            self._spark.conf.unset(f"spark.databricks.delta.{key}")
        if exc_type is None:
            self.outcome = _outcome(self._spark, self._uri, self._token)
