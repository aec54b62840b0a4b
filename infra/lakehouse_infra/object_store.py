"""Distributed MinIO from native Kubernetes objects, plus the Job that provisions it.

The community chart and images are frozen (see the README), so the project declares the
StatefulSet itself: Parallel pod management behind a headless Service that publishes
not-ready addresses (pods must find each other before any is ready), health probes, a
PodDisruptionBudget of one, non-root, no privilege escalation, read-only root filesystem.

The provisioning Job (safe to re-run: every mc command is an upsert) creates the bucket,
turns on versioning with a lifecycle rule for old versions, and creates one
least-privilege user per consumer: Spark reads and writes landing/ and deltalake/;
Dremio reads them and writes only its distributed-storage prefix dremio/.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from lakehouse.catalog import DELTA_PREFIX, DREMIO_DIST_PREFIX, LANDING_PREFIX
from lakehouse_infra import k8s as kube
from lakehouse_infra.config import StackConfig, erasure_set_size, parity
from lakehouse_infra.credentials import LakeCredentials
from lakehouse_infra.ingress import IngressController

COMPONENT = "object-store"
NAMESPACE = "lakehouse-storage"
NAME = "minio"
HEADLESS = "minio-hl"
API_SERVICE = "minio"
CONSOLE_SERVICE = "minio-console"
API_PORT, CONSOLE_PORT = 9000, 9001
MINIO_UID = 1000
SPARK_POLICY, DREMIO_POLICY = "lakehouse-spark", "lakehouse-dremio"


def _prefix_resources(bucket: str, prefixes: list[str]) -> list[str]:
    """S3A probes both the bare key and the directory marker, so grant all three forms."""
    out = []
    for prefix in prefixes:
        out += [f"arn:aws:s3:::{bucket}/{prefix}", f"arn:aws:s3:::{bucket}/{prefix}/*"]
    return out


def _list_condition(prefixes: list[str]) -> dict[str, Any]:
    allowed = []
    for prefix in prefixes:
        allowed += [prefix, f"{prefix}/", f"{prefix}/*"]
    return {"StringLike": {"s3:prefix": allowed}}


def _bucket_statements(bucket: str, listable: list[str]) -> list[dict[str, Any]]:
    return [
        {
            "Sid": "BucketLevel",
            "Effect": "Allow",
            "Action": ["s3:GetBucketLocation", "s3:HeadBucket", "s3:ListBucketMultipartUploads"],
            "Resource": [f"arn:aws:s3:::{bucket}"],
        },
        {
            "Sid": "ListPrefixes",
            "Effect": "Allow",
            "Action": ["s3:ListBucket"],
            "Resource": [f"arn:aws:s3:::{bucket}"],
            "Condition": _list_condition(listable),
        },
    ]


READ_WRITE = [
    "s3:GetObject",
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:AbortMultipartUpload",
    "s3:ListMultipartUploadParts",
]


def spark_policy(bucket: str) -> dict[str, Any]:
    lake = [LANDING_PREFIX, DELTA_PREFIX]
    return {
        "Version": "2012-10-17",
        "Statement": [
            *_bucket_statements(bucket, lake),
            {
                "Sid": "LakeReadWrite",
                "Effect": "Allow",
                "Action": READ_WRITE,
                "Resource": _prefix_resources(bucket, lake),
            },
        ],
    }


def dremio_policy(bucket: str) -> dict[str, Any]:
    lake = [LANDING_PREFIX, DELTA_PREFIX]
    return {
        "Version": "2012-10-17",
        "Statement": [
            *_bucket_statements(bucket, [*lake, DREMIO_DIST_PREFIX]),
            {
                "Sid": "LakeRead",
                "Effect": "Allow",
                "Action": ["s3:GetObject"],
                "Resource": _prefix_resources(bucket, lake),
            },
            {
                "Sid": "DistributedStorage",
                "Effect": "Allow",
                "Action": READ_WRITE,
                "Resource": _prefix_resources(bucket, [DREMIO_DIST_PREFIX]),
            },
        ],
    }


def lifecycle(days: int) -> dict[str, Any]:
    """Versioning keeps overwritten objects; expire those old versions after ``days``."""
    return {
        "Rules": [
            {
                "ID": "expire-noncurrent-versions",
                "Status": "Enabled",
                "Filter": {"Prefix": ""},
                "NoncurrentVersionExpiration": {"NoncurrentDays": days},
            }
        ]
    }


PROVISION_SCRIPT = f"""\
# Provision the lake. Every command is idempotent: safe to run again.
set -eu
mc alias set lake "$MINIO_URL" "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD" --api S3v4 >/dev/null
echo "waiting for the MinIO cluster to have write quorum"
mc ready lake
mc mb --ignore-existing "lake/$BUCKET"
mc version enable "lake/$BUCKET"
mc ilm import "lake/$BUCKET" < /provision/lifecycle.json
mc admin policy create lake {SPARK_POLICY} /provision/spark-policy.json
mc admin policy create lake {DREMIO_POLICY} /provision/dremio-policy.json
mc admin user add lake "$SPARK_ACCESS_KEY" "$SPARK_SECRET_KEY"
mc admin policy attach lake {SPARK_POLICY} --user "$SPARK_ACCESS_KEY"
mc admin user add lake "$DREMIO_ACCESS_KEY" "$DREMIO_SECRET_KEY"
mc admin policy attach lake {DREMIO_POLICY} --user "$DREMIO_ACCESS_KEY"
echo "bucket $BUCKET and users ready"
"""


def minio_endpoint() -> str:
    """The S3 API inside the cluster, as Spark and the provisioning Job reach it."""
    return f"http://{kube.service_dns(API_SERVICE, NAMESPACE)}:{API_PORT}"


def server_args(replicas: int, drives: int, namespace: str) -> list[str]:
    hosts = f"http://{NAME}-{{0...{replicas - 1}}}.{HEADLESS}.{namespace}.svc.cluster.local"
    paths = "/data0" if drives == 1 else f"/data{{0...{drives - 1}}}"
    return [
        "server",
        hosts + paths,
        "--address",
        f":{API_PORT}",
        "--console-address",
        f":{CONSOLE_PORT}",
        "--certs-dir",
        "/tmp/certs",
    ]


class ObjectStore(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        cfg: StackConfig,
        credentials: LakeCredentials,
        ingress: IngressController,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("lakehouse:storage:ObjectStore", name, None, opts)
        store = cfg.object_store
        self.namespace_name = NAMESPACE
        self.bucket = cfg.bucket
        self.endpoint = minio_endpoint()
        self.endpoint_host = f"{kube.service_dns(API_SERVICE, NAMESPACE)}:{API_PORT}"
        version = store.image.rsplit(":", 1)[-1]
        labels = kube.labels(NAME, COMPONENT, version)
        select = kube.selector(NAME, COMPONENT)
        child = pulumi.ResourceOptions(parent=self)

        self.namespace = kube.namespace(NAMESPACE, COMPONENT, "restricted", child)
        in_ns = pulumi.ResourceOptions(parent=self, depends_on=[self.namespace])

        self.root_secret = k8s.core.v1.Secret(
            "minio-root",
            metadata=kube.metadata("minio-root", NAMESPACE, kube.labels("minio-root", COMPONENT)),
            type="Opaque",
            string_data={
                "rootUser": credentials.minio_root.user,
                "rootPassword": credentials.minio_root.password,
            },
            opts=in_ns,
        )
        self.users_secret = k8s.core.v1.Secret(
            "minio-users",
            metadata=kube.metadata("minio-users", NAMESPACE, kube.labels("minio-users", COMPONENT)),
            type="Opaque",
            string_data={
                "sparkAccessKey": credentials.spark.user,
                "sparkSecretKey": credentials.spark.password,
                "dremioAccessKey": credentials.dremio.user,
                "dremioSecretKey": credentials.dremio.password,
            },
            opts=in_ns,
        )
        provision_data = {
            "provision.sh": PROVISION_SCRIPT,
            "spark-policy.json": json.dumps(spark_policy(cfg.bucket), indent=2),
            "dremio-policy.json": json.dumps(dremio_policy(cfg.bucket), indent=2),
            "lifecycle.json": json.dumps(lifecycle(store.noncurrent_version_days), indent=2),
        }
        self.provision_config = k8s.core.v1.ConfigMap(
            "minio-provision",
            metadata=kube.metadata(
                "minio-provision", NAMESPACE, kube.labels("minio-provision", COMPONENT)
            ),
            data=provision_data,
            opts=in_ns,
        )

        self.headless = kube.service(
            HEADLESS, NAMESPACE, labels, select, {"api": API_PORT}, opts=in_ns, headless=True
        )
        self.api_service = kube.service(
            API_SERVICE, NAMESPACE, labels, select, {"api": API_PORT}, opts=in_ns
        )
        self.console_service = kube.service(
            CONSOLE_SERVICE, NAMESPACE, labels, select, {"console": CONSOLE_PORT}, opts=in_ns
        )

        set_size = erasure_set_size(store.replicas * store.drives_per_pod)
        assert set_size is not None  # the config validation guarantees it
        annotations = {
            "lakehouse.dev/erasure-set-size": str(set_size),
            "lakehouse.dev/parity": f"EC:{parity(set_size)}",
        }
        env: list[dict[str, Any]] = [
            kube.secret_env("MINIO_ROOT_USER", "minio-root", "rootUser"),
            kube.secret_env("MINIO_ROOT_PASSWORD", "minio-root", "rootPassword"),
            {"name": "MINIO_BROWSER_REDIRECT_URL", "value": ingress.url(cfg.ingress.hosts.console)},
            {"name": "MINIO_UPDATE", "value": "off"},
            {"name": "HOME", "value": "/tmp"},
        ]
        if store.allow_root_drives:
            env.append({"name": "MINIO_CI_CD", "value": "1"})
        drives = [f"data{i}" for i in range(store.drives_per_pod)]
        spread = [
            {
                "maxSkew": 1,
                "topologyKey": "kubernetes.io/hostname",
                "whenUnsatisfiable": "DoNotSchedule"
                if store.spread_across_nodes
                else "ScheduleAnyway",
                "labelSelector": {"matchLabels": select},
            }
        ]
        self.statefulset = k8s.apps.v1.StatefulSet(
            NAME,
            metadata=kube.metadata(NAME, NAMESPACE, labels, annotations=annotations),
            spec={
                "serviceName": HEADLESS,
                "replicas": store.replicas,
                "podManagementPolicy": "Parallel",
                "selector": {"matchLabels": select},
                "updateStrategy": {"type": "RollingUpdate"},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "securityContext": kube.pod_security(MINIO_UID),
                        "topologySpreadConstraints": spread,
                        "terminationGracePeriodSeconds": 60,
                        "containers": [
                            {
                                "name": "minio",
                                "image": store.image,
                                "imagePullPolicy": "IfNotPresent",
                                "command": ["minio"],
                                "args": server_args(
                                    store.replicas, store.drives_per_pod, NAMESPACE
                                ),
                                "env": env,
                                "ports": [
                                    {"name": "api", "containerPort": API_PORT},
                                    {"name": "console", "containerPort": CONSOLE_PORT},
                                ],
                                "resources": store.resources.as_k8s(),
                                "securityContext": kube.container_security(read_only_root=True),
                                "startupProbe": kube.http_probe(
                                    "/minio/health/live", "api", period=5, failures=60
                                ),
                                "livenessProbe": kube.http_probe(
                                    "/minio/health/live", "api", period=20, failures=3
                                ),
                                "readinessProbe": kube.http_probe(
                                    "/minio/health/ready", "api", period=10, failures=3
                                ),
                                "volumeMounts": [{"name": d, "mountPath": f"/{d}"} for d in drives]
                                + [{"name": "tmp", "mountPath": "/tmp"}],
                            }
                        ],
                        "volumes": [kube.tmp_volume()],
                    },
                },
                "volumeClaimTemplates": [
                    {
                        "metadata": {"name": d, "labels": labels},
                        "spec": {
                            "accessModes": ["ReadWriteOnce"],
                            "resources": {"requests": {"storage": store.drive_size}},
                            **(
                                {"storageClassName": store.storage_class}
                                if store.storage_class
                                else {}
                            ),
                        },
                    }
                    for d in drives
                ],
            },
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[self.namespace, self.root_secret, self.headless]
            ),
        )
        self.disruption_budget = k8s.policy.v1.PodDisruptionBudget(
            NAME,
            metadata=kube.metadata(NAME, NAMESPACE, labels),
            # With default parity one pod down keeps write quorum; two would not.
            spec={"maxUnavailable": 1, "selector": {"matchLabels": select}},
            opts=in_ns,
        )
        self.provision_job = self._provision_job(cfg, store.mc_image, provision_data)
        self.console_ingress = ingress.route(
            "minio-console",
            namespace=NAMESPACE,
            host=cfg.ingress.hosts.console,
            service=CONSOLE_SERVICE,
            port=CONSOLE_PORT,
            component=COMPONENT,
            opts=in_ns,
        )
        self.s3_ingress = ingress.route(
            "minio-s3",
            namespace=NAMESPACE,
            host=cfg.ingress.hosts.s3,
            service=API_SERVICE,
            port=API_PORT,
            component=COMPONENT,
            opts=in_ns,
        )
        self.register_outputs(
            {
                "namespace": NAMESPACE,
                "endpoint": self.endpoint,
                "bucket": self.bucket,
                "consoleUrl": ingress.url(cfg.ingress.hosts.console),
                "s3Url": ingress.url(cfg.ingress.hosts.s3),
            }
        )

    def _provision_job(
        self, cfg: StackConfig, image: str, provision_data: dict[str, str]
    ) -> k8s.batch.v1.Job:
        name = "minio-provision"
        labels = kube.labels(name, COMPONENT, image.rsplit(":", 1)[-1])
        # The Job mounts the ConfigMap by name; hashing its content into the pod template
        # makes a changed script or policy replace the Job, so it runs again.
        content_hash = hashlib.sha256(
            json.dumps(provision_data, sort_keys=True).encode()
        ).hexdigest()

        return k8s.batch.v1.Job(
            name,
            metadata=kube.metadata(name, NAMESPACE, labels),
            spec={
                "backoffLimit": 6,
                "activeDeadlineSeconds": 1800,
                "template": {
                    "metadata": {
                        "labels": labels,
                        "annotations": {"lakehouse.dev/config-hash": content_hash[:16]},
                    },
                    "spec": {
                        "restartPolicy": "OnFailure",
                        "securityContext": kube.pod_security(MINIO_UID),
                        "containers": [
                            {
                                "name": "provision",
                                "image": image,
                                "imagePullPolicy": "IfNotPresent",
                                "command": ["/bin/sh", "/provision/provision.sh"],
                                "env": [
                                    {"name": "MINIO_URL", "value": self.endpoint},
                                    {"name": "BUCKET", "value": cfg.bucket},
                                    {"name": "MC_CONFIG_DIR", "value": "/tmp/.mc"},
                                    kube.secret_env("MINIO_ROOT_USER", "minio-root", "rootUser"),
                                    kube.secret_env(
                                        "MINIO_ROOT_PASSWORD", "minio-root", "rootPassword"
                                    ),
                                    kube.secret_env(
                                        "SPARK_ACCESS_KEY", "minio-users", "sparkAccessKey"
                                    ),
                                    kube.secret_env(
                                        "SPARK_SECRET_KEY", "minio-users", "sparkSecretKey"
                                    ),
                                    kube.secret_env(
                                        "DREMIO_ACCESS_KEY", "minio-users", "dremioAccessKey"
                                    ),
                                    kube.secret_env(
                                        "DREMIO_SECRET_KEY", "minio-users", "dremioSecretKey"
                                    ),
                                ],
                                "resources": {
                                    "requests": {"cpu": "50m", "memory": "64Mi"},
                                    "limits": {"cpu": "500m", "memory": "128Mi"},
                                },
                                "securityContext": kube.container_security(read_only_root=True),
                                "volumeMounts": [
                                    {"name": "provision", "mountPath": "/provision"},
                                    {"name": "tmp", "mountPath": "/tmp"},
                                ],
                            }
                        ],
                        "volumes": [
                            {"name": "provision", "configMap": {"name": "minio-provision"}},
                            kube.tmp_volume(),
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
                ],
                # A changed script or policy replaces the Job, which runs it again.
                replace_on_changes=["spec"],
                delete_before_replace=True,
                custom_timeouts=pulumi.CustomTimeouts(create="30m", update="30m"),
            ),
        )
