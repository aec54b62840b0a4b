"""A Spark session on this machine, for the demo, local runs, the tests and the benchmark.

It is the jobs' own session (``lakehouse_jobs.session``) plus what spark-submit and the
SparkApplication give it in the cluster: a master, the version matrix's jars (downloaded
once and checksum-verified: the same files the job image bakes in) and the S3A endpoint.

The jars go on the JVM's classpath when PySpark launches it (``SPARK_DIST_CLASSPATH``),
not through ``spark.jars``: in local mode ``spark.jars`` makes the executor fetch a copy of
every jar into the session's scratch folder, 0.5 GB (the AWS SDK bundle) and about two
seconds at each start. The launcher appends this variable after Spark's own jars, so the
old SLF4J copy inside the SDK bundle cannot shadow Spark's (``spark.driver.extraClassPath``
would put it first and silence Spark's logging).
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from lakehouse.s3 import S3Endpoint
from lakehouse_core.spark_applications import S3A_RETRY_BOUNDS
from lakehouse_core.spark_conf import JOB_JVM_OPTIONS

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


# For a JVM that lives a minute (a test session): compile quickly rather than well, and a
# collector without background threads. It never reaches the code worth optimising; the
# jobs' test tier runs about a tenth faster with these (measured on two cores).
QUICK_START_JVM = ("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC")


@dataclass(frozen=True)
class LocalSpark:
    """Settings for a session on this machine; ``s3`` None means no object store (tests)."""

    s3: S3Endpoint | None
    cores: int = 2
    driver_memory: str = "3g"
    shuffle_partitions: int = 4
    extra_conf: dict[str, str] = field(default_factory=dict)
    # Options for the driver's JVM (here also the executor): for example QUICK_START_JVM
    # for a short-lived test session.
    java_options: tuple[str, ...] = ()

    def conf(self) -> dict[str, str]:
        from lakehouse.local.jars import LOG4J_CONFIG

        conf = {
            "spark.master": f"local[{self.cores}]",
            "spark.driver.memory": self.driver_memory,
            "spark.driver.extraJavaOptions": " ".join(
                (f"-Dlog4j2.configurationFile={LOG4J_CONFIG}", *JOB_JVM_OPTIONS, *self.java_options)
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
    """The jobs' session, running on this machine.

    PySpark starts one JVM per Python process and keeps it when a session stops, so the
    classpath (every jar of the version matrix, whether or not this session talks to S3)
    and the JVM's memory and options are those of the process's first session.
    """
    from lakehouse.local.jars import ensure_spark_jars
    from lakehouse_jobs.session import build_session

    jars = ensure_spark_jars(log=logging.getLogger(__name__).info)
    with _jvm_classpath_appended([str(j) for j in jars]):
        return build_session(app_name, settings.conf(), log_level="ERROR")


@contextmanager
def _jvm_classpath_appended(entries: list[str]) -> Iterator[None]:
    """``SPARK_DIST_CLASSPATH`` with ``entries`` after any value the user set, for a JVM
    launched inside the block; the variable is restored afterwards."""
    name = "SPARK_DIST_CLASSPATH"
    before = os.environ.get(name)
    os.environ[name] = os.pathsep.join([*([before] if before else []), *entries])
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = before
