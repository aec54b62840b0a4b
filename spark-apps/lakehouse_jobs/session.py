"""The SparkSession every job uses, configured so that its Delta tables stay readable by Dremio.

In the cluster, spark-submit (driven by the operator) already set the master, the jars
baked into the image and the S3A endpoint (``hadoopConf`` in the SparkApplication), and
the credentials arrive as AWS_* environment variables from a Secret; the job only adds
the Delta settings. On one machine (demo, tests, bench) the caller passes ``LocalSpark``
and the session resolves the jars of the version matrix through Ivy into a cache.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from pyspark.sql import SparkSession

from lakehouse import versions
from lakehouse.paths import cache_dir
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


def default_ivy_dir() -> Path:
    return cache_dir() / "ivy"


@dataclass(frozen=True)
class LocalSpark:
    """Settings for a session on this machine."""

    s3: S3Endpoint
    cores: int = 2
    driver_memory: str = "3g"
    shuffle_partitions: int = 4
    ivy_dir: Path = field(default_factory=default_ivy_dir)
    extra_conf: dict[str, str] = field(default_factory=dict)


# Settings that keep every table at Delta reader version 1-2 (Dremio OSS reads no more):
# no deletion vectors, no TimestampNTZ (timestamps are always LTZ), classic checkpoints.
DREMIO_COMPATIBLE_CONF: dict[str, str] = {
    "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
    "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
    "spark.databricks.delta.properties.defaults.enableDeletionVectors": "false",
    "spark.sql.timestampType": "TIMESTAMP_LTZ",
    "spark.sql.session.timeZone": "UTC",
    # A schema change must be deliberate: never let a write silently add columns.
    "spark.databricks.delta.schema.autoMerge.enabled": "false",
    # Idempotent DML (MERGE with txnAppId/txnVersion) must not leak into the next statement.
    "spark.databricks.delta.write.txnVersion.autoReset.enabled": "true",
}


def build_session(app_name: str, local: LocalSpark | None = None) -> SparkSession:
    builder = SparkSession.builder.appName(app_name)
    for key, value in DREMIO_COMPATIBLE_CONF.items():
        builder = builder.config(key, value)
    if local is not None:
        builder = (
            builder.master(f"local[{local.cores}]")
            .config("spark.jars.packages", versions.spark_packages_coordinates())
            .config("spark.jars.ivy", str(local.ivy_dir))
            .config("spark.driver.memory", local.driver_memory)
            .config("spark.sql.shuffle.partitions", str(local.shuffle_partitions))
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.ui.enabled", "false")
            .config("spark.sql.adaptive.enabled", "true")
        )
        for key, value in s3a_hadoop_conf(local.s3).items():
            builder = builder.config(f"spark.hadoop.{key}", value)
        for key, value in local.extra_conf.items():
            builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel(os.environ.get("LAKEHOUSE_SPARK_LOG_LEVEL", "WARN"))
    return spark
