"""Fetch everything the local pipeline needs, once: Spark jars, the MinIO server and client.

``make deps`` (and so CI) runs this before the tests, so no test downloads or builds
anything and a broken download fails here, with its own message.
"""

from __future__ import annotations

from collections.abc import Callable

from lakehouse.datagen.tpch import tpchgen_binary
from lakehouse.demo import check_java
from lakehouse.local.jars import ensure_spark_jars
from lakehouse.local.minio import ensure_mc_binary, ensure_minio_binary


def prepare(log: Callable[[str], None] = print) -> None:
    log(f"java: {check_java()}")
    log(f"tpchgen-cli: {tpchgen_binary()}")
    for jar in ensure_spark_jars(log):
        log(f"jar: {jar}")
    log(f"minio: {ensure_minio_binary(log)}")
    log(f"mc: {ensure_mc_binary(log)}")
