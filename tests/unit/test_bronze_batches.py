"""Which landing batches bronze ingests, and the refusal of a late one."""

from __future__ import annotations

import pytest

from lakehouse_jobs.bronze import LateBatchError, pending_batches


def test_new_batches_are_ingested_in_order() -> None:
    landed = {3: "b3", 1: "b1", 2: "b2"}
    assert pending_batches(landed, [], "orders") == [1, 2, 3]
    assert pending_batches(landed, [1], "orders") == [2, 3]
    assert pending_batches(landed, [1, 2, 3], "orders") == []


def test_a_batch_older_than_the_newest_ingested_is_refused_with_the_fix() -> None:
    with pytest.raises(LateBatchError, match=r"batch=000006"):
        pending_batches({2: "b2", 5: "b5"}, [1, 5], "orders")
