"""``lakehouse pipeline run``: submit the layers as SparkApplications, in order, and wait.

Never starts while another run of the lakehouse is active (two writers of one Delta
table on S3 are unsafe). On a failure it prints the driver's last log lines and stops.
After a successful run it promotes new tables in Dremio and refreshes their metadata.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lakehouse.sparkapps import ALL_LAYERS, LAYERS, JobSettings, spark_application

TERMINAL = {"COMPLETED", "FAILED", "SUBMISSION_FAILED", "UNKNOWN"}
ACTIVE = {
    "",
    "SUBMITTED",
    "RUNNING",
    "PENDING_RERUN",
    "SUCCEEDING",
    "FAILING",
    "INVALIDATING",
    "NEW",
}


class PipelineFailed(RuntimeError):
    pass


@dataclass
class LayerRun:
    layer: str
    name: str
    state: str
    seconds: float


def state_of(app: dict[str, Any]) -> str:
    return str(app.get("status", {}).get("applicationState", {}).get("state", ""))


def layers_for(choice: str) -> list[str]:
    if choice == ALL_LAYERS:
        return list(LAYERS)
    if choice not in LAYERS:
        raise ValueError(f"unknown layer {choice!r}; use bronze, silver, gold or all")
    return [choice]


def run(
    cluster: Any,
    settings: JobSettings,
    layer: str,
    *,
    on_state: Callable[[str, str], None],
    timeout: float = 3600.0,
    poll: float = 5.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> list[LayerRun]:
    busy = [
        a["metadata"]["name"]
        for a in cluster.applications(settings.namespace)
        if state_of(a) in ACTIVE
    ]
    if busy:
        raise PipelineFailed(
            f"a lakehouse run is still active ({', '.join(busy)}); wait for it to finish "
            "(two jobs writing one Delta table at once are unsafe)"
        )
    runs = []
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    for name_layer in layers_for(layer):
        name = f"lakehouse-{name_layer}-{stamp}"
        cluster.create_application(spark_application(name_layer, settings, name=name))
        started, state = clock(), ""
        while state not in TERMINAL:
            if clock() - started > timeout:
                raise PipelineFailed(
                    f"{name} did not finish within {timeout:.0f}s (state {state or 'new'})"
                )
            sleep(poll)
            app = cluster.application(settings.namespace, name)
            new_state = state_of(app)
            if new_state != state:
                on_state(name, new_state)
                state = new_state
        runs.append(LayerRun(name_layer, name, state, clock() - started))
        if state != "COMPLETED":
            pod = app.get("status", {}).get("driverInfo", {}).get("podName", f"{name}-driver")
            message = app.get("status", {}).get("applicationState", {}).get("errorMessage", "")
            tail = cluster.pod_log_tail(settings.namespace, pod)
            raise PipelineFailed(
                f"{name} ended {state}: {message}\n--- last lines of {pod} ---\n{tail}"
            )
    return runs
