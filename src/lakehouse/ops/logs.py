"""``lakehouse logs``: the logs of a component's pods, or of a SparkApplication's driver and
executors, interleaved with each line's pod in front; ``--follow`` keeps streaming.

Components are the roles of ``lakehouse_core.network`` (the same pods the NetworkPolicies
select), so a name here always means the pods the stack runs for it.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lakehouse_core import network as flows
from lakehouse_core.errors import LakehouseError
from lakehouse_core.stack_config import StackConfig

COMPONENTS: dict[str, tuple[flows.Role, ...]] = {
    "minio": (flows.MINIO,),
    "minio-provision": (flows.MINIO_PROVISION,),
    "zookeeper": (flows.ZOOKEEPER,),
    "dremio": (flows.DREMIO_COORDINATOR, flows.DREMIO_EXECUTOR),
    "dremio-coordinator": (flows.DREMIO_COORDINATOR,),
    "dremio-executor": (flows.DREMIO_EXECUTOR,),
    "dremio-bootstrap": (flows.DREMIO_BOOTSTRAP,),
    "spark-operator": (flows.SPARK_OPERATOR,),
    "spark-history": (flows.SPARK_HISTORY,),
    "traefik": (flows.TRAEFIK,),
    "prometheus": (flows.PROMETHEUS,),
    "pushgateway": (flows.PUSHGATEWAY,),
}
# The label the operator puts on an application's driver and executor pods.
APP_LABEL = "sparkoperator.k8s.io/app-name"
DURATION = re.compile(r"^(\d+)([smhd])$")


class LogsError(LakehouseError):
    """Nothing to show: an unknown name, or no pod of it."""


@dataclass(frozen=True)
class PodRef:
    namespace: str
    name: str


def since_seconds(value: str | None) -> int | None:
    """``10m`` -> 600. None: the whole log."""
    if value is None:
        return None
    match = DURATION.match(value.strip())
    if not match:
        raise LogsError(
            f"--since {value!r} is not a duration",
            hint="give a number and a unit: 30s, 10m, 2h or 1d",
        )
    number, unit = int(match.group(1)), match.group(2)
    return number * {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit]


def selectors(cfg: StackConfig, target: str) -> list[tuple[str, str]]:
    """(namespace, label selector) of every pod set ``target`` names: a component, or a
    SparkApplication in the jobs namespace."""
    roles = COMPONENTS.get(target)
    if roles is None:
        return [(cfg.spark.jobs_namespace, f"{APP_LABEL}={target}")]
    namespaces = cfg.role_namespaces
    found = []
    for role in roles:
        assert role.namespace is not None
        labels = ",".join(f"{k}={v}" for k, v in role.labels)
        found.append((namespaces[role.namespace], labels))
    return found


def pods(cluster: Any, cfg: StackConfig, target: str) -> list[PodRef]:
    found = [
        PodRef(namespace, name)
        for namespace, selector in selectors(cfg, target)
        for name in cluster.pod_names(namespace, selector)
    ]
    if not found:
        known = ", ".join(sorted(COMPONENTS))
        raise LogsError(
            f"no pod of {target!r}",
            hint=f"a component ({known}) or a SparkApplication's name "
            f"(`kubectl -n {cfg.spark.jobs_namespace} get sparkapplications`); a finished "
            "application's pods are removed after its time to live",
        )
    return found


def show(
    cluster: Any,
    found: list[PodRef],
    *,
    follow: bool,
    since: int | None,
    tail: int | None,
    emit: Callable[[str, str], None],
) -> None:
    """Each pod's lines through ``emit(pod, line)``; following, one thread per pod until
    every stream ends (its pod ended) or the user interrupts."""

    def one(pod: PodRef) -> None:
        for line in cluster.pod_log_lines(
            pod.namespace, pod.name, follow=follow, since=since, tail=tail
        ):
            emit(pod.name, line)

    if not follow:
        for pod in found:
            one(pod)
        return
    threads = [threading.Thread(target=one, args=(pod,), daemon=True) for pod in found]
    for thread in threads:
        thread.start()
    for thread in threads:
        while thread.is_alive():
            thread.join(0.5)  # short joins keep Ctrl-C responsive
