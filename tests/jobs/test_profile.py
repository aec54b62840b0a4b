"""The run's profile: each phase timed with the Spark jobs it started, named in Spark's UI."""

from __future__ import annotations

import pytest
from pyspark.sql import SparkSession

from lakehouse_jobs import profile


def test_phases_are_timed_with_their_own_jobs_and_named_for_the_ui(spark: SparkSession) -> None:
    context = spark.sparkContext
    with profile.collect() as phases:
        with profile.phase(spark, "silver", "orders", "merge"):
            assert context.getLocalProperty("spark.job.description") == "silver orders: merge"
            spark.range(10).count()
            with profile.phase(spark, "silver", "orders", "rejects"):
                spark.range(5).count()
                spark.range(6).count()
            assert context.getLocalProperty("spark.job.description") == "silver orders: merge"
        with profile.phase(spark, "silver", "*", "audit"):
            pass
    assert [(p.what, p.jobs) for p in phases] == [("rejects", 2), ("merge", 1), ("audit", 0)]
    merge = phases[1]
    assert merge.seconds >= phases[0].seconds > 0
    # Outside a phase the jobs carry no description of ours; outside collect() nothing is kept.
    assert context.getLocalProperty("spark.job.description") is None
    with profile.phase(spark, "gold", "x", "rewrite"):
        spark.range(1).count()
    assert len(phases) == 3
    summary = profile.summary([*phases, *phases])
    assert summary[0]["what"] == "merge" and summary[0]["count"] == 2
    assert {r["what"]: r["jobs"] for r in summary} == {"merge": 2, "rejects": 4, "audit": 0}


def test_one_collector_at_a_time() -> None:
    with profile.collect(), pytest.raises(RuntimeError, match="already"), profile.collect():
        pass
    with profile.collect() as again:  # released after the first one ended
        assert again == []
