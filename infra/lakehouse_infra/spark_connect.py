"""A Spark Connect server: interactive sessions (notebooks, a PySpark shell anywhere)
against the lake, through the ingress.

It is Spark's own ``SparkConnectServer``, started by spark-submit in client mode from the
job image, as a Deployment (docs/adr/0015-spark-connect-as-a-deployment.md says why not
the operator's SparkConnect resource): the pod is every session's driver and asks the API
for executors as the work needs them (dynamic allocation), up to ``connect.maxExecutors``.
It reads the lake as a MinIO user of its own that may write only ``scratch/`` (and its
event log): an interactive session can never race the pipeline, the lake's one writer.
Clients present a bearer token (Spark 4.0's pre-shared key), kept in a Secret.
"""

from __future__ import annotations

import re
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import yaml

from lakehouse_core import names, versions
from lakehouse_core import network as flows
from lakehouse_core.catalog import SCRATCH_PREFIX
from lakehouse_core.scrape import SPARK_UI_PORT_NAME
from lakehouse_core.spark_applications import JobSettings, observability_conf, s3a_conf
from lakehouse_core.spark_conf import SESSION_CONF
from lakehouse_core.stack_config import ConnectConfig
from lakehouse_infra import k8s as kube
from lakehouse_infra.credentials import Credential
from lakehouse_infra.network import Network

COMPONENT = "spark-connect"
SERVER_CLASS = "org.apache.spark.sql.connect.service.SparkConnectServer"
EXECUTOR_TEMPLATE = "executor-pod-template.yaml"
TEMPLATE_DIR = "/opt/lakehouse/connect"
# Spark adds max(384 MiB, 10%) to a JVM's heap for its container (memoryOverheadFactor).
OVERHEAD_MIB, OVERHEAD_FACTOR = 384, 0.10


def memory_mib(spark_memory: str) -> int:
    """Spark's ``1g``/``512m`` as MiB."""
    number, unit = re.fullmatch(r"(\d+)([kmgt])", spark_memory).groups()  # type: ignore[union-attr]
    return int(int(number) * {"k": 1 / 1024, "m": 1, "g": 1024, "t": 1024 * 1024}[unit])


def container_mib(spark_memory: str) -> int:
    heap = memory_mib(spark_memory)
    return heap + max(OVERHEAD_MIB, int(heap * OVERHEAD_FACTOR))


SERVER_CPU_REQUEST = "50m"
IDLE_EXECUTOR_TIMEOUT = "300s"
IDLE_SESSION_TIMEOUT = "30m"
# The ports the NetworkPolicies open for a driver and its executors (core/network.py).
DRIVER_RPC, DRIVER_BLOCK_MANAGER = (p.number for p in flows.SPARK_DRIVER_PORTS)
[EXECUTOR_BLOCK_MANAGER] = (p.number for p in flows.SPARK_BLOCK_MANAGER)


def server_conf(
    cfg: ConnectConfig, settings: JobSettings, namespace: str, service_account: str
) -> dict[str, str]:
    """Everything spark-submit is told, none of it secret (credentials and the token come
    from the environment)."""
    s3 = {f"spark.hadoop.{k}": v for k, v in s3a_conf(settings).items()}
    return {
        **SESSION_CONF,
        **s3,
        **observability_conf(settings),
        "spark.app.name": names.SPARK_CONNECT,
        "spark.connect.grpc.binding.port": str(names.SPARK_CONNECT_PORT),
        "spark.driver.bindAddress": "0.0.0.0",  # noqa: S104 (inside its pod)
        "spark.driver.port": str(DRIVER_RPC),
        "spark.driver.blockManager.port": str(DRIVER_BLOCK_MANAGER),
        # Executors fetch shuffle blocks from each other on the port their NetworkPolicy
        # opens; in client mode nothing sets it for them (random otherwise: refused).
        "spark.blockManager.port": str(EXECUTOR_BLOCK_MANAGER),
        "spark.driver.memory": cfg.server_memory,
        "spark.ui.killEnabled": "false",
        "spark.sql.warehouse.dir": f"s3a://{settings.bucket}/{SCRATCH_PREFIX}/warehouse",
        "spark.kubernetes.namespace": namespace,
        "spark.kubernetes.container.image": settings.image,
        "spark.kubernetes.container.image.pullPolicy": settings.image_pull_policy,
        "spark.kubernetes.authenticate.driver.serviceAccountName": service_account,
        "spark.kubernetes.executor.podNamePrefix": names.SPARK_CONNECT,
        "spark.kubernetes.executor.podTemplateFile": f"{TEMPLATE_DIR}/{EXECUTOR_TEMPLATE}",
        "spark.kubernetes.executor.podTemplateContainerName": "executor",
        "spark.kubernetes.executor.deleteOnTermination": "true",
        "spark.executor.memory": cfg.executor_memory,
        "spark.executor.cores": "1",
        **(
            {"spark.kubernetes.executor.request.cores": settings.core_request}
            if settings.core_request
            else {}
        ),
        "spark.sql.shuffle.partitions": str(settings.shuffle_partitions),
        "spark.dynamicAllocation.enabled": "true",
        "spark.dynamicAllocation.shuffleTracking.enabled": "true",
        "spark.dynamicAllocation.minExecutors": "0",
        "spark.dynamicAllocation.initialExecutors": "0",
        "spark.dynamicAllocation.maxExecutors": str(cfg.max_executors),
        "spark.dynamicAllocation.executorIdleTimeout": "60s",
        # Executors that hold a cached table or shuffle files are otherwise kept forever
        # (both timeouts default to infinity): an idle session would hold CPU the pipeline
        # and a rolling MinIO need, as the bed found. Idle sessions themselves end too.
        "spark.dynamicAllocation.cachedExecutorIdleTimeout": IDLE_EXECUTOR_TIMEOUT,
        "spark.dynamicAllocation.shuffleTracking.timeout": IDLE_EXECUTOR_TIMEOUT,
        "spark.connect.session.manager.defaultSessionTimeout": IDLE_SESSION_TIMEOUT,
        # The server's own JVM trusts the CA through SPARK_SUBMIT_OPTS; its executors are
        # JVMs of their own, started from the template (which mounts the truststore).
        **(
            {"spark.executor.extraJavaOptions": names.JAVA_TRUST_OPTIONS}
            if settings.trust_cluster_ca
            else {}
        ),
    }


