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
    from lakehouse.demo import check_java
    from lakehouse.local.jars import jar_path

    java = Path(check_java()).resolve()
    stat = java.stat()
    # The archive records the classpath by path: another checkout (another virtualenv)
    # needs its own archive, or it would find one it can never use.
    pyspark = metadata.distribution("pyspark")
    return [
        f"{java}:{stat.st_size}:{stat.st_mtime_ns}",
        f"pyspark {pyspark.version} at {pyspark.locate_file('pyspark')}",
        *(str(jar_path(jar)) for jar in versions.SPARK_EXTRA_JARS),
    ]
