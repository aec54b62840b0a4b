"""Distributed MinIO from native Kubernetes objects, plus the Job that provisions it.

The community chart and images are frozen (see docs/upstreams.md), so the project declares the
StatefulSet itself: Parallel pod management behind a headless Service that publishes
not-ready addresses (pods must find each other before any is ready), health probes, a
PodDisruptionBudget of one, non-root, no privilege escalation, read-only root filesystem.

A rotated root password rolls the MinIO pods (a digest of it is a pod annotation) and
re-runs the provisioning Job, which also sets the users' rotated secret keys.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from lakehouse_core import names
from lakehouse_core import network as flows
from lakehouse_core.stack_config import ObjectStoreConfig, erasure_set_size, parity
from lakehouse_infra import k8s as kube
from lakehouse_infra.credentials import Credential
from lakehouse_infra.minio_provisioning import provision_files
from lakehouse_infra.network import Network
from lakehouse_infra.tls import MINIO_CERT_ITEMS, MINIO_TLS_SECRET, InternalTls, trust_volumes

COMPONENT = "object-store"
NAMESPACE = names.STORAGE_NAMESPACE
API_PORT, CONSOLE_PORT = names.MINIO_API_PORT, names.MINIO_CONSOLE_PORT
CERTS_DIR = "/etc/minio/certs"


@dataclass(frozen=True)
class StoreCredentials:
    """The root user and one user per consumer (Spark read-write, Dremio read + its prefix)."""

    root: Credential
    spark: Credential
    dremio: Credential
    history: Credential
    metrics: Credential
    connect: Credential


def server_args(replicas: int, drives: int, addresses: names.ClusterAddresses) -> list[str]:
    scheme = "https" if addresses.minio_tls else "http"
    hosts = (
        f"{scheme}://{names.MINIO}-{{0...{replicas - 1}}}."
        f"{addresses.service(names.MINIO_HEADLESS, NAMESPACE)}"
    )
    paths = "/data0" if drives == 1 else f"/data{{0...{drives - 1}}}"
    return [
        "server",
        hosts + paths,
        "--address",
        f":{API_PORT}",
        "--console-address",
        f":{CONSOLE_PORT}",
        "--certs-dir",
        CERTS_DIR if addresses.minio_tls else "/tmp/certs",
    ]


def spread_constraints(cfg: ObjectStoreConfig, select: dict[str, str]) -> list[dict[str, Any]]:
    """One MinIO pod per node when the stack spreads them (prod), so losing a node never
    takes more drives of an erasure set than its parity allows for writes.

    ``minDomains`` equal to the replicas makes the scheduler count the missing nodes as
    empty domains: with fewer nodes than pods the surplus pods stay Pending (a visible,
    safe state) instead of doubling up on a node, where one node's loss would cost the
    write quorum (three nodes, eight drives at EC:4: two pods, four drives, on one node).
    """
    if not cfg.spread_across_nodes:
        return [
            {
                "maxSkew": 1,
                "topologyKey": "kubernetes.io/hostname",
                "whenUnsatisfiable": "ScheduleAnyway",
                "labelSelector": {"matchLabels": select},
            }
        ]
    return [
        {
            "maxSkew": 1,
            "minDomains": cfg.replicas,
            "topologyKey": "kubernetes.io/hostname",
            "whenUnsatisfiable": "DoNotSchedule",
            "labelSelector": {"matchLabels": select},
        }
    ]


class ObjectStore(pulumi.ComponentResource):
    """MinIO and its provisioning. ``endpoint`` and ``ready`` are what its consumers need."""

    def __init__(
        self,
        name: str,
        *,
        cfg: ObjectStoreConfig,
        bucket: str,
        credentials: StoreCredentials,
        console_url: str,
        network: Network,
        addresses: names.ClusterAddresses,
        tls: InternalTls | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("lakehouse:storage:ObjectStore", name, None, opts)
        self.cfg = cfg
        self.bucket = bucket
        self.addresses = addresses
        self.endpoint = addresses.minio_endpoint()
        self.endpoint_host = addresses.minio_host()
        version = cfg.image.rsplit(":", 1)[-1]
        labels = kube.labels(names.MINIO, COMPONENT, version)
        select = kube.selector(names.MINIO, COMPONENT)

        self.namespace = kube.namespace(
            NAMESPACE, COMPONENT, "restricted", pulumi.ResourceOptions(parent=self)
        )
        in_ns = pulumi.ResourceOptions(parent=self, depends_on=[self.namespace])
        network.default_deny(flows.STORAGE, COMPONENT, in_ns)
        for role in (flows.MINIO, flows.MINIO_PROVISION):
            network.allow(role, COMPONENT, in_ns)
        # TLS inside the cluster: MinIO's certificate, and the CA for the provisioning Job.
        self.tls = tls
        tls_ready: list[pulumi.Resource] = []
        if tls is not None:
            tls_ready.append(tls.minio_certificate(in_ns))
            tls_ready += tls.trust(NAMESPACE, in_ns).resources
        self.tls_ready = tls_ready
        # Traefik reaches the backends as they serve: over TLS when MinIO serves it.
        backend = (
            {
                "traefik.ingress.kubernetes.io/service.serversscheme": "https",
                "traefik.ingress.kubernetes.io/service.serverstransport": (
                    f"{names.MINIO_SERVERS_TRANSPORT}@file"
                ),
            }
            if tls
            else None
        )

        self.root_secret = k8s.core.v1.Secret(
            names.MINIO_ROOT_SECRET,
            metadata=kube.metadata(
                names.MINIO_ROOT_SECRET,
                NAMESPACE,
                kube.labels(names.MINIO_ROOT_SECRET, COMPONENT),
            ),
            type="Opaque",
            string_data={
                "rootUser": credentials.root.user,
                "rootPassword": credentials.root.password,
            },
            opts=in_ns,
        )
        self.users_secret = k8s.core.v1.Secret(
            names.MINIO_USERS_SECRET,
            metadata=kube.metadata(
                names.MINIO_USERS_SECRET,
                NAMESPACE,
                kube.labels(names.MINIO_USERS_SECRET, COMPONENT),
            ),
            type="Opaque",
            string_data={
                "sparkAccessKey": credentials.spark.user,
                "sparkSecretKey": credentials.spark.password,
                "dremioAccessKey": credentials.dremio.user,
                "dremioSecretKey": credentials.dremio.password,
                "historyAccessKey": credentials.history.user,
                "historySecretKey": credentials.history.password,
                "metricsAccessKey": credentials.metrics.user,
                "metricsSecretKey": credentials.metrics.password,
                "connectAccessKey": credentials.connect.user,
                "connectSecretKey": credentials.connect.password,
            },
            opts=in_ns,
        )
        provision_data = provision_files(bucket, cfg.noncurrent_version_days)
        self.provision_config = k8s.core.v1.ConfigMap(
            names.MINIO_PROVISION_JOB,
            metadata=kube.metadata(
                names.MINIO_PROVISION_JOB,
                NAMESPACE,
                kube.labels(names.MINIO_PROVISION_JOB, COMPONENT),
            ),
            data=provision_data,
            opts=in_ns,
        )
        self.headless = kube.service(
            names.MINIO_HEADLESS,
            NAMESPACE,
            labels,
            select,
            {"api": API_PORT},
            opts=in_ns,
            headless=True,
        )
        self.api_service = kube.service(
            names.MINIO,
            NAMESPACE,
            labels,
            select,
            {"api": API_PORT},
            opts=in_ns,
            annotations=backend,
        )
        self.console_service = kube.service(
            names.MINIO_CONSOLE_SERVICE,
            NAMESPACE,
            labels,
            select,
            {"console": CONSOLE_PORT},
            opts=in_ns,
            annotations=backend,
        )
        root_digest = kube.secret_hash(credentials.root.user, credentials.root.password)
        self.statefulset = self._statefulset(labels, select, console_url, root_digest)
        self.disruption_budget = k8s.policy.v1.PodDisruptionBudget(
            names.MINIO,
            metadata=kube.metadata(names.MINIO, NAMESPACE, labels),
            # With default parity one pod down keeps write quorum; two would not.
            spec={"maxUnavailable": 1, "selector": {"matchLabels": select}},
            opts=in_ns,
        )
        users_digest = kube.secret_hash(
            credentials.root.password,
            credentials.spark.password,
            credentials.dremio.password,
            credentials.history.password,
            credentials.metrics.password,
            credentials.connect.password,
        )
        self.provision_job = self._provision_job(provision_data, users_digest)
        # What consumers wait for: the bucket and the users exist.
        self.ready: pulumi.Resource = self.provision_job
        self.register_outputs({"namespace": NAMESPACE, "endpoint": self.endpoint, "bucket": bucket})

    def _statefulset(
        self,
        labels: dict[str, str],
        select: dict[str, str],
        console_url: str,
        root_digest: pulumi.Output[str],
    ) -> k8s.apps.v1.StatefulSet:
        cfg = self.cfg
        set_size = erasure_set_size(cfg.replicas * cfg.drives_per_pod)
        assert set_size is not None  # the config validation guarantees it
        annotations = {
            "lakehouse.dev/erasure-set-size": str(set_size),
            "lakehouse.dev/parity": f"EC:{parity(set_size)}",
        }
        env: list[dict[str, Any]] = [
            kube.secret_env("MINIO_ROOT_USER", names.MINIO_ROOT_SECRET, "rootUser"),
            kube.secret_env("MINIO_ROOT_PASSWORD", names.MINIO_ROOT_SECRET, "rootPassword"),
            kube.env("MINIO_BROWSER_REDIRECT_URL", console_url),
            kube.env("MINIO_UPDATE", "off"),
            kube.env("HOME", "/tmp"),
        ]
        if cfg.allow_root_drives:
            env.append(kube.env("MINIO_CI_CD", "1"))
        drives = [f"data{i}" for i in range(cfg.drives_per_pod)]
        spread = spread_constraints(cfg, select)
        scheme = "HTTPS" if self.tls else "HTTP"
        mounts: list[dict[str, Any]] = [{"name": d, "mountPath": f"/{d}"} for d in drives]
        mounts.append({"name": "tmp", "mountPath": "/tmp"})
        volumes: list[dict[str, Any]] = [kube.tmp_volume()]
        if self.tls:
            # MinIO reads public.crt, private.key and CAs/ from its certs folder, and
            # reloads them when the Secret changes (a renewal needs no restart).
            items = [{"key": key, "path": path} for key, path in MINIO_CERT_ITEMS]
            volumes.append(
                {"name": "certs", "secret": {"secretName": MINIO_TLS_SECRET, "items": items}}
            )
            mounts.append({"name": "certs", "mountPath": CERTS_DIR, "readOnly": True})
        container = {
            "name": "minio",
            "image": cfg.image,
            "imagePullPolicy": "IfNotPresent",
            "command": ["minio"],
            "args": server_args(cfg.replicas, cfg.drives_per_pod, self.addresses),
            "env": env,
            "ports": [
                {"name": "api", "containerPort": API_PORT},
                {"name": "console", "containerPort": CONSOLE_PORT},
            ],
            "resources": kube.with_ephemeral(cfg.resources.as_k8s(), "1Gi"),
            "securityContext": kube.container_security(read_only_root=True),
            "startupProbe": kube.http_probe(
                "/minio/health/live", "api", period=5, failures=60, scheme=scheme
            ),
            "livenessProbe": kube.http_probe(
                "/minio/health/live", "api", period=20, failures=3, scheme=scheme
            ),
            "readinessProbe": kube.http_probe(
                "/minio/health/ready", "api", period=10, failures=3, scheme=scheme
            ),
            "volumeMounts": mounts,
        }
        claim_labels = kube.claim_labels(names.MINIO, COMPONENT)
        return k8s.apps.v1.StatefulSet(
            names.MINIO,
            metadata=kube.metadata(names.MINIO, NAMESPACE, labels, annotations=annotations),
            spec={
                "serviceName": names.MINIO_HEADLESS,
                "replicas": cfg.replicas,
                "podManagementPolicy": "Parallel",
                "selector": {"matchLabels": select},
                "updateStrategy": {"type": "RollingUpdate"},
                "template": {
                    "metadata": {
                        "labels": labels,
                        # A rotated root password restarts the servers with it.
                        "annotations": {"lakehouse.dev/root-credentials": root_digest},
                    },
                    "spec": {
                        "automountServiceAccountToken": False,  # it never calls the API
                        "securityContext": kube.pod_security(names.MINIO_UID),
                        "topologySpreadConstraints": spread,
                        "terminationGracePeriodSeconds": 60,
                        "containers": [container],
                        "volumes": volumes,
                    },
                },
                "volumeClaimTemplates": [
                    kube.volume_claim(d, cfg.drive_size, cfg.storage_class, claim_labels)
                    for d in drives
                ],
            },
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[self.namespace, self.root_secret, self.headless, *self.tls_ready],
            ),
        )

    def _provision_job(
        self, provision_data: dict[str, str], users_digest: pulumi.Output[str]
    ) -> k8s.batch.v1.Job:
        name = names.MINIO_PROVISION_JOB
        image = self.cfg.mc_image
        labels = kube.labels(name, COMPONENT, image.rsplit(":", 1)[-1])
        config_digest = kube.content_hash(json.dumps(provision_data, sort_keys=True))
        env = [
            kube.env("MINIO_URL", self.endpoint),
            kube.env("BUCKET", self.bucket),
            kube.env("MC_CONFIG_DIR", "/tmp/.mc"),
            *([kube.env("SSL_CERT_FILE", f"{names.CA_DIR}/ca.crt")] if self.tls else []),
            kube.secret_env("MINIO_ROOT_USER", names.MINIO_ROOT_SECRET, "rootUser"),
            kube.secret_env("MINIO_ROOT_PASSWORD", names.MINIO_ROOT_SECRET, "rootPassword"),
            kube.secret_env("SPARK_ACCESS_KEY", names.MINIO_USERS_SECRET, "sparkAccessKey"),
            kube.secret_env("SPARK_SECRET_KEY", names.MINIO_USERS_SECRET, "sparkSecretKey"),
            kube.secret_env("DREMIO_ACCESS_KEY", names.MINIO_USERS_SECRET, "dremioAccessKey"),
            kube.secret_env("DREMIO_SECRET_KEY", names.MINIO_USERS_SECRET, "dremioSecretKey"),
            kube.secret_env("HISTORY_ACCESS_KEY", names.MINIO_USERS_SECRET, "historyAccessKey"),
            kube.secret_env("HISTORY_SECRET_KEY", names.MINIO_USERS_SECRET, "historySecretKey"),
            kube.secret_env("METRICS_ACCESS_KEY", names.MINIO_USERS_SECRET, "metricsAccessKey"),
            kube.secret_env("METRICS_SECRET_KEY", names.MINIO_USERS_SECRET, "metricsSecretKey"),
            kube.secret_env("CONNECT_ACCESS_KEY", names.MINIO_USERS_SECRET, "connectAccessKey"),
            kube.secret_env("CONNECT_SECRET_KEY", names.MINIO_USERS_SECRET, "connectSecretKey"),
        ]
        return k8s.batch.v1.Job(
            name,
            metadata=kube.metadata(name, NAMESPACE, labels),
            spec={
                "backoffLimit": 6,
                "activeDeadlineSeconds": 1800,
                "template": {
                    "metadata": {
                        "labels": labels,
                        # A changed script, policy, or password replaces the Job: it runs again.
                        "annotations": {
                            "lakehouse.dev/config-hash": config_digest,
                            "lakehouse.dev/credentials-hash": users_digest,
                        },
                    },
                    "spec": {
                        "automountServiceAccountToken": False,  # it never calls the API
                        "restartPolicy": "OnFailure",
                        "securityContext": kube.pod_security(names.MINIO_UID),
                        "containers": [
                            {
                                "name": "provision",
                                "image": image,
                                "imagePullPolicy": "IfNotPresent",
                                "command": ["/bin/sh", "/provision/provision.sh"],
                                "env": env,
                                # 128Mi was OOMKilled on the local cluster: mc's admin
                                # calls outgrow it while the erasure set forms.
                                "resources": kube.with_ephemeral(
                                    {
                                        "requests": {"cpu": "50m", "memory": "64Mi"},
                                        "limits": {"cpu": "500m", "memory": "256Mi"},
                                    },
                                    "256Mi",
                                ),
                                "securityContext": kube.container_security(read_only_root=True),
                                "volumeMounts": [
                                    {"name": "provision", "mountPath": "/provision"},
                                    {"name": "tmp", "mountPath": "/tmp"},
                                    # Not in mc's config folder (certs/CAs): a mount there
                                    # makes that folder root's, and mc, not root, must write
                                    # its config beside it. mc trusts SSL_CERT_FILE instead.
                                    *(
                                        [
                                            {
                                                "name": "lakehouse-ca",
                                                "mountPath": names.CA_DIR,
                                                "readOnly": True,
                                            }
                                        ]
                                        if self.tls
                                        else []
                                    ),
                                ],
                            }
                        ],
                        "volumes": [
                            {"name": "provision", "configMap": {"name": name}},
                            kube.tmp_volume(),
                            *(trust_volumes()[:1] if self.tls else []),
                        ],
                    },
                },
            },
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[
                    self.statefulset,
                    self.api_service,
                    self.users_secret,
                    self.provision_config,
                    *self.tls_ready,
                ],
                replace_on_changes=["spec"],
                delete_before_replace=True,
                custom_timeouts=pulumi.CustomTimeouts(create="30m", update="30m"),
            ),
        )
