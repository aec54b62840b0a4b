"""Where a run's seconds go: the named phases of each layer (a plan, a Delta commit, a
change-feed read, the audit commit), each timed on the driver with the Spark jobs it ran.

Every phase is also the description of the Spark jobs it starts, so the Spark UI and the
history server show the same names (``silver orders: merge``). The timings are kept only
while a caller collects them (``collect()``, as ``make bench`` does); otherwise a phase
costs a clock read and two local properties.

Phases nest (the innermost names the jobs) and are per thread: the layers run datasets in
threads, and Spark's job group and description are thread-local properties.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from pyspark.sql import SparkSession

_GROUP = "spark.jobGroup.id"
_DESCRIPTION = "spark.job.description"
_ids = itertools.count()


@dataclass(frozen=True)
class Phase:
    layer: str
    table: str
    what: str
    seconds: float
    jobs: int  # Spark jobs it started itself (not those of phases inside it)


class _Collector:
    """Where finished phases go while someone collects them."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sink: list[Phase] | None = None

    def add(self, found: Phase) -> None:
        with self.lock:
            if self.sink is not None:
                self.sink.append(found)


_collector = _Collector()


@contextmanager
def phase(spark: SparkSession, layer: str, table: str, what: str) -> Iterator[None]:
    """Time one step of a layer and name the Spark jobs it starts."""
    context = spark.sparkContext
    previous = (context.getLocalProperty(_GROUP), context.getLocalProperty(_DESCRIPTION))
    group = f"lakehouse-{next(_ids)}"
    context.setJobGroup(group, f"{layer} {table}: {what}")
    started = time.monotonic()
    try:
        yield
    finally:
        seconds = time.monotonic() - started
        jobs = len(context.statusTracker().getJobIdsForGroup(group))
        context.setLocalProperty(_GROUP, previous[0])  # type: ignore[arg-type]
        context.setLocalProperty(_DESCRIPTION, previous[1])  # type: ignore[arg-type]
        _collector.add(Phase(layer, table, what, round(seconds, 3), jobs))


@contextmanager
def collect() -> Iterator[list[Phase]]:
    """Keep every phase that ends inside this block (one collector at a time)."""
    found: list[Phase] = []
    with _collector.lock:
        if _collector.sink is not None:
            raise RuntimeError("phases are already being collected")
        _collector.sink = found
    try:
        yield found
    finally:
        with _collector.lock:
            _collector.sink = None


def summary(phases: list[Phase]) -> list[dict[str, object]]:
    """Per (layer, what): seconds, jobs and how many times, the costliest first."""
    totals: dict[tuple[str, str], dict[str, float]] = {}
    for p in phases:
        entry = totals.setdefault((p.layer, p.what), {"seconds": 0.0, "jobs": 0, "count": 0})
        entry["seconds"] += p.seconds
        entry["jobs"] += p.jobs
        entry["count"] += 1
    rows: list[dict[str, object]] = [
        {"layer": layer, "what": what, "seconds": round(t["seconds"], 2),
         "jobs": int(t["jobs"]), "count": int(t["count"])}
        for (layer, what), t in totals.items()
    ]  # fmt: skip
    return sorted(rows, key=lambda r: -float(str(r["seconds"])))
