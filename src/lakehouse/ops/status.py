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
    try:
        ready, wanted = cluster.ready_replicas(namespace, kind, name)
    except Exception as err:
        return ComponentHealth(
            component, False, f"{kind} {namespace}/{name}: {err.__class__.__name__}"
        )
    return ComponentHealth(
        component,
        ready == wanted and wanted > 0,
        f"{kind} {namespace}/{name}: {ready}/{wanted} ready",
    )


def deployments_check(cluster: Any, component: str, namespace: str) -> ComponentHealth:
    try:
        items = cluster.deployments(namespace)
    except Exception as err:
        return ComponentHealth(component, False, f"{namespace}: {err.__class__.__name__}")
    if not items:
        return ComponentHealth(component, False, f"no Deployments in {namespace}")
    parts = [f"{d.metadata.name} {d.status.ready_replicas or 0}/{d.spec.replicas}" for d in items]
    healthy = all((d.status.ready_replicas or 0) == d.spec.replicas for d in items)
    return ComponentHealth(component, healthy, ", ".join(parts))
