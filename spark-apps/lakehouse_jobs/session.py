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

from lakehouse_core.spark_conf import SESSION_CONF


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
