"""The Spark History Server: every application's UI after it has ended.

Part of the Spark platform, in the jobs namespace, from the job image (Spark's own
``HistoryServer`` with s3a and the AWS SDK the image carries). It reads the event logs
every application writes under ``s3a://<bucket>/spark-events/`` as a MinIO user of its
own that may only read that prefix and delete there what Spark's log cleaner expires. Its
UI is served through the ingress.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from lakehouse_core import names
from lakehouse_core import network as flows
from lakehouse_core.catalog import SPARK_EVENTS_PREFIX
from lakehouse_infra import k8s as kube
from lakehouse_infra.credentials import Credential
from lakehouse_infra.network import Network
from lakehouse_infra.tls import trust_mounts, trust_volumes

COMPONENT = "spark-history"
S3A_PROVIDER = "software.amazon.awssdk.auth.credentials.EnvironmentVariableCredentialsProvider"


class HistoryServer(pulumi.ComponentResource):
    """``service`` is what the ingress routes to."""

    def __init__(
        self,
        name: str,
        *,
        namespace: str,
        image: str,
        image_pull_policy: str,
        bucket: str,
        event_log_days: int,
        s3_endpoint: str,
        s3: Credential,
        trust_cluster_ca: bool,
        network: Network,
        ready: list[pulumi.Resource],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("lakehouse:spark:HistoryServer", name, None, opts)
        in_ns = pulumi.ResourceOptions(parent=self, depends_on=ready)
        network.allow(flows.SPARK_HISTORY, COMPONENT, in_ns)
        labels = kube.labels(names.SPARK_HISTORY, COMPONENT)
        select = kube.selector(names.SPARK_HISTORY, COMPONENT)
        secret = k8s.core.v1.Secret(
            names.HISTORY_S3_SECRET,
            metadata=kube.metadata(names.HISTORY_S3_SECRET, namespace, labels),
            type="Opaque",
            string_data={names.ACCESS_KEY_ENV: s3.user, names.SECRET_KEY_ENV: s3.password},
            opts=in_ns,
        )
        options = {
            "spark.history.fs.logDirectory": f"s3a://{bucket}/{SPARK_EVENTS_PREFIX}/",
            "spark.history.fs.update.interval": "10s",
            "spark.history.ui.port": str(names.SPARK_HISTORY_PORT),
            # Spark's own cleaning: logs older than the stack's days go, checked daily.
            "spark.history.fs.cleaner.enabled": "true",
            "spark.history.fs.cleaner.maxAge": f"{event_log_days}d",
            "spark.history.fs.cleaner.interval": "1d",
            "spark.history.retainedApplications": "50",
            "spark.hadoop.fs.s3a.endpoint": s3_endpoint,
            "spark.hadoop.fs.s3a.endpoint.region": "us-east-1",
            "spark.hadoop.fs.s3a.path.style.access": "true",
            "spark.hadoop.fs.s3a.connection.ssl.enabled": str(trust_cluster_ca).lower(),
            "spark.hadoop.fs.s3a.aws.credentials.provider": S3A_PROVIDER,
        }
        java = " ".join(f"-D{k}={v}" for k, v in options.items())
        if trust_cluster_ca:
            java += f" {names.JAVA_TRUST_OPTIONS}"
        container = {
            "name": "history-server",
            "image": image,
            "imagePullPolicy": image_pull_policy,
            "command": ["/opt/spark/bin/spark-class"],
            "args": ["org.apache.spark.deploy.history.HistoryServer"],
            "env": [
                kube.env("SPARK_HISTORY_OPTS", java),
                kube.env("SPARK_DAEMON_MEMORY", "384m"),
                kube.env("AWS_REGION", "us-east-1"),
                kube.secret_env(
                    names.ACCESS_KEY_ENV, names.HISTORY_S3_SECRET, names.ACCESS_KEY_ENV
                ),
                kube.secret_env(
                    names.SECRET_KEY_ENV, names.HISTORY_S3_SECRET, names.SECRET_KEY_ENV
                ),
            ],
            "ports": [{"name": "http", "containerPort": names.SPARK_HISTORY_PORT}],
            "resources": kube.with_ephemeral(
                {
                    "requests": {"cpu": "50m", "memory": "512Mi"},
                    "limits": {"cpu": "1", "memory": "768Mi"},
                },
                "256Mi",
            ),
            "securityContext": kube.container_security(read_only_root=True),
            "startupProbe": kube.http_probe("/api/v1/version", "http", period=5, failures=60),
            "readinessProbe": kube.http_probe("/api/v1/version", "http", period=10),
            # Alive is the port open; ready is the REST API answering.
            "livenessProbe": kube.tcp_probe("http", period=30, failures=4),
            "volumeMounts": [
                {"name": "tmp", "mountPath": "/tmp"},
                *(trust_mounts()[1:] if trust_cluster_ca else []),
            ],
        }
        self.deployment = k8s.apps.v1.Deployment(
            names.SPARK_HISTORY,
            metadata=kube.metadata(names.SPARK_HISTORY, namespace, labels),
            spec={
                "replicas": 1,
                "selector": {"matchLabels": select},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "automountServiceAccountToken": False,  # it never calls the API
                        "securityContext": kube.pod_security(names.SPARK_UID),
                        "containers": [container],
                        "volumes": [
                            kube.tmp_volume(size="256Mi"),
                            *(trust_volumes()[1:] if trust_cluster_ca else []),
                        ],
                    },
                },
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*ready, secret]),
        )
        self.service = kube.service(
            names.SPARK_HISTORY,
            namespace,
            labels,
            select,
            {"http": names.SPARK_HISTORY_PORT},
            opts=in_ns,
        )
        self.register_outputs({"service": names.SPARK_HISTORY})
