"""The SparkSession every job uses, configured so that its Delta tables stay readable by Dremio.

In the cluster, spark-submit (driven by the operator) already set the master, the jars
baked into the image and the S3A endpoint (``hadoopConf`` in the SparkApplication), and
the credentials arrive as AWS_* environment variables from a Secret; the job only adds
the Delta settings. On one machine (demo, tests, bench) the caller passes ``LocalSpark``
and the session puts the version matrix's jars (downloaded once, checksum-verified) on
the classpath: the same files the job image bakes in.
"""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass, field

from pyspark.sql import SparkSession

from lakehouse.s3 import S3Endpoint


def s3a_hadoop_conf(endpoint: S3Endpoint) -> dict[str, str]:
    """Hadoop S3A settings for a path-style, S3-compatible endpoint with static keys."""
    return {
        "fs.s3a.endpoint": endpoint.url,
        "fs.s3a.endpoint.region": endpoint.region,
        "fs.s3a.path.style.access": "true",
        "fs.s3a.connection.ssl.enabled": str(endpoint.url.startswith("https://")).lower(),
        "fs.s3a.access.key": endpoint.access_key,
        "fs.s3a.secret.key": endpoint.secret_key,
        "fs.s3a.aws.credentials.provider": "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider",
    }


@dataclass(frozen=True)
class LocalSpark:
    """Settings for a session on this machine."""

    s3: S3Endpoint
    cores: int = 2
    driver_memory: str = "3g"
    shuffle_partitions: int = 4
    extra_conf: dict[str, str] = field(default_factory=dict)


# Settings every job runs with. Above all they keep every table at Delta reader version
# 1-2, which is all Dremio OSS reads: no deletion vectors, no TimestampNTZ (timestamps are
# always LTZ), classic checkpoints (the default).
SESSION_CONF: dict[str, str] = {
    "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
    "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
    "spark.databricks.delta.properties.defaults.enableDeletionVectors": "false",
    "spark.sql.timestampType": "TIMESTAMP_LTZ",
    "spark.sql.session.timeZone": "UTC",
    # A schema change must be deliberate: never let a write silently add columns.
    "spark.databricks.delta.schema.autoMerge.enabled": "false",
    # Idempotent DML (MERGE with txnAppId/txnVersion) must not leak into the next statement.
    "spark.databricks.delta.write.txnVersion.autoReset.enabled": "true",
    # MERGE sources are deterministic here (persisted, or read at pinned versions), so
    # Delta need not copy them before merging.
    "spark.databricks.delta.merge.materializeSource": "none",
}


def build_session(app_name: str, local: LocalSpark | None = None) -> SparkSession:
    builder = SparkSession.builder.appName(app_name)
    for key, value in SESSION_CONF.items():
        builder = builder.config(key, value)
    if local is not None:
        from lakehouse.local.jars import LOG4J_CONFIG, ensure_spark_jars

        jars = ensure_spark_jars(log=logging.getLogger(__name__).info)
        builder = (
            builder.master(f"local[{local.cores}]")
            .config("spark.jars", ",".join(str(j) for j in jars))
            .config("spark.driver.memory", local.driver_memory)
            .config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile={LOG4J_CONFIG}")
            .config("spark.databricks.delta.snapshotPartitions", str(local.cores))
            .config("spark.default.parallelism", str(local.cores))
            .config("spark.sql.shuffle.partitions", str(local.shuffle_partitions))
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.ui.enabled", "false")
            .config("spark.sql.adaptive.enabled", "true")
            # Tables are addressed by path; keep Spark's empty default warehouse out of the cwd.
            .config("spark.sql.warehouse.dir", f"{tempfile.gettempdir()}/lakehouse-spark-warehouse")
        )
        for key, value in s3a_hadoop_conf(local.s3).items():
            builder = builder.config(f"spark.hadoop.{key}", value)
        for key, value in local.extra_conf.items():
            builder = builder.config(key, value)
    spark = builder.getOrCreate()
    level = os.environ.get("LAKEHOUSE_SPARK_LOG_LEVEL") or ("ERROR" if local else "WARN")
    spark.sparkContext.setLogLevel(level)
    return spark
