"""A Spark session on this machine, for the demo, local runs, the tests and the benchmark.

It is the jobs' own session (``lakehouse_jobs.session``) plus what spark-submit and the
SparkApplication give it in the cluster: a master, the version matrix's jars (downloaded
once and checksum-verified: the same files the job image bakes in) and the S3A endpoint.
"""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from lakehouse.s3 import S3Endpoint
from lakehouse_core.spark_applications import S3A_RETRY_BOUNDS

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


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
        **S3A_RETRY_BOUNDS,
    }


@dataclass(frozen=True)
class LocalSpark:
    """Settings for a session on this machine; ``s3`` None means no object store (tests)."""

    s3: S3Endpoint | None
    cores: int = 2
    driver_memory: str = "3g"
    shuffle_partitions: int = 4
    extra_conf: dict[str, str] = field(default_factory=dict)
    # Options for the driver's JVM (here also the executor): for example the quick-start
    # settings of a short-lived test session.
    java_options: tuple[str, ...] = ()

    def conf(self) -> dict[str, str]:
        from lakehouse.local.jars import LOG4J_CONFIG, ensure_spark_jars

        jars = ensure_spark_jars(log=logging.getLogger(__name__).info)
        conf = {
            "spark.master": f"local[{self.cores}]",
            "spark.jars": ",".join(str(j) for j in jars),
            "spark.driver.memory": self.driver_memory,
            "spark.driver.extraJavaOptions": " ".join(
                (f"-Dlog4j2.configurationFile={LOG4J_CONFIG}", *self.java_options)
            ),
            "spark.databricks.delta.snapshotPartitions": str(self.cores),
            "spark.default.parallelism": str(self.cores),
            "spark.sql.shuffle.partitions": str(self.shuffle_partitions),
            "spark.ui.showConsoleProgress": "false",
            "spark.ui.enabled": "false",
            "spark.sql.adaptive.enabled": "true",
            # Tables are addressed by path; keep Spark's empty default warehouse out of the cwd.
            "spark.sql.warehouse.dir": f"{tempfile.gettempdir()}/lakehouse-spark-warehouse",
        }
        # Python workers import the jobs (a UDF lives there) as the image's PYTHONPATH lets
        # them in the cluster; here, from wherever this checkout keeps them.
        conf["spark.executorEnv.PYTHONPATH"] = os.pathsep.join(_job_code_paths())
        if self.s3 is not None:
            conf.update({f"spark.hadoop.{k}": v for k, v in s3a_hadoop_conf(self.s3).items()})
        conf.update(self.extra_conf)
        return conf


def _job_code_paths() -> list[str]:
    import lakehouse_core
    import lakehouse_jobs

    folders = [
        Path(str(m.__file__)).resolve().parent.parent for m in (lakehouse_jobs, lakehouse_core)
    ]
    return list(dict.fromkeys(str(f) for f in folders))


def local_session(app_name: str, settings: LocalSpark) -> SparkSession:
    """The jobs' session, running on this machine."""
    from lakehouse_jobs.session import build_session

    return build_session(app_name, settings.conf(), log_level="ERROR")
