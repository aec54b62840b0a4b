"""The scrape configuration of the stack's own Prometheus, and the PodMonitors for a
Prometheus operator: both from the one target table (``lakehouse_core.scrape``).

Both find pods the same way: by namespace, the role's labels and the container port's
name. A driver that ends drops out of discovery; its last samples stay in Prometheus.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lakehouse_core import names
from lakehouse_core.scrape import TARGETS, ScrapeTarget

SCRAPE_INTERVAL = "15s"
# Where the Prometheus pod mounts what a target needs.
TOKEN_DIR = "/etc/prometheus/minio"  # noqa: S105 (a mount path)
CA_DIR = "/etc/prometheus/ca"
TOKEN_KEY = "token"  # noqa: S105 (the key of the Secret that holds it)


def _selector(target: ScrapeTarget) -> str:
    return ",".join(f"{k}={v}" for k, v in target.role.labels)


def scheme(target: ScrapeTarget, minio_tls: bool) -> str:
    return "https" if target.tls_when_internal and minio_tls else "http"


def scrape_config(
    target: ScrapeTarget, namespace: str, addresses: names.ClusterAddresses
) -> dict[str, Any]:
    """One ``scrape_configs`` entry: pods of the target's role, on its named port."""
    sd: dict[str, Any] = {"role": "pod", "namespaces": {"names": [namespace]}}
    if target.role.labels:
        sd["selectors"] = [{"role": "pod", "label": _selector(target)}]
    entry: dict[str, Any] = {
        "job_name": target.job,
        "metrics_path": target.path,
        "scheme": scheme(target, addresses.minio_tls),
        "kubernetes_sd_configs": [sd],
        # Spark's endpoints answer text/plain without a version: read it as the text format.
        "fallback_scrape_protocol": "PrometheusText0.0.4",
        "relabel_configs": [
            {
                "source_labels": ["__meta_kubernetes_pod_container_port_name"],
                "regex": target.port,
                "action": "keep",
            },
            {
                "source_labels": ["__meta_kubernetes_pod_phase"],
                "regex": "Running",
                "action": "keep",
            },
            {"source_labels": ["__meta_kubernetes_namespace"], "target_label": "namespace"},
            {"source_labels": ["__meta_kubernetes_pod_name"], "target_label": "pod"},
        ],
    }
    if target.honor_labels:
        entry["honor_labels"] = True
    if target.minio_token:
        entry["authorization"] = {"type": "Bearer", "credentials_file": f"{TOKEN_DIR}/{TOKEN_KEY}"}
    if entry["scheme"] == "https":
        # Pods are scraped by address; the certificate names MinIO's Service.
        entry["tls_config"] = {
            "ca_file": f"{CA_DIR}/ca.crt",
            "server_name": addresses.service(names.MINIO, names.STORAGE_NAMESPACE),
        }
    return entry


def prometheus_config(
    namespaces: Mapping[str, str], addresses: names.ClusterAddresses
) -> dict[str, Any]:
    """prometheus.yml: every target, in the namespace its role lives in."""
    return {
        "global": {"scrape_interval": SCRAPE_INTERVAL, "evaluation_interval": "30s"},
        "scrape_configs": [
            scrape_config(t, namespaces[t.role.namespace or ""], addresses) for t in TARGETS
        ],
    }


def pod_monitor(
    target: ScrapeTarget,
    namespace: str,
    addresses: names.ClusterAddresses,
    labels: dict[str, str],
    token_secret: str | None,
) -> dict[str, Any]:
    """A PodMonitor (monitoring.coreos.com/v1) for one target, in its pods' namespace."""
    endpoint: dict[str, Any] = {
        "port": target.port,
        "path": target.path,
        "interval": SCRAPE_INTERVAL,
        "scheme": scheme(target, addresses.minio_tls),
    }
    if target.honor_labels:
        endpoint["honorLabels"] = True
    if target.minio_token and token_secret:
        endpoint["authorization"] = {
            "type": "Bearer",
            "credentials": {"name": token_secret, "key": TOKEN_KEY},
        }
    if endpoint["scheme"] == "https":
        endpoint["tlsConfig"] = {
            "ca": {"configMap": {"name": names.CA_BUNDLE, "key": "ca.crt"}},
            "serverName": addresses.service(names.MINIO, names.STORAGE_NAMESPACE),
        }
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PodMonitor",
        "metadata": {"name": f"lakehouse-{target.job}", "namespace": namespace, "labels": labels},
        "spec": {
            "selector": {"matchLabels": target.role.selector},
            "namespaceSelector": {"matchNames": [namespace]},
            "podMetricsEndpoints": [endpoint],
        },
    }