def _s3_env(secret: str) -> list[dict[str, Any]]:
    return [
        kube.secret_env(names.ACCESS_KEY_ENV, secret, names.ACCESS_KEY_ENV),
        kube.secret_env(names.SECRET_KEY_ENV, secret, names.SECRET_KEY_ENV),
        kube.env("AWS_REGION", "us-east-1"),
    ]


def _security() -> dict[str, Any]:
    return kube.container_security(read_only_root=True)


def executor_template(trust_cluster_ca: bool) -> dict[str, Any]:
    """The executors' pod: no API token, the S3 credentials by reference, read-only root."""
    mounts: list[dict[str, Any]] = [{"name": "tmp", "mountPath": "/tmp"}]
    volumes: list[dict[str, Any]] = [kube.tmp_volume(size="1Gi")]
    if trust_cluster_ca:
        mounts.append({"name": "truststore", "mountPath": names.TRUSTSTORE_DIR, "readOnly": True})
        volumes.append({"name": "truststore", "secret": {"secretName": names.TRUSTSTORE}})
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"labels": kube.labels(names.SPARK_CONNECT, COMPONENT)},
        "spec": {
            "serviceAccountName": names.SPARK_EXECUTOR_SERVICE_ACCOUNT,
            "automountServiceAccountToken": False,
            "securityContext": kube.pod_security(names.SPARK_UID),
            "containers": [
                {
                    "name": "executor",
                    "env": _s3_env(names.CONNECT_S3_SECRET),
                    "securityContext": _security(),
                    "volumeMounts": mounts,
                }
            ],
            "volumes": volumes,
        },
    }


