"""Options that make a short-lived local Spark JVM start faster.

A Spark session with Delta loads and verifies thousands of classes before its first query;
for a JVM that lives a minute (the jobs' test tier) that is a large share of its life.
Application class-data sharing (JDK 13+) keeps those classes, already parsed and verified,
in an archive: the first run writes it when its JVM exits, later runs map it. The archive
is keyed by the JVM and the classpath, so a new JDK, PySpark or jar list gets a new one. A
stale or damaged archive is never fatal: the JVM (``-Xshare:auto``, the default) starts
without it (checked with a truncated one); delete it to have the next run write it again.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from importlib import metadata
from pathlib import Path

from lakehouse_core import versions
from lakehouse_core.paths import cache_dir

# Compile quickly rather than well, and a collector without background threads: a JVM
# that lives a minute never reaches the code worth optimising.
QUICK_START = ("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC")


def class_data_archive(name: str) -> Path:
    """Where the archive of the JVM that ``name`` starts lives, for this JVM and classpath."""
    key = hashlib.sha256("\n".join(_identity()).encode()).hexdigest()[:16]
    return cache_dir() / "jvm" / f"{name}-{key}.jsa"


def class_data_sharing(name: str) -> tuple[str, ...]:
    """JVM options that use the archive when it exists and write it at exit when not."""
    archive = class_data_archive(name)
    archive.parent.mkdir(parents=True, exist_ok=True)
    quiet = ("-Xlog:cds=off", "-Xlog:cds+dynamic=off")  # it lists every class it skips
    if archive.is_file() and archive.stat().st_size > 0:
        return (f"-XX:SharedArchiveFile={archive}", *quiet)
    return (f"-XX:ArchiveClassesAtExit={archive}", *quiet)


def _identity() -> list[str]:
    """What the archive depends on: the JVM binary and everything on the classpath."""
    java = shutil.which("java", path=_java_search_path())
    java_id = ""
    if java is not None:
        real = Path(java).resolve()
        stat = real.stat()
        java_id = f"{real}:{stat.st_size}:{stat.st_mtime_ns}"
    # The archive records the classpath by path: another checkout (another virtualenv)
    # needs its own archive, or it would find one it can never use.
    pyspark = metadata.distribution("pyspark")
    return [
        java_id,
        f"pyspark {pyspark.version} at {pyspark.locate_file('pyspark')}",
        *(str(cache_dir() / "jars" / jar.filename) for jar in versions.SPARK_EXTRA_JARS),
    ]


def _java_search_path() -> str | None:
    # spark-submit runs $JAVA_HOME/bin/java when JAVA_HOME is set, else the java on PATH.
    java_home = os.environ.get("JAVA_HOME")
    return str(Path(java_home) / "bin") if java_home else None
