"""``lakehouse pipeline run`` on a cluster: the layers as SparkApplications, in order.

Never starts while another run of the lakehouse is active: two writers of one Delta table
on S3 are unsafe. An application counts as active in every state the operator may still
act on (``UNKNOWN``, ``SUSPENDING`` and ``RESUMING`` included); only ``COMPLETED``,
``FAILED`` and ``SUBMISSION_FAILED`` are final. On a failure it shows the end of the
driver's log. Each layer's per-batch results are read back from the driver's log.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import tenacity

from lakehouse_core.catalog import MAINTENANCE_STEP, layers_for
from lakehouse_core.errors import LakehouseError
from lakehouse_core.names import JOB_RESULT_PREFIX
from lakehouse_core.spark_applications import JobSettings, spark_application

FINAL_STATES = frozenset({"COMPLETED", "FAILED", "SUBMISSION_FAILED"})
# SUSPENDED holds no driver; anything else may be running, or about to run, a writer.
IDLE_STATES = FINAL_STATES | {"SUSPENDED"}


class PipelineFailed(LakehouseError):
    """A layer's SparkApplication did not complete, or could not start."""


class ApplicationsApi(Protocol):
    def applications(self, namespace: str) -> list[dict[str, Any]]: ...
    def create_application(self, app: dict[str, Any]) -> None: ...
    def application(self, namespace: str, name: str) -> dict[str, Any]: ...
    def pod_log(self, namespace: str, pod: str, tail: int | None = None) -> str: ...
    def pod_waiting(self, namespace: str, pod: str) -> tuple[str, str] | None: ...
    def delete_application(self, namespace: str, name: str) -> None: ...


# A driver pod waiting for one of these will never start by itself.
STUCK_REASONS = frozenset(
    {"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "CreateContainerConfigError"}
)


@dataclass
class LayerRun:
    layer: str
    name: str
    state: str
    seconds: float
    results: list[dict[str, Any]] = field(default_factory=list)


def state_of(app: dict[str, Any]) -> str:
    return str(app.get("status", {}).get("applicationState", {}).get("state", ""))


def driver_pod(app: dict[str, Any]) -> str:
    name = app["metadata"]["name"]
    return str(app.get("status", {}).get("driverInfo", {}).get("podName") or f"{name}-driver")


def active_runs(cluster: ApplicationsApi, namespace: str) -> list[str]:
    return [
        f"{a['metadata']['name']} ({state_of(a) or 'NEW'})"
        for a in cluster.applications(namespace)
        if state_of(a) not in IDLE_STATES
    ]


def results_from_log(log: str) -> list[dict[str, Any]]:
    """The per-batch results a job printed (see lakehouse_jobs.main)."""
    results = []
    for line in log.splitlines():
        _, found, payload = line.partition(JOB_RESULT_PREFIX)
        if found:
            results.append(json.loads(payload))
    return results


def _fail_if_stuck(cluster: ApplicationsApi, namespace: str, app: dict[str, Any]) -> None:
    """A driver that cannot start (its image is missing, a Secret it names is absent) never
    will: say so now, and remove the application (it wrote nothing) so the next run may
    start, instead of polling until the timeout."""
    pod = driver_pod(app)
    waiting = cluster.pod_waiting(namespace, pod)
    if waiting is None or waiting[0] not in STUCK_REASONS:
        return
    reason, message = waiting
    name = app["metadata"]["name"]
    cluster.delete_application(namespace, name)
    image = app.get("spec", {}).get("image", "")
    raise PipelineFailed(
        f"{name} cannot start: its driver pod {pod} is in {reason} ({message[:300]}); the "
        "application was deleted, nothing was written",
        hint=f"is the image {image} on the cluster's node? `lakehouse image build` builds it "
        "and `lakehouse image load` puts it on kind (on the local cluster: "
        "`lakehouse-bed build`)"
        if "Image" in reason
        else f"`kubectl -n {namespace} describe pod {pod}` says what it waits for",
    )


def wait_for(
    cluster: ApplicationsApi,
    namespace: str,
    name: str,
    *,
    on_state: Callable[[str, str], None],
    timeout: float,
    poll: float,
    sleep: Callable[[float], None],
) -> dict[str, Any]:
    """Poll the application until it reaches a final state; its last object."""
    seen: dict[str, str | None] = {"state": None}

    def observe() -> dict[str, Any]:
        app = cluster.application(namespace, name)
        state = state_of(app)
        if state != seen["state"]:
            on_state(name, state or "NEW")
            seen["state"] = state
        if state in ("SUBMITTED", "PENDING_RERUN", ""):
            _fail_if_stuck(cluster, namespace, app)
        return app

    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_result(lambda app: state_of(app) not in FINAL_STATES),
        wait=tenacity.wait_fixed(poll),
        stop=tenacity.stop_after_delay(timeout),
        sleep=sleep,
        reraise=True,
    )
    try:
        return retrying(observe)
    except tenacity.RetryError:
        raise PipelineFailed(
            f"{name} did not finish within {timeout:.0f}s (state {seen['state'] or 'NEW'})",
            hint=f"`kubectl -n {namespace} describe sparkapplication {name}` says why; it "
            "keeps running: wait for it before starting another run",
        ) from None


def run(
    cluster: ApplicationsApi,
    settings: JobSettings,
    layer: str,
    *,
    on_state: Callable[[str, str], None],
    timeout: float = 3600.0,
    poll: float = 5.0,
    sleep: Callable[[float], None] = time.sleep,
) -> list[LayerRun]:
    busy = active_runs(cluster, settings.namespace)
    if busy:
        raise PipelineFailed(
            f"a lakehouse run is still active: {', '.join(busy)}",
            hint="wait for it to finish (two jobs writing one Delta table at once are unsafe); "
            f"`kubectl -n {settings.namespace} get sparkapplications` shows it",
        )
    runs = []
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    steps = (
        [MAINTENANCE_STEP] if layer == MAINTENANCE_STEP else [s.value for s in layers_for(layer)]
    )
    for step in steps:
        name = f"lakehouse-{step}-{stamp}"
        app = spark_application(step, settings, name=name)
        runs.append(
            run_application(cluster, app, step, on_state=on_state, timeout=timeout, poll=poll,
                            sleep=sleep)
        )  # fmt: skip
    return runs


def run_application(
    cluster: ApplicationsApi,
    app: dict[str, Any],
    step: str,
    *,
    on_state: Callable[[str, str], None],
    timeout: float = 3600.0,
    poll: float = 5.0,
    sleep: Callable[[float], None] = time.sleep,
    hint: str = "fix what the driver's log says, then run the pipeline again: every layer "
    "picks up where it stopped",
) -> LayerRun:
    """Submit one application, wait for its end, read its results from the driver's log;
    PipelineFailed (with the log's last lines) unless it COMPLETED."""
    name, namespace = app["metadata"]["name"], app["metadata"]["namespace"]
    cluster.create_application(app)
    started = time.monotonic()
    app = wait_for(
        cluster, namespace, name, on_state=on_state, timeout=timeout, poll=poll, sleep=sleep
    )
    state = state_of(app)
    log = cluster.pod_log(namespace, driver_pod(app))
    run = LayerRun(step, name, state, time.monotonic() - started, results_from_log(log))
    if state != "COMPLETED":
        message = app.get("status", {}).get("applicationState", {}).get("errorMessage", "")
        tail = "\n".join(log.splitlines()[-40:])
        raise PipelineFailed(
            f"{name} ended {state}: {message}\n--- last lines of {driver_pod(app)} ---\n{tail}",
            hint=hint,
        )
    return run
