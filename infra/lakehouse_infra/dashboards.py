"""The lakehouse's Grafana dashboards, as data: each panel's title, unit and queries.

The stack ships them as ConfigMaps labelled ``grafana_dashboard: "1"`` (the Grafana chart's
sidecar loads those), for a Grafana of the user's own (Grafana itself is not part of the
stack). Every query names only metrics a component exports (``lakehouse_core.scrape``);
the cluster test runs each one against the bed's Prometheus after the pipeline ran, and a
query without data fails it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lakehouse_core.scrape import SPARK_METRICS_NAMESPACE

DRIVER = f"metrics_{SPARK_METRICS_NAMESPACE}_driver"


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str = ""


@dataclass(frozen=True)
class Panel:
    title: str
    queries: tuple[Query, ...]
    unit: str = "short"
    kind: str = "timeseries"  # or "stat"
    description: str = ""


@dataclass(frozen=True)
class Dashboard:
    uid: str
    title: str
    panels: tuple[Panel, ...]
    tags: tuple[str, ...] = field(default=("lakehouse",))

    def json(self) -> dict[str, Any]:
        """The dashboard model Grafana imports (schema 39), on a Prometheus data source
        the user picks (the ``datasource`` variable)."""
        panels = []
        for i, panel in enumerate(self.panels):
            panels.append(
                {
                    "id": i + 1,
                    "type": panel.kind,
                    "title": panel.title,
                    "description": panel.description,
                    "datasource": {"type": "prometheus", "uid": "${datasource}"},
                    "gridPos": {"h": 8, "w": 12, "x": 12 * (i % 2), "y": 8 * (i // 2)},
                    "fieldConfig": {"defaults": {"unit": panel.unit}, "overrides": []},
                    "options": {},
                    "targets": [
                        {
                            "refId": chr(ord("A") + j),
                            "datasource": {"type": "prometheus", "uid": "${datasource}"},
                            "expr": q.expr,
                            "legendFormat": q.legend,
                        }
                        for j, q in enumerate(panel.queries)
                    ],
                }
            )
        return {
            "uid": f"lakehouse-{self.uid}",
            "title": self.title,
            "tags": list(self.tags),
            "schemaVersion": 39,
            "editable": True,
            "time": {"from": "now-6h", "to": "now"},
            "refresh": "30s",
            "templating": {
                "list": [
                    {
                        "name": "datasource",
                        "label": "Prometheus",
                        "type": "datasource",
                        "query": "prometheus",
                    }
                ]
            },
            "panels": panels,
        }


OVERVIEW = Dashboard(
    "overview",
    "Lakehouse: overview",
    (
        Panel(
            "Seconds since each layer last succeeded",
            (Query("time() - lakehouse_layer_last_success_timestamp_seconds", "{{layer}}"),),
            unit="s",
            kind="stat",
        ),
        Panel(
            "Last run's duration per layer",
            (Query("lakehouse_layer_last_run_seconds", "{{layer}}"),),
            unit="s",
        ),
        Panel(
            "Rows per layer in the last run",
            (Query("sum by (layer, kind) (lakehouse_table_last_run_rows)", "{{layer}} {{kind}}"),),
        ),
        Panel(
            "Rejected rows per table in the last run",
            (Query('lakehouse_table_last_run_rows{kind="rejected"}', "{{layer}}.{{table}}"),),
            description="Quarantined with their reason (lakehouse quarantine).",
        ),
        Panel(
            "Freshness: seconds since each table was last written",
            (Query("time() - lakehouse_table_last_success_timestamp_seconds", "{{table}}"),),
            unit="s",
        ),
        Panel(
            "Spark applications submitted and succeeded",
            (
                Query("sum(spark_application_submit_count)", "submitted"),
                Query("sum(spark_application_success_count)", "succeeded"),
            ),
        ),
    ),
)

STORAGE = Dashboard(
    "storage",
    "Lakehouse: storage (MinIO)",
    (
        Panel(
            "Usable capacity",
            (
                Query("max(minio_cluster_capacity_usable_total_bytes)", "total"),
                Query("max(minio_cluster_capacity_usable_free_bytes)", "free"),
            ),
            unit="bytes",
        ),
        Panel(
            "Drives",
            (
                Query("max(minio_cluster_drive_online_total)", "online"),
                Query("max(minio_cluster_drive_offline_total)", "offline"),
            ),
        ),
        Panel(
            "Drives healing per erasure set",
            (
                Query(
                    "max by (pool, set) (minio_cluster_health_erasure_set_healing_drives)",
                    "pool {{pool}} set {{set}}",
                ),
            ),
        ),
        Panel(
            "S3 requests per second by API",
            (
                Query(
                    'sum by (api) (rate(minio_s3_requests_total{job=~".*minio-node"}[5m]))',
                    "{{api}}",
                ),
            ),
            unit="reqps",
        ),
        Panel(
            "S3 errors per second by API",
            (
                Query(
                    'sum by (api) (rate(minio_s3_requests_errors_total{job=~".*minio-node"}[5m]))',
                    "{{api}}",
                ),
            ),
            unit="reqps",
            description="Refusals (403) included: a user asking for what its policy denies.",
        ),
        Panel(
            "S3 traffic",
            (
                Query(
                    'sum(rate(minio_s3_traffic_received_bytes{job=~".*minio-node"}[5m]))',
                    "received",
                ),
                Query('sum(rate(minio_s3_traffic_sent_bytes{job=~".*minio-node"}[5m]))', "sent"),
            ),
            unit="Bps",
        ),
    ),
)

SPARK = Dashboard(
    "spark",
    "Lakehouse: Spark",
    (
        Panel(
            "Applications running, and executors",
            (
                Query("sum(spark_application_running_count)", "applications"),
                Query("sum(spark_executor_running_count)", "executors"),
            ),
        ),
        Panel(
            "Applications that ended, by outcome",
            (
                Query("sum(spark_application_success_count)", "succeeded"),
                Query("sum(spark_application_failure_count)", "failed"),
            ),
        ),
        Panel(
            "Driver heap used",
            (Query(f"{DRIVER}_jvm_heap_used_Value", "{{pod}}"),),
            unit="bytes",
        ),
        Panel(
            "Tasks completed per second",
            (
                Query(
                    f"sum by (pod) (rate({DRIVER}_appStatus_tasks_completedTasks_Count[1m]))",
                    "{{pod}}",
                ),
            ),
        ),
        Panel(
            "Active tasks per executor",
            (
                Query(
                    "sum by (application_name, executor_id) (metrics_executor_activeTasks)",
                    "{{application_name}} {{executor_id}}",
                ),
            ),
        ),
        Panel(
            "GC time per executor (seconds per second)",
            (
                Query(
                    "sum by (application_name, executor_id) "
                    "(rate(metrics_executor_totalGCTime_seconds_total[1m]))",
                    "{{application_name}} {{executor_id}}",
                ),
            ),
            unit="percentunit",
        ),
    ),
)

QUERY = Dashboard(
    "query",
    "Lakehouse: query (Dremio)",
    (
        Panel(
            "Queries per second by workload",
            (Query("sum by (workload_type) (rate(jobs_total[5m]))", "{{workload_type}}"),),
            unit="reqps",
        ),
        Panel(
            "Queries running, and failed",
            (
                Query("sum(jobs_active)", "running"),
                Query("sum(jobs_failed_total)", "failed (total)"),
            ),
        ),
        Panel(
            "Heap used per node",
            (Query('sum by (pod) (jvm_memory_used_bytes{area="heap"})', "{{pod}}"),),
            unit="bytes",
        ),
        Panel(
            "Fragments running on the executors",
            (Query("sum(exec_fragments_active)", "fragments"),),
        ),
        Panel(
            "ZooKeeper",
            (
                Query("max(znode_count)", "znodes"),
                Query("sum(num_alive_connections)", "connections"),
            ),
        ),
        Panel(
            "Requests through the ingress by service",
            (Query("sum by (service) (rate(traefik_service_requests_total[5m]))", "{{service}}"),),
            unit="reqps",
        ),
    ),
)

DASHBOARDS: tuple[Dashboard, ...] = (OVERVIEW, STORAGE, SPARK, QUERY)


def all_queries() -> list[tuple[str, str, str]]:
    """(dashboard, panel, expression) of every query: what the bed checks."""
    return [(d.title, p.title, q.expr) for d in DASHBOARDS for p in d.panels for q in p.queries]
