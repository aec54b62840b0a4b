"""Waiting for a layer's SparkApplication: which states are still active, and a driver stuck."""

from __future__ import annotations

from typing import Any

import pytest

from lakehouse.ops import pipeline_run
from lakehouse.ops.pipeline_run import PipelineFailed


class FakeCluster:
    """Answers like the Kubernetes API would for one application going through states."""

    def __init__(self, states: list[str], waiting: tuple[str, str] | None = None) -> None:
        self.states = states
        self.waiting = waiting
        self.deleted: list[str] = []

    def applications(self, namespace: str) -> list[dict[str, Any]]:
        return [self._app(s, f"app-{i}") for i, s in enumerate(self.states)]

    def create_application(self, app: dict[str, Any]) -> None:
        pass

    def _app(self, state: str, name: str = "run-1") -> dict[str, Any]:
        return {
            "metadata": {"name": name},
            "spec": {"image": "lakehouse/spark-jobs:x"},
            "status": {"applicationState": {"state": state}},
        }

    def application(self, namespace: str, name: str) -> dict[str, Any]:
        state = self.states.pop(0) if len(self.states) > 1 else self.states[0]
        return self._app(state, name)

    def pod_log(self, namespace: str, pod: str, tail: int | None = None) -> str:
        return ""

    def pod_waiting(self, namespace: str, pod: str) -> tuple[str, str] | None:
        return self.waiting

    def delete_application(self, namespace: str, name: str) -> None:
        self.deleted.append(name)


def wait(cluster: FakeCluster, timeout: float = 60) -> dict[str, Any]:
    return pipeline_run.wait_for(
        cluster, "jobs", "run-1", on_state=lambda *_: None, timeout=timeout, poll=1,
        sleep=lambda _s: None,
    )  # fmt: skip


@pytest.mark.parametrize("active", ["UNKNOWN", "SUSPENDING", "RESUMING", "RUNNING", ""])
def test_states_the_operator_keeps_reconciling_are_active(active: str) -> None:
    cluster = FakeCluster([active])
    assert pipeline_run.active_runs(cluster, "jobs") == [f"app-0 ({active or 'NEW'})"]


def test_idle_states_are_not_active() -> None:
    cluster = FakeCluster(["COMPLETED", "FAILED", "SUBMISSION_FAILED", "SUSPENDED"])
    assert pipeline_run.active_runs(cluster, "jobs") == []


def test_polling_goes_through_unknown_to_the_final_state() -> None:
    cluster = FakeCluster(["SUBMITTED", "RUNNING", "UNKNOWN", "RUNNING", "COMPLETED"])
    assert pipeline_run.state_of(wait(cluster)) == "COMPLETED"


def test_a_driver_whose_image_is_missing_fails_at_once_and_is_removed() -> None:
    cluster = FakeCluster(["SUBMITTED"], waiting=("ErrImagePull", "not found"))
    with pytest.raises(PipelineFailed) as failed:
        wait(cluster)
    assert "ErrImagePull" in failed.value.message and "nothing was written" in failed.value.message
    assert "lakehouse image build" in failed.value.hint
    assert cluster.deleted == ["run-1"]


def test_a_driver_still_pulling_is_waited_for() -> None:
    cluster = FakeCluster(
        ["SUBMITTED", "SUBMITTED", "RUNNING", "COMPLETED"], waiting=("ContainerCreating", "")
    )
    assert pipeline_run.state_of(wait(cluster)) == "COMPLETED"
    assert cluster.deleted == []


def test_a_run_that_never_ends_times_out_with_a_hint() -> None:
    cluster = FakeCluster(["RUNNING"])
    with pytest.raises(PipelineFailed) as failed:
        wait(cluster, timeout=0)
    assert "did not finish" in failed.value.message
