"""Metrics of the lakehouse: the Pushgateway the pipeline reports to, the stack's own
Prometheus (dev) or PodMonitors for the cluster's Prometheus operator (prod), the MinIO
metrics token both use, and the Grafana dashboards.

Everything runs in its own namespace, ``lakehouse-monitoring`` (default deny, like every
namespace of the stack). The targets come from ``lakehouse_core.scrape``; the
NetworkPolicies of each target admit exactly the scraper (``lakehouse_core.network``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import yaml

from lakehouse_core import names, versions
from lakehouse_core import network as flows
from lakehouse_core.scrape import PUSHGATEWAY_PORT_NAME, TARGETS
from lakehouse_infra import k8s as kube
from lakehouse_infra.credentials import Credential
from lakehouse_infra.dashboards import DASHBOARDS
from lakehouse_infra.metrics_token import metrics_token
from lakehouse_infra.network import Network
from lakehouse_infra.prometheus_config import (
    CA_DIR,
    TOKEN_DIR,
    TOKEN_KEY,
    pod_monitor,
    prometheus_config,
)
from lakehouse_infra.tls import InternalTls

COMPONENT = "monitoring"
NAMESPACE = names.MONITORING_NAMESPACE
NOBODY = 65534  # the prom/* images' user
# How long the stack's own Prometheus keeps samples, and the most it may write.
RETENTION, RETENTION_SIZE, DATA_SIZE = "3d", "768MB", "1Gi"


@dataclass(frozen=True)
class Scraping:
    """Who scrapes the stack: its own Prometheus, PodMonitors, or both off."""

    own_prometheus: bool
    monitors: bool
    dashboards: bool


class Monitoring(pulumi.ComponentResource):
    """``prometheus_service`` is what the ingress routes to (own Prometheus only)."""

    def __init__(
        self,
        name: str,
        *,
        scraping: Scraping,
        namespaces: Mapping[str, str],
        addresses: names.ClusterAddresses,
        minio_metrics: Credential,
        network: Network,
        tls: InternalTls | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("lakehouse:monitoring:Monitoring", name, None, opts)
        self.namespace = kube.namespace(
            NAMESPACE, COMPONENT, "restricted", pulumi.ResourceOptions(parent=self)
        )
        in_ns = pulumi.ResourceOptions(parent=self, depends_on=[self.namespace])
        network.default_deny(flows.MONITORING, COMPONENT, in_ns)
        self.namespaces = namespaces
        self.addresses = addresses
        token: pulumi.Output[str] = minio_metrics.password.apply(
            lambda secret: metrics_token(minio_metrics.user, secret)
        )  # a secret, as the password it derives from
        self.pushgateway = self._pushgateway(network, in_ns)
        self.prometheus_service: pulumi.Resource | None = None
        if scraping.own_prometheus:
            secret = self._token_secret(NAMESPACE, token, in_ns)
            trust = tls.trust(NAMESPACE, in_ns).resources if tls else []
            self.prometheus_service = self._prometheus(network, [secret, *trust], in_ns)
        if scraping.monitors:
            self._monitors(token, opts=pulumi.ResourceOptions(parent=self))
        if scraping.dashboards:
            for dashboard in DASHBOARDS:
                k8s.core.v1.ConfigMap(
                    f"dashboard-{dashboard.uid}",
                    metadata=kube.metadata(
                        f"lakehouse-dashboard-{dashboard.uid}",
                        NAMESPACE,
                        # The Grafana chart's sidecar loads every ConfigMap with this label.
                        {**kube.labels("dashboards", COMPONENT), "grafana_dashboard": "1"},
                    ),
                    data={
                        f"lakehouse-{dashboard.uid}.json": json.dumps(dashboard.json(), indent=1)
                    },
                    opts=in_ns,
                )
        self.register_outputs({"namespace": NAMESPACE, "ownPrometheus": scraping.own_prometheus})

    # --- the Pushgateway ----------------------------------------------------------------
    def _pushgateway(self, network: Network, opts: pulumi.ResourceOptions) -> pulumi.Resource:
        """Where each driver pushes its layer's figures when it ends; it keeps the last push
        of each layer (on its volume, across restarts of its container) for the scraper."""
        network.allow(flows.PUSHGATEWAY, COMPONENT, opts)
        labels = kube.labels(names.PUSHGATEWAY, COMPONENT, versions.PUSHGATEWAY_IMAGE.tag)
        select = kube.selector(names.PUSHGATEWAY, COMPONENT)
        container = {
            "name": "pushgateway",
            "image": versions.PUSHGATEWAY_IMAGE.ref,
            "imagePullPolicy": "IfNotPresent",
            "args": [
                f"--web.listen-address=:{names.PUSHGATEWAY_PORT}",
                "--persistence.file=/data/pushgateway.db",
                "--persistence.interval=1m",
            ],
            "ports": [{"name": PUSHGATEWAY_PORT_NAME, "containerPort": names.PUSHGATEWAY_PORT}],
            "resources": kube.with_ephemeral(
                {
                    "requests": {"cpu": "10m", "memory": "24Mi"},
                    "limits": {"cpu": "200m", "memory": "64Mi"},
                },
                "64Mi",
            ),
            "securityContext": kube.container_security(read_only_root=True),
            "readinessProbe": kube.http_probe("/-/ready", PUSHGATEWAY_PORT_NAME, period=10),
            "livenessProbe": kube.http_probe("/-/healthy", PUSHGATEWAY_PORT_NAME, period=30),
            "volumeMounts": [{"name": "data", "mountPath": "/data"}],
        }
        kube.service(
            names.PUSHGATEWAY,
            NAMESPACE,
            labels,
            select,
            {PUSHGATEWAY_PORT_NAME: names.PUSHGATEWAY_PORT},
            opts=opts,
        )
        deployment: pulumi.Resource = k8s.apps.v1.Deployment(
            names.PUSHGATEWAY,
            metadata=kube.metadata(names.PUSHGATEWAY, NAMESPACE, labels),
            spec={
                "replicas": 1,
                "selector": {"matchLabels": select},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "automountServiceAccountToken": False,  # it never calls the API
                        "securityContext": kube.pod_security(NOBODY),
                        "containers": [container],
                        "volumes": [kube.tmp_volume("data", "64Mi")],
                    },
                },
            },
            opts=opts,
        )
        return deployment

    # --- the stack's own Prometheus -------------------------------------------------------
    def _token_secret(
        self, namespace: str, token: pulumi.Output[str], opts: pulumi.ResourceOptions
    ) -> k8s.core.v1.Secret:
        return k8s.core.v1.Secret(
            f"{namespace}-{names.MINIO_METRICS_TOKEN_SECRET}",
            metadata=kube.metadata(
                names.MINIO_METRICS_TOKEN_SECRET,
                namespace,
                kube.labels(names.MINIO_METRICS_TOKEN_SECRET, COMPONENT),
            ),
            type="Opaque",
            string_data={TOKEN_KEY: token},
            opts=opts,
        )

    def _prometheus(
        self, network: Network, needs: list[pulumi.Resource], opts: pulumi.ResourceOptions
    ) -> pulumi.Resource:
        network.allow(flows.PROMETHEUS, COMPONENT, opts)
        labels = kube.labels(names.PROMETHEUS, COMPONENT, versions.PROMETHEUS_IMAGE.tag)
        select = kube.selector(names.PROMETHEUS, COMPONENT)
        account = self._discovery_rbac(opts)
        config = yaml.safe_dump(prometheus_config(self.namespaces, self.addresses), sort_keys=False)
        config_map = k8s.core.v1.ConfigMap(
            "prometheus-config",
            metadata=kube.metadata("prometheus-config", NAMESPACE, labels),
            data={"prometheus.yml": config},
            opts=opts,
        )
        tls = self.addresses.minio_tls
        container = {
            "name": "prometheus",
            "image": versions.PROMETHEUS_IMAGE.ref,
            "imagePullPolicy": "IfNotPresent",
            "args": [
                "--config.file=/etc/prometheus/config/prometheus.yml",
                "--storage.tsdb.path=/prometheus",
                f"--storage.tsdb.retention.time={RETENTION}",
                f"--storage.tsdb.retention.size={RETENTION_SIZE}",
                f"--web.listen-address=:{names.PROMETHEUS_PORT}",
            ],
            "ports": [{"name": "http", "containerPort": names.PROMETHEUS_PORT}],
            "resources": kube.with_ephemeral(
                {
                    "requests": {"cpu": "50m", "memory": "192Mi"},
                    "limits": {"cpu": "1", "memory": "512Mi"},
                },
                "64Mi",
            ),
            "securityContext": kube.container_security(read_only_root=True),
            "startupProbe": kube.http_probe("/-/ready", "http", period=5, failures=60),
            "readinessProbe": kube.http_probe("/-/ready", "http", period=10),
            "livenessProbe": kube.http_probe("/-/healthy", "http", period=30),
            "volumeMounts": [
                {"name": "config", "mountPath": "/etc/prometheus/config", "readOnly": True},
                {"name": "data", "mountPath": "/prometheus"},
                {"name": "minio-token", "mountPath": TOKEN_DIR, "readOnly": True},
                *([{"name": "ca", "mountPath": CA_DIR, "readOnly": True}] if tls else []),
            ],
        }
        volumes: list[dict[str, Any]] = [
            {"name": "config", "configMap": {"name": "prometheus-config"}},
            # Samples live for the retention above; a new pod starts empty (docs/observability.md).
            {"name": "data", "emptyDir": {"sizeLimit": DATA_SIZE}},
            {"name": "minio-token", "secret": {"secretName": names.MINIO_METRICS_TOKEN_SECRET}},
            *([{"name": "ca", "configMap": {"name": names.CA_BUNDLE}}] if tls else []),
        ]
        k8s.apps.v1.Deployment(
            names.PROMETHEUS,
            metadata=kube.metadata(names.PROMETHEUS, NAMESPACE, labels),
            spec={
                "replicas": 1,
                "strategy": {"type": "Recreate"},
                "selector": {"matchLabels": select},
                "template": {
                    "metadata": {
                        "labels": labels,
                        "annotations": {"lakehouse.dev/config-hash": kube.content_hash(config)},
                    },
                    "spec": {
                        "serviceAccountName": names.PROMETHEUS,
                        # It discovers the pods it scrapes through the API.
                        "automountServiceAccountToken": True,
                        "securityContext": kube.pod_security(NOBODY),
                        "containers": [container],
                        "volumes": volumes,
                    },
                },
            },
            opts=pulumi.ResourceOptions.merge(
                opts, pulumi.ResourceOptions(depends_on=[config_map, account, *needs])
            ),
        )
        service: pulumi.Resource = kube.service(
            names.PROMETHEUS, NAMESPACE, labels, select, {"http": names.PROMETHEUS_PORT}, opts=opts
        )
        return service

    def _discovery_rbac(self, opts: pulumi.ResourceOptions) -> pulumi.Resource:
        """Its own service account, which may list and watch pods in the namespaces it
        scrapes, and nothing else."""
        labels = kube.labels(names.PROMETHEUS, COMPONENT)
        account: pulumi.Resource = k8s.core.v1.ServiceAccount(
            "prometheus",
            metadata=kube.metadata(names.PROMETHEUS, NAMESPACE, labels),
            opts=opts,
        )
        scraped = sorted({self.namespaces[t.role.namespace or ""] for t in TARGETS})
        for namespace in scraped:
            role = f"lakehouse-prometheus-{namespace}"
            k8s.rbac.v1.Role(
                role,
                metadata=kube.metadata("lakehouse-prometheus", namespace, labels),
                rules=[
                    {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}
                ],
                opts=opts,
            )
            k8s.rbac.v1.RoleBinding(
                role,
                metadata=kube.metadata("lakehouse-prometheus", namespace, labels),
                role_ref={
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "Role",
                    "name": "lakehouse-prometheus",
                },
                subjects=[
                    {"kind": "ServiceAccount", "name": names.PROMETHEUS, "namespace": NAMESPACE}
                ],
                opts=opts,
            )
        return account

    # --- PodMonitors for the cluster's Prometheus operator ---------------------------------
    def _monitors(self, token: pulumi.Output[str], opts: pulumi.ResourceOptions) -> None:
        labels = kube.labels("lakehouse-monitors", COMPONENT)
        secrets: dict[str, k8s.core.v1.Secret] = {}
        for target in TARGETS:
            namespace = self.namespaces[target.role.namespace or ""]
            needs: list[pulumi.Resource] = []
            if target.minio_token:
                if namespace not in secrets:
                    secrets[namespace] = self._token_secret(namespace, token, opts)
                needs.append(secrets[namespace])
            monitor = pod_monitor(
                target,
                namespace,
                self.addresses,
                labels,
                names.MINIO_METRICS_TOKEN_SECRET if target.minio_token else None,
            )
            k8s.apiextensions.CustomResource(
                f"podmonitor-{target.job}",
                api_version=monitor["apiVersion"],
                kind=monitor["kind"],
                metadata=monitor["metadata"],
                spec=monitor["spec"],
                opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=needs)),
            )
