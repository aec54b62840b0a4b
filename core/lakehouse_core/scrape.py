"""Every metrics endpoint of the lakehouse, as data.

One table, three readers: the stack's own Prometheus is configured from it (dev), the
``PodMonitor`` objects for a Prometheus operator are declared from it (prod), and the
cluster test checks on the bed that each target is up and that its key metric has a
value. A target names a role of ``lakehouse_core.network`` (which pods), the container
port by name, and the path; the NetworkPolicies let the scraper reach exactly these.

Pure Python: standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass

from lakehouse_core import network as flows

# The container port names the targets scrape (each component declares its port so).
METRICS_PORT_NAME = "metrics"
SPARK_UI_PORT_NAME = "spark-ui"  # what Spark on Kubernetes names the driver's UI port
MINIO_API_PORT_NAME = "api"
PUSHGATEWAY_PORT_NAME = "http"

# Spark's metric names start with this (spark.metrics.namespace): stable across runs,
# rather than each application's id.
SPARK_METRICS_NAMESPACE = "lakehouse"


@dataclass(frozen=True)
class ScrapeTarget:
    """One endpoint on every pod of a role."""

    job: str  # Prometheus' job label
    role: flows.Role
    port: str  # the container port's name
    path: str
    key_metric: str  # a series the target always exports once it served its purpose once
    why: str
    # MinIO answers only with its metrics token (a JWT for a user allowed admin:Prometheus).
    minio_token: bool = False
    # Whether the scheme follows the stack's internal TLS (MinIO's API does).
    tls_when_internal: bool = False
    # The Pushgateway relays the pushers' own job and labels.
    honor_labels: bool = False


TARGETS: tuple[ScrapeTarget, ...] = (
    ScrapeTarget(
        "minio-cluster",
        flows.MINIO,
        MINIO_API_PORT_NAME,
        "/minio/v2/metrics/cluster",
        "minio_cluster_capacity_usable_total_bytes",
        "capacity, drives, healing, S3 requests and errors of the whole cluster",
        minio_token=True,
        tls_when_internal=True,
    ),
    ScrapeTarget(
        "minio-node",
        flows.MINIO,
        MINIO_API_PORT_NAME,
        "/minio/v2/metrics/node",
        "minio_node_drive_free_bytes",
        "each server's drives and process",
        minio_token=True,
        tls_when_internal=True,
    ),
    ScrapeTarget(
        "zookeeper",
        flows.ZOOKEEPER,
        METRICS_PORT_NAME,
        "/metrics",
        "znode_count",
        "ZooKeeper's Prometheus metrics provider",
    ),
    ScrapeTarget(
        "dremio-coordinator",
        flows.DREMIO_COORDINATOR,
        METRICS_PORT_NAME,
        "/metrics",
        "jvm_memory_used_bytes",
        "Dremio's Micrometer registry (its web-admin server)",
    ),
    ScrapeTarget(
        "dremio-executor",
        flows.DREMIO_EXECUTOR,
        METRICS_PORT_NAME,
        "/metrics",
        "jvm_memory_used_bytes",
        "Dremio's Micrometer registry (its web-admin server)",
    ),
    ScrapeTarget(
        "spark-operator",
        flows.SPARK_OPERATOR_CONTROLLER,
        METRICS_PORT_NAME,
        "/metrics",
        "spark_application_submit_count",
        "the operator: applications submitted, running, succeeded, failed",
    ),
    ScrapeTarget(
        "traefik",
        flows.TRAEFIK,
        METRICS_PORT_NAME,
        "/metrics",
        "traefik_entrypoint_requests_total",
        "requests through the ingress, per entry point and service",
    ),
    ScrapeTarget(
        "spark-driver",
        flows.SPARK_DRIVER,
        SPARK_UI_PORT_NAME,
        "/metrics/prometheus",
        f"metrics_{SPARK_METRICS_NAMESPACE}_driver_jvm_heap_used_Value",
        "a running application's driver (Spark's PrometheusServlet)",
    ),
    ScrapeTarget(
        "spark-executors",
        flows.SPARK_DRIVER,
        SPARK_UI_PORT_NAME,
        "/metrics/executors/prometheus",
        "metrics_executor_activeTasks",
        "a running application's executors, as its driver reports them",
    ),
    ScrapeTarget(
        "spark-connect",
        flows.SPARK_CONNECT,
        SPARK_UI_PORT_NAME,
        "/metrics/prometheus",
        f"metrics_{SPARK_METRICS_NAMESPACE}_driver_jvm_heap_used_Value",
        "the Spark Connect server (every interactive session's driver)",
    ),
    ScrapeTarget(
        "pipeline",
        flows.PUSHGATEWAY,
        PUSHGATEWAY_PORT_NAME,
        "/metrics",
        "lakehouse_layer_last_success_timestamp_seconds",
        "the pipeline's own figures, pushed by each driver when its layer ends",
        honor_labels=True,
    ),
)


def target(job: str) -> ScrapeTarget:
    [found] = [t for t in TARGETS if t.job == job]
    return found


def target_table() -> str:
    """The targets as a Markdown table (docs/observability.md prints it)."""
    rows = ["| job | pods | port | path | key metric | what |", "|---|---|---|---|---|---|"]
    for t in TARGETS:
        rows.append(
            f"| {t.job} | {t.role.name} | {t.port} | `{t.path}` | `{t.key_metric}` | {t.why} |"
        )
    return "\n".join(rows)
