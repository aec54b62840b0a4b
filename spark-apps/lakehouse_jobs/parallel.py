"""Several datasets at once in one Spark application.

Most of a small run's time is the driver waiting: listing files, reading Delta logs,
committing. Running datasets side by side in threads overlaps those waits with the other
datasets' work. Each thread gets its own session (``newSession``: the same SparkContext,
its own SQL settings), because an idempotent MERGE passes its txn id through session
settings, which threads sharing one session would overwrite.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from pyspark.sql import SparkSession

from lakehouse_core.errors import LakehouseError

T = TypeVar("T")
R = TypeVar("R")
log = logging.getLogger(__name__)

# Datasets processed at once; LAKEHOUSE_PARALLELISM=1 runs them one after another.
DEFAULT_PARALLELISM = 3


class DatasetsFailed(LakehouseError):
    """One or more datasets failed; the others finished (their work is committed)."""


def parallelism() -> int:
    return max(1, int(os.environ.get("LAKEHOUSE_PARALLELISM") or DEFAULT_PARALLELISM))


def for_each(
    spark: SparkSession,
    items: Sequence[T],
    work: Callable[[SparkSession, T], list[R]],
    name: Callable[[T], str],
) -> list[R]:
    """``work`` on every item, a few at a time; results in the items' order.

    Every item runs to its end even when another fails; then the first failure is raised
    (a LakehouseError as it is, naming the others), so committed work is never lost.
    """
    if not items:
        return []
    workers = min(parallelism(), len(items))
    if workers == 1:
        return [r for item in items for r in work(spark, item)]

    def run(item: T) -> list[R]:
        return work(spark.newSession(), item)

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="dataset") as pool:
        futures = [pool.submit(run, item) for item in items]
    results: list[R] = []
    failures: list[tuple[str, BaseException]] = []
    for item, future in zip(items, futures, strict=True):
        error = future.exception()
        if error is None:
            results += future.result()
        else:
            log.error("%s failed: %s", name(item), error)
            failures.append((name(item), error))
    if failures:
        first_name, first = failures[0]
        if len(failures) == 1:
            raise first
        others = ", ".join(n for n, _ in failures[1:])
        if isinstance(first, LakehouseError):
            raise DatasetsFailed(
                f"{first_name}: {first.message} (also failed: {others})", first.hint
            ) from first
        raise first
    return results