class SparkConnect(pulumi.ComponentResource):
    """``service`` is the gRPC (h2c) Service the ingress routes to."""

    def __init__(
        self,
        name: str,
        *,
        cfg: ConnectConfig,
        settings: JobSettings,
        namespace: str,
        service_account: str,
        s3: Credential,
        token: pulumi.Output[str],
        network: Network,
        ready: list[pulumi.Resource],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("lakehouse:spark:SparkConnect", name, None, opts)
        in_ns = pulumi.ResourceOptions(parent=self, depends_on=ready)
        network.allow(flows.SPARK_CONNECT, COMPONENT, in_ns)
        labels = kube.labels(names.SPARK_CONNECT, COMPONENT, versions.SPARK_VERSION)
        select = {**kube.selector(names.SPARK_CONNECT, COMPONENT), "spark-role": "connect-server"}
        secrets = [
            k8s.core.v1.Secret(
                names.CONNECT_S3_SECRET,
                metadata=kube.metadata(names.CONNECT_S3_SECRET, namespace, labels),
                type="Opaque",
                string_data={names.ACCESS_KEY_ENV: s3.user, names.SECRET_KEY_ENV: s3.password},
                opts=in_ns,
            ),
            k8s.core.v1.Secret(
                names.CONNECT_TOKEN_SECRET,
                metadata=kube.metadata(names.CONNECT_TOKEN_SECRET, namespace, labels),
                type="Opaque",
                string_data={names.CONNECT_TOKEN_KEY: token},
                opts=in_ns,
            ),
        ]
        template = yaml.safe_dump(executor_template(settings.trust_cluster_ca), sort_keys=False)
        config_map = k8s.core.v1.ConfigMap(
            f"{names.SPARK_CONNECT}-executor",
            metadata=kube.metadata(f"{names.SPARK_CONNECT}-executor", namespace, labels),
            data={EXECUTOR_TEMPLATE: template},
            opts=in_ns,
        )
        conf = server_conf(cfg, settings, namespace, service_account)
        args = [
            "--class", SERVER_CLASS,
            "--master", "k8s://https://kubernetes.default.svc",
            "--deploy-mode", "client",
            "--conf", "spark.driver.host=$(POD_IP)",
            "--conf", "spark.kubernetes.driver.pod.name=$(POD_NAME)",
            *[item for k, v in conf.items() for item in ("--conf", f"{k}={v}")],
            "spark-internal",
        ]  # fmt: skip
        java = names.JAVA_TRUST_OPTIONS if settings.trust_cluster_ca else ""
        mounts: list[dict[str, Any]] = [
            {"name": "tmp", "mountPath": "/tmp"},
            {"name": "executor-template", "mountPath": TEMPLATE_DIR, "readOnly": True},
        ]
        volumes: list[dict[str, Any]] = [
            kube.tmp_volume(size="2Gi"),
            {"name": "executor-template", "configMap": {"name": config_map_name()}},
        ]
        if settings.trust_cluster_ca:
            mounts.append(
                {"name": "truststore", "mountPath": names.TRUSTSTORE_DIR, "readOnly": True}
            )
            volumes.append({"name": "truststore", "secret": {"secretName": names.TRUSTSTORE}})
        memory = f"{container_mib(cfg.server_memory)}Mi"
        container = {
            "name": "server",
            "image": settings.image,
            "imagePullPolicy": settings.image_pull_policy,
            "command": ["/opt/spark/bin/spark-submit"],
            "args": args,
            "env": [
                {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
                {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                kube.env("SPARK_USER", "spark"),
                *([kube.env("SPARK_SUBMIT_OPTS", java)] if java else []),
                *_s3_env(names.CONNECT_S3_SECRET),
                # Spark 4.0's pre-shared key: every RPC must carry "Bearer <token>".
                kube.secret_env(
                    "SPARK_CONNECT_AUTHENTICATE_TOKEN",
                    names.CONNECT_TOKEN_SECRET,
                    names.CONNECT_TOKEN_KEY,
                ),
            ],
            "ports": [
                {"name": "grpc", "containerPort": names.SPARK_CONNECT_PORT},
                {"name": SPARK_UI_PORT_NAME, "containerPort": names.SPARK_UI_PORT},
                {"name": "driver-rpc", "containerPort": DRIVER_RPC},
                {"name": "blockmanager", "containerPort": DRIVER_BLOCK_MANAGER},
            ],
            "resources": kube.with_ephemeral(
                {
                    # Idle until a session works; then it takes up to its limit. A
                    # driver's core request here would leave a 2-core node no room for
                    # the pipeline's executor (the sizing test checks the budget).
                    "requests": {"cpu": SERVER_CPU_REQUEST, "memory": memory},
                    "limits": {"cpu": "2", "memory": memory},
                },
                "2Gi",
            ),
            "securityContext": _security(),
            "startupProbe": kube.tcp_probe("grpc", period=5, failures=60),
            "readinessProbe": kube.tcp_probe("grpc", period=10),
            # Ready is the gRPC port open; alive is the driver's UI still answering.
            "livenessProbe": kube.http_probe(
                "/api/v1/version", SPARK_UI_PORT_NAME, period=30, failures=4
            ),
            "volumeMounts": mounts,
        }
        digest = pulumi.Output.all(
            kube.content_hash(template), kube.secret_hash(s3.password, token)
        )
        self.deployment = k8s.apps.v1.Deployment(
            names.SPARK_CONNECT,
            metadata=kube.metadata(names.SPARK_CONNECT, namespace, labels),
            spec={
                "replicas": 1,
                "strategy": {"type": "Recreate"},  # one server: sessions move on a restart
                "selector": {"matchLabels": select},
                "template": {
                    "metadata": {
                        "labels": {**labels, "spark-role": "connect-server"},
                        "annotations": {
                            "lakehouse.dev/config-hash": digest.apply(
                                lambda parts: kube.content_hash(*parts)
                            )
                        },
                    },
                    "spec": {
                        "serviceAccountName": service_account,
                        # It asks the API for its executors.
                        "automountServiceAccountToken": True,
                        "securityContext": kube.pod_security(names.SPARK_UID),
                        "containers": [container],
                        "volumes": volumes,
                    },
                },
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*ready, *secrets, config_map]),
        )
        self.service = kube.service(
            names.SPARK_CONNECT_SERVICE,
            namespace,
            kube.labels(names.SPARK_CONNECT_SERVICE, COMPONENT),
            select,
            {"grpc": names.SPARK_CONNECT_PORT},
            opts=in_ns,
            # gRPC: Traefik speaks HTTP/2 cleartext to the server.
            annotations={"traefik.ingress.kubernetes.io/service.serversscheme": "h2c"},
        )
        self.register_outputs({"service": names.SPARK_CONNECT_SERVICE})


def config_map_name() -> str:
    return f"{names.SPARK_CONNECT}-executor"
