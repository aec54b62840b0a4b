"""What ``lakehouse status`` reports beyond health: the pipeline's last runs and each
table's freshness (from the Pushgateway the drivers report to), MinIO's capacity and
healing (from its metrics), and where each UI is.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

from lakehouse_core import names
from lakehouse_core.stack_config import StackConfig

SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)")


@dataclass
class LayerFigures:
    layer: str
    last_success: float | None = None
    last_failure: float | None = None
    seconds: float | None = None
    rows: dict[str, float] = field(default_factory=dict)  # kind -> rows, over its tables


@dataclass(frozen=True)
class TableFreshness:
    table: str
    layer: str
    written_at: float


def _labels(text: str) -> dict[str, str]:
    return dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', text or ""))


def pipeline_figures(
    groups: list[dict[str, Any]],
) -> tuple[list[LayerFigures], list[TableFreshness]]:
    """The Pushgateway's ``/api/v1/metrics`` answer, per layer and per table."""
    layers: dict[str, LayerFigures] = {}
    tables: list[TableFreshness] = []
    for group in groups:
        layer = group.get("labels", {}).get("layer")
        if not layer:
            continue
        figures = layers.setdefault(layer, LayerFigures(layer))
        for metric, family in group.items():
            if not isinstance(family, dict) or "metrics" not in family:
                continue
            for sample in family["metrics"]:
                value, labels = float(sample["value"]), sample.get("labels", {})
                if metric == "lakehouse_layer_last_success_timestamp_seconds":
                    figures.last_success = value
                elif metric == "lakehouse_layer_last_failure_timestamp_seconds":
                    figures.last_failure = value
                elif metric == "lakehouse_layer_last_run_seconds":
                    figures.seconds = value
                elif metric == "lakehouse_table_last_run_rows":
                    kind = labels.get("kind", "")
                    figures.rows[kind] = figures.rows.get(kind, 0) + value
                elif metric == "lakehouse_table_last_success_timestamp_seconds":
                    tables.append(TableFreshness(labels.get("table", ""), layer, value))
    return sorted(layers.values(), key=lambda f: f.layer), sorted(tables, key=lambda t: t.table)


def read_pipeline(cluster: Any) -> tuple[list[LayerFigures], list[TableFreshness]]:
    """Through the API server's service proxy: the Pushgateway has no route."""
    answer = cluster.service_get(
        names.MONITORING_NAMESPACE,
        f"{names.PUSHGATEWAY}:{names.PUSHGATEWAY_PORT}",
        "api/v1/metrics",
    )
    return pipeline_figures(list(json.loads(answer).get("data", [])))


@dataclass(frozen=True)
class StorageFigures:
    usable_total: float
    usable_free: float
    drives_offline: float
    drives_healing: float


def parse_samples(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    found: dict[str, list[tuple[dict[str, str], float]]] = {}
    for line in text.splitlines():
        match = SAMPLE.match(line)
        if match and not line.startswith("#"):
            try:
                value = float(match.group(3))
            except ValueError:
                continue
            found.setdefault(match.group(1), []).append((_labels(match.group(2)), value))
    return found


# What `status` reads of MinIO's cluster metrics (v2 names; the bed checks each exists).
USABLE_TOTAL = "minio_cluster_capacity_usable_total_bytes"
USABLE_FREE = "minio_cluster_capacity_usable_free_bytes"
DRIVES_OFFLINE = "minio_cluster_drive_offline_total"
DRIVES_HEALING = "minio_cluster_health_erasure_set_healing_drives"
STORAGE_METRICS = (USABLE_TOTAL, USABLE_FREE, DRIVES_OFFLINE, DRIVES_HEALING)


def storage_figures(text: str) -> StorageFigures:
    """MinIO's cluster metrics (v2): every server reports the cluster's figures alike."""
    samples = parse_samples(text)

    def most(name: str) -> float:
        return max((v for _, v in samples.get(name, [])), default=0.0)

    healing = sum(v for _, v in samples.get(DRIVES_HEALING, []))
    return StorageFigures(
        usable_total=most(USABLE_TOTAL),
        usable_free=most(USABLE_FREE),
        drives_offline=most(DRIVES_OFFLINE),
        drives_healing=healing,
    )


def read_storage(cluster: Any, cfg: StackConfig) -> StorageFigures:
    """Through the S3 ingress, with the token of the stack's metrics user."""
    import httpx

    from lakehouse.ops.endpoints import ensure_resolvable
    from lakehouse_infra.metrics_token import metrics_token

    users = cluster.secret(names.STORAGE_NAMESPACE, names.MINIO_USERS_SECRET)
    token = metrics_token(users["metricsAccessKey"], users["metricsSecretKey"])
    url = ensure_resolvable(cfg.ingress.url(cfg.ingress.hosts.s3))
    answer = httpx.get(
        f"{url}/minio/v2/metrics/cluster",
        headers={"Authorization": f"Bearer {token}"},
        timeout=15,
    )
    answer.raise_for_status()
    return storage_figures(answer.text)


def age(timestamp: float | None, now: float | None = None) -> str:
    if timestamp is None:
        return "never"
    seconds = max(0, int((now or time.time()) - timestamp))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"


def urls(cfg: StackConfig) -> list[tuple[str, str]]:
    """Where each UI and API of the stack is (what the stack routes)."""
    hosts, allow, ingress = cfg.ingress.hosts, cfg.ingress.allowlists, cfg.ingress
    found = [
        ("Dremio (UI, REST)", ingress.url(hosts.dremio)),
        ("Arrow Flight", ingress.flight_endpoint()),
        ("S3 API (MinIO)", ingress.url(hosts.s3)),
    ]
    if cfg.console_exposed:
        found.append(("MinIO console", ingress.url(hosts.console)))
    obs = cfg.observability
    if obs.history_server and cfg.ui_routed(allow.spark_history):
        found.append(("Spark History Server", ingress.url(hosts.spark_history)))
    ui = cfg.live_ui_url("<application>")
    if ui:
        found.append(("a running application's Spark UI", ui))
    if cfg.own_prometheus and cfg.ui_routed(allow.prometheus):
        found.append(("Prometheus", ingress.url(hosts.prometheus)))
    return found
