"""The matrix's jars exist on Maven Central with the pinned checksums (real downloads), and
local sessions use them in place."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import delta
import pyspark
import pytest
from pyspark import SparkFiles
from pyspark.sql import SparkSession

from lakehouse.local.jars import ensure_spark_jars, sha256_of
from lakehouse_core import versions

pytestmark = pytest.mark.integration


def test_every_pinned_jar_downloads_and_matches_its_checksum() -> None:
    paths = ensure_spark_jars(log=lambda _m: None)
    assert [p.name for p in paths] == [j.filename for j in versions.SPARK_EXTRA_JARS]
    for path, jar in zip(paths, versions.SPARK_EXTRA_JARS, strict=True):
        assert sha256_of(path) == jar.sha256


def test_the_delta_jar_carries_the_same_python_api_as_the_wheel() -> None:
    """The job image imports `delta` from the jar (no pip there): it must be this API."""
    [jar] = [
        p for p in ensure_spark_jars(log=lambda _m: None) if p.name == versions.DELTA_SPARK.filename
    ]
    installed = Path(delta.__file__).parent
    with zipfile.ZipFile(jar) as archive:
        for module in ("tables.py", "pip_utils.py", "exceptions/__init__.py"):
            bundled = archive.read(f"delta/{module}")
            assert bundled == (installed / module).read_bytes(), module


def test_a_local_session_reads_the_jars_in_place_after_sparks_own(spark: SparkSession) -> None:
    """The jars sit on the JVM's classpath behind Spark's: nothing is copied into the
    session's scratch folder (0.5 GB at every start with ``spark.jars``), and the old SLF4J
    inside the AWS SDK bundle does not replace Spark's logging."""
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    classpath = str(jvm.java.lang.System.getProperty("java.class.path")).split(os.pathsep)
    jars = [str(p) for p in ensure_spark_jars(log=lambda _m: None)]
    assert all(j in classpath for j in jars), classpath
    spark_jars = Path(pyspark.__file__).parent / "jars"
    last_of_spark = max(i for i, e in enumerate(classpath) if Path(e).parent == spark_jars)
    assert min(classpath.index(j) for j in jars) > last_of_spark
    logging_factory = jvm.org.slf4j.LoggerFactory.getILoggerFactory().getClass().getName()
    assert str(logging_factory) == "org.apache.logging.slf4j.Log4jLoggerFactory"
    copied = list(Path(SparkFiles.getRootDirectory()).rglob("*.jar"))
    assert copied == []
