"""The medallion pipeline on this machine: the jobs' own code on local Spark, against any S3
endpoint (the local MinIO of `lakehouse local up`, the demo's, or one you name).

It runs the layers one after another in one Spark session and reports each layer's
per-batch results as plain dicts, the same shape a cluster run reads back from its
drivers' logs, so the CLI shows one summary for both.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from types import TracebackType
from typing import TYPE_CHECKING, Any

from lakehouse.local.lock import LakeLock
from lakehouse.local.spark import LocalSpark, local_session
from lakehouse.s3 import S3Endpoint
from lakehouse_core.catalog import CATALOG, DEFAULT_RETAIN_HOURS, LakeCatalog, layers_for

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

LayerDone = Callable[[str, float, list[dict[str, Any]]], None]


class LocalPipeline:
    """``with LocalPipeline(endpoint, bucket) as p: p.run("all")``: one session, any layers."""

    def __init__(
        self,
        endpoint: S3Endpoint,
        bucket: str,
        *,
        cores: int = 2,
        driver_memory: str = "3g",
        extra_conf: dict[str, str] | None = None,
    ) -> None:
        self.catalog: LakeCatalog = CATALOG.with_bucket(bucket)
        self.endpoint = endpoint
        self.settings = LocalSpark(
            endpoint, cores=cores, driver_memory=driver_memory, extra_conf=extra_conf or {}
        )
        self._spark: SparkSession | None = None

    @property
    def spark(self) -> SparkSession:
        if self._spark is None:
            self._spark = local_session("lakehouse-local", self.settings)
        return self._spark

    def run(
        self,
        layer: str,
        datasets: Sequence[str] | None = None,
        *,
        on_start: Callable[[str], None] = lambda _layer: None,
        on_layer: LayerDone = lambda _layer, _seconds, _results: None,
    ) -> list[dict[str, Any]]:
        """Run ``layer`` (or ``all``) over the chosen datasets; every batch result, in order."""
        from lakehouse_jobs.main import run_layers

        self.catalog.select_datasets(list(datasets) if datasets else None)  # names checked
        results: list[dict[str, Any]] = []
        with self.lock():
            for step in layers_for(layer):
                on_start(step.value)
                started = time.monotonic()
                done = [
                    asdict(r) for r in run_layers(self.spark, self.catalog, step.value, datasets)
                ]
                on_layer(step.value, time.monotonic() - started, done)
                results += done
        return results

    def lock(self) -> LakeLock:
        """This machine's lock on the lake: one writer at a time (see lakehouse.local.lock)."""
        return LakeLock(self.endpoint.url, self.catalog.bucket)

    def maintain(
        self, datasets: Sequence[str] | None = None, retain_hours: float = DEFAULT_RETAIN_HOURS
    ) -> list[dict[str, Any]]:
        """Compact, checkpoint and vacuum (see lakehouse_jobs.maintenance)."""
        from lakehouse_jobs.main import run_maintenance

        with self.lock():
            found = run_maintenance(self.spark, self.catalog, datasets, retain_hours)
        return [asdict(r) for r in found]

    def close(self) -> None:
        if self._spark is not None:
            self._spark.stop()
            self._spark = None

    def __enter__(self) -> LocalPipeline:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
