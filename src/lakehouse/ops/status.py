"""``lakehouse status``: the health of every component, in one table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx


@dataclass
class ComponentHealth:
    component: str
    healthy: bool
    detail: str


def http_check(component: str, url: str, expect: str | None = None) -> ComponentHealth:
    try:
        response = httpx.get(url, timeout=5)
    except httpx.HTTPError as err:
        return ComponentHealth(component, False, f"{url}: {err.__class__.__name__}: {err}")
    ok = response.status_code == 200 and (expect is None or expect in response.text)
    return ComponentHealth(
        component, ok, f"{url}: {response.status_code} {response.text.strip()[:40]}"
    )


def workload_check(
    cluster: Any, component: str, namespace: str, kind: str, name: str
) -> ComponentHealth:
    from lakehouse.ops.cluster import ClusterError

    try:
        ready, wanted = cluster.ready_replicas(namespace, kind, name)
    except ClusterError as err:
        return ComponentHealth(component, False, err.message)
    return ComponentHealth(
        component,
        ready == wanted and wanted > 0,
        f"{kind} {namespace}/{name}: {ready}/{wanted} ready",
    )


def deployments_check(cluster: Any, component: str, namespace: str) -> ComponentHealth:
    from lakehouse.ops.cluster import ClusterError

    try:
        items = cluster.deployments(namespace)
    except ClusterError as err:
        return ComponentHealth(component, False, err.message)
    if not items:
        return ComponentHealth(component, False, f"no Deployments in {namespace}")
    parts = [f"{d.metadata.name} {d.status.ready_replicas or 0}/{d.spec.replicas}" for d in items]
    healthy = all((d.status.ready_replicas or 0) == d.spec.replicas for d in items)
    return ComponentHealth(component, healthy, ", ".join(parts))


def check_all(cfg: Any, cluster: Any) -> list[ComponentHealth]:
    """Every component of a deployed stack (``cfg``: its StackConfig).

    An API server that does not answer stops here with one error, rather than as the same
    failure in every row.
    """
    from lakehouse_core import names

    cluster.check_reachable()

    ingress = cfg.ingress
    return [
        workload_check(cluster, "MinIO pods", names.STORAGE_NAMESPACE, "StatefulSet", names.MINIO),
        http_check(
            "MinIO cluster (S3 ingress)",
            f"{ingress.url(ingress.hosts.s3)}/minio/health/cluster",
        ),
        workload_check(
            cluster, "ZooKeeper", names.DREMIO_NAMESPACE, "StatefulSet", names.ZOOKEEPER
        ),
        workload_check(
            cluster,
            "Dremio coordinator",
            names.DREMIO_NAMESPACE,
            "StatefulSet",
            names.DREMIO_COORDINATOR,
        ),
        workload_check(
            cluster,
            "Dremio executors",
            names.DREMIO_NAMESPACE,
            "StatefulSet",
            names.DREMIO_EXECUTOR,
        ),
        http_check(
            "Dremio (ingress)", f"{ingress.url(ingress.hosts.dremio)}/apiv2/server_status", "OK"
        ),
        deployments_check(cluster, "Spark operator", cfg.spark.operator_namespace),
        deployments_check(cluster, "Ingress (Traefik)", ingress.namespace),
        *(
            [
                workload_check(
                    cluster,
                    "Spark History Server",
                    cfg.spark.jobs_namespace,
                    "Deployment",
                    names.SPARK_HISTORY,
                )
            ]
            if cfg.observability.history_server
            else []
        ),
        *(
            [deployments_check(cluster, "Monitoring", names.MONITORING_NAMESPACE)]
            if cfg.observability.metrics
            else []
        ),
    ]


def storage_check(figures: Any) -> ComponentHealth:
    """MinIO's capacity; unhealthy with a drive offline (healing is reported, not failed)."""
    gib = 2**30
    detail = (
        f"{figures.usable_free / gib:.1f} of {figures.usable_total / gib:.1f} GiB free, "
        f"{figures.drives_offline:.0f} drive(s) offline, {figures.drives_healing:.0f} healing"
    )
    return ComponentHealth("MinIO capacity", figures.drives_offline == 0, detail)
