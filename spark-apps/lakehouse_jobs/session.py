"""The SparkSession every job uses, configured so that its Delta tables stay readable by Dremio.

In the cluster, spark-submit (driven by the operator) already set the master, the jars
baked into the image and the S3A endpoint (``hadoopConf`` in the SparkApplication), and
the credentials arrive as AWS_* environment variables from a Secret; the job only adds
the Delta settings. On one machine (demo, tests, bench) the application passes the local
settings (master, the version matrix's jars, the S3A endpoint) as ``extra_conf``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from pyspark.sql import SparkSession

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
    # Silver's validity test is one large boolean expression; inferring constraints from it
    # across a MERGE's joins made the optimizer run out of memory (seen at TPC-H SF 0.01).
    "spark.sql.constraintPropagation.enabled": "false",
}


def build_session(
    app_name: str, extra_conf: Mapping[str, str] | None = None, *, log_level: str = "WARN"
) -> SparkSession:
    """The session with the Delta settings above; ``extra_conf`` adds or overrides settings."""
    builder = SparkSession.builder.appName(app_name)
    for key, value in {**SESSION_CONF, **(extra_conf or {})}.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel(os.environ.get("LAKEHOUSE_SPARK_LOG_LEVEL") or log_level)
    return spark
