"""Dremio OSS from native objects: ZooKeeper, a coordinator, executors, and a bootstrap Job.

There is no maintained OSS chart (see the README). Roles are set with JVM system
properties; heap and direct memory are set explicitly from the container memory (never
derived by Dremio's script, which can compute 0 direct memory on small executors).
Distributed storage lives on MinIO under ``dremio/`` with Dremio's own least-privilege
user; its credentials reach ``core-site.xml`` through a Secret, never a ConfigMap.

The bootstrap Job runs the project's Dremio client from the job image: it creates the
first admin user (from a Secret), adds the lake as an S3 source (compatibility mode, path
style) and promotes the Delta tables that exist. Every step checks before it acts, so
the Job is safe to run again.
"""

from __future__ import annotations

import hashlib
from typing import Any
from xml.sax.saxutils import escape

import pulumi
import pulumi_kubernetes as k8s

from lakehouse import versions
from lakehouse.catalog import DREMIO_DIST_PREFIX, DREMIO_SOURCE_NAME
from lakehouse_infra import k8s as kube
from lakehouse_infra.config import DremioMemory, StackConfig
from lakehouse_infra.credentials import LakeCredentials
from lakehouse_infra.ingress import IngressController
from lakehouse_infra.object_store import ObjectStore

COMPONENT = "query-engine"
NAMESPACE = "lakehouse-dremio"
NAME = "dremio"
DREMIO_UID = 999
ZK_UID = 1000
WEB_PORT, CLIENT_PORT, FLIGHT_PORT, FABRIC_PORT, CONDUIT_PORT = 9047, 31010, 32010, 45678, 45679
CLIENT_SERVICE = "dremio-client"
CLUSTER_SERVICE = "dremio-cluster"
ZK_HEADLESS, ZK_SERVICE = "zk-hs", "zk"
ADMIN_SECRET, LAKE_SECRET, CORE_SITE_SECRET = "dremio-admin", "dremio-lake", "dremio-core-site"
# ZooKeeper's "are you ok" four-letter word, over bash's /dev/tcp (the image has no nc).
ZK_RUOK = '[ "$(echo ruok | (exec 3<>/dev/tcp/127.0.0.1/2181; cat >&3; cat <&3))" = imok ]'


def zookeeper_connect(replicas: int) -> str:
    return ",".join(
        f"zk-{i}.{kube.service_dns(ZK_HEADLESS, NAMESPACE)}:2181" for i in range(replicas)
    )


def dremio_conf(bucket: str, zookeeper: str) -> str:
    return (
        "# Rendered by the Pulumi program (infra/lakehouse_infra/dremio.py).\n"
        "paths: {\n"
        '  local: "/opt/dremio/data"\n'
        f'  dist: "dremioS3:///{bucket}/{DREMIO_DIST_PREFIX}"\n'
        "}\n"
        "services: {\n"
        "  flight.use_session_service: true\n"
        "}\n"
        f'zookeeper: "{zookeeper}"\n'
    )


def core_site(endpoint_host: str, access_key: str, secret_key: str) -> str:
    properties = {
        "fs.dremioS3.impl": "com.dremio.plugins.s3.store.S3FileSystem",
        "fs.s3a.aws.credentials.provider": "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider",
        "fs.s3a.access.key": access_key,
        "fs.s3a.secret.key": secret_key,
        # host:port without a scheme: Dremio adds it from connection.ssl.enabled.
        "fs.s3a.endpoint": endpoint_host,
        "fs.s3a.path.style.access": "true",
        "fs.s3a.connection.ssl.enabled": "false",
        "dremio.s3.compat": "true",
    }
    body = "".join(
        f"  <property><name>{escape(k)}</name><value>{escape(v)}</value></property>\n"
        for k, v in properties.items()
    )
    return f'<?xml version="1.0"?>\n<configuration>\n{body}</configuration>\n'


def server_opts(zookeeper: str, *, coordinator: bool, cpus: int) -> str:
    role = {
        "services.coordinator.enabled": coordinator,
        "services.coordinator.master.enabled": coordinator,
        "services.coordinator.master.embedded-zookeeper.enabled": False,
        "services.executor.enabled": not coordinator,
    }
    flags = [f"-Dzookeeper={zookeeper}"]
    flags += [f"-D{k}={str(v).lower()}" for k, v in role.items()]
    flags += [f"-Dservices.conduit.port={CONDUIT_PORT}", f"-XX:ActiveProcessorCount={cpus}"]
    return " ".join(flags)


def _cpus(quantity: str) -> int:
    value = float(quantity[:-1]) / 1000 if quantity.endswith("m") else float(quantity)
    return max(1, int(value))


class Dremio(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        cfg: StackConfig,
        *,
        credentials: LakeCredentials,
        store: ObjectStore,
        ingress: IngressController,
        job_image: str,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("lakehouse:query:Dremio", name, None, opts)
        self.cfg = cfg.dremio
        self.namespace_name = NAMESPACE
        self.client_url = f"http://{kube.service_dns(CLIENT_SERVICE, NAMESPACE)}:{WEB_PORT}"
        child = pulumi.ResourceOptions(parent=self)
        self.namespace = kube.namespace(NAMESPACE, COMPONENT, "restricted", child)
        in_ns = pulumi.ResourceOptions(parent=self, depends_on=[self.namespace])
        self.zookeeper = zookeeper_connect(self.cfg.zookeeper_replicas)

        self.admin_secret = k8s.core.v1.Secret(
            ADMIN_SECRET,
            metadata=kube.metadata(ADMIN_SECRET, NAMESPACE, kube.labels(ADMIN_SECRET, COMPONENT)),
            string_data={
                "username": credentials.dremio_admin.user,
                "password": credentials.dremio_admin.password,
                "email": self.cfg.admin_email,
            },
            opts=in_ns,
        )
        self.lake_secret = k8s.core.v1.Secret(
            LAKE_SECRET,
            metadata=kube.metadata(LAKE_SECRET, NAMESPACE, kube.labels(LAKE_SECRET, COMPONENT)),
            string_data={
                "accessKey": credentials.dremio.user,
                "secretKey": credentials.dremio.password,
            },
            opts=in_ns,
        )
        site = credentials.dremio.password.apply(
            lambda secret: core_site(store.endpoint_host, credentials.dremio.user, secret)
        )
        self.core_site_secret = k8s.core.v1.Secret(
            CORE_SITE_SECRET,
            metadata=kube.metadata(
                CORE_SITE_SECRET, NAMESPACE, kube.labels(CORE_SITE_SECRET, COMPONENT)
            ),
            # Secret already: it is derived from a secret password.
            string_data={"core-site.xml": site},
            opts=in_ns,
        )
        conf = dremio_conf(cfg.bucket, self.zookeeper)
        self.config_map = k8s.core.v1.ConfigMap(
            "dremio-conf",
            metadata=kube.metadata("dremio-conf", NAMESPACE, kube.labels("dremio-conf", COMPONENT)),
            data={"dremio.conf": conf},
            opts=in_ns,
        )
        self.config_hash = hashlib.sha256(conf.encode()).hexdigest()[:16]

        zk = self._zookeeper(in_ns)
        storage_ready = [zk, self.config_map, self.core_site_secret, store.provision_job]
        self.cluster_service = kube.service(
            CLUSTER_SERVICE,
            NAMESPACE,
            kube.labels(CLUSTER_SERVICE, COMPONENT),
            {"app.kubernetes.io/name": NAME},  # coordinator and executors: the fabric
            {"fabric": FABRIC_PORT, "conduit": CONDUIT_PORT},
            opts=in_ns,
            headless=True,
        )
        after_storage = pulumi.ResourceOptions(
            parent=self, depends_on=[*storage_ready, self.cluster_service]
        )
        self.coordinator = self._node_set(
            "coordinator",
            replicas=1,
            memory=self.cfg.coordinator_memory(),
            container_mib=self.cfg.coordinator_memory_mib,
            cpu=self.cfg.coordinator_cpu,
            volume=self.cfg.coordinator_volume,
            opts=after_storage,
        )
        self.executors = self._node_set(
            "executor",
            replicas=self.cfg.executors,
            memory=self.cfg.executor_memory(),
            container_mib=self.cfg.executor_memory_mib,
            cpu=self.cfg.executor_cpu,
            volume=self.cfg.executor_volume,
            opts=after_storage,
        )
        coordinator_select = kube.selector(NAME, "coordinator")
        self.client_service = kube.service(
            CLIENT_SERVICE,
            NAMESPACE,
            kube.labels(CLIENT_SERVICE, COMPONENT),
            coordinator_select,
            {"web": WEB_PORT, "client": CLIENT_PORT, "flight": FLIGHT_PORT},
            opts=in_ns,
        )
        # Arrow Flight is gRPC: Traefik must speak HTTP/2 cleartext to the backend.
        self.flight_service = kube.service(
            "dremio-flight",
            NAMESPACE,
            kube.labels("dremio-flight", COMPONENT),
            coordinator_select,
            {"flight": FLIGHT_PORT},
            opts=in_ns,
            annotations={"traefik.ingress.kubernetes.io/service.serversscheme": "h2c"},
        )
        self.ingress = ingress.route(
            "dremio",
            namespace=NAMESPACE,
            host=cfg.ingress.hosts.dremio,
            service=CLIENT_SERVICE,
            port=WEB_PORT,
            component=COMPONENT,
            opts=in_ns,
        )
        self.flight_ingress = ingress.route(
            "dremio-flight",
            namespace=NAMESPACE,
            host=cfg.ingress.hosts.flight,
            service="dremio-flight",
            port=FLIGHT_PORT,
            component=COMPONENT,
            opts=in_ns,
        )
        self.bootstrap_job = self._bootstrap_job(cfg, store, job_image)
        self.register_outputs(
            {
                "namespace": NAMESPACE,
                "url": ingress.url(cfg.ingress.hosts.dremio),
                "clientService": self.client_url,
                "adminSecret": ADMIN_SECRET,
            }
        )

    # --- ZooKeeper ------------------------------------------------------------------------
    def _zookeeper(self, opts: pulumi.ResourceOptions) -> k8s.apps.v1.StatefulSet:
        replicas = self.cfg.zookeeper_replicas
        image = self.cfg.zookeeper_image
        labels = kube.labels("zookeeper", "coordination", image.rsplit(":", 1)[-1])
        select = kube.selector("zookeeper", "coordination")
        servers = " ".join(
            f"server.{i + 1}=zk-{i}.{kube.service_dns(ZK_HEADLESS, NAMESPACE)}:2888:3888;2181"
            for i in range(replicas)
        )
        ports = {"client": 2181, "server": 2888, "election": 3888}
        headless = kube.service(
            ZK_HEADLESS, NAMESPACE, labels, select, ports, opts=opts, headless=True
        )
        kube.service(ZK_SERVICE, NAMESPACE, labels, select, {"client": 2181}, opts=opts)
        if replicas > 1:
            k8s.policy.v1.PodDisruptionBudget(
                "zookeeper",
                metadata=kube.metadata("zookeeper", NAMESPACE, labels),
                spec={"maxUnavailable": 1, "selector": {"matchLabels": select}},
                opts=opts,
            )
        affinity = (
            {
                "podAntiAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": [
                        {
                            "labelSelector": {"matchLabels": select},
                            "topologyKey": "kubernetes.io/hostname",
                        }
                    ]
                }
            }
            if self.cfg.anti_affinity
            else {}
        )
        start = (
            "export ZOO_MY_ID=$((${HOSTNAME##*-}+1)); "
            "exec /docker-entrypoint.sh zkServer.sh start-foreground"
        )
        return k8s.apps.v1.StatefulSet(
            "zookeeper",
            metadata=kube.metadata("zk", NAMESPACE, labels),
            spec={
                "serviceName": ZK_HEADLESS,
                "replicas": replicas,
                "podManagementPolicy": "Parallel",
                "selector": {"matchLabels": select},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "securityContext": kube.pod_security(ZK_UID),
                        **({"affinity": affinity} if affinity else {}),
                        "containers": [
                            {
                                "name": "zookeeper",
                                "image": image,
                                "imagePullPolicy": "IfNotPresent",
                                "command": ["bash", "-ec", start],
                                "env": [
                                    {"name": "ZOO_SERVERS", "value": servers},
                                    {
                                        "name": "ZOO_STANDALONE_ENABLED",
                                        "value": str(replicas == 1).lower(),
                                    },
                                    {"name": "ZOO_DATA_DIR", "value": "/data/data"},
                                    {"name": "ZOO_DATA_LOG_DIR", "value": "/data/log"},
                                    {"name": "ZOO_4LW_COMMANDS_WHITELIST", "value": "ruok,srvr"},
                                    {"name": "ZOO_ADMINSERVER_ENABLED", "value": "false"},
                                    {"name": "ZOO_AUTOPURGE_PURGEINTERVAL", "value": "12"},
                                    {"name": "JVMFLAGS", "value": "-Xmx192m"},
                                ],
                                "ports": [
                                    {"name": "client", "containerPort": 2181},
                                    {"name": "server", "containerPort": 2888},
                                    {"name": "election", "containerPort": 3888},
                                ],
                                "resources": {
                                    "requests": {"cpu": "100m", "memory": "256Mi"},
                                    "limits": {"cpu": "1", "memory": "384Mi"},
                                },
                                "securityContext": kube.container_security(read_only_root=True),
                                "startupProbe": kube.tcp_probe("client", period=5, failures=60),
                                "livenessProbe": kube.tcp_probe("client", period=15),
                                "readinessProbe": kube.exec_probe(
                                    [
                                        "bash",
                                        "-c",
                                        ZK_RUOK,
                                    ],
                                    period=10,
                                ),
                                "volumeMounts": [
                                    {"name": "data", "mountPath": "/data"},
                                    {"name": "conf", "mountPath": "/conf"},
                                    {"name": "logs", "mountPath": "/logs"},
                                    {"name": "tmp", "mountPath": "/tmp"},
                                ],
                            }
                        ],
                        "volumes": [
                            kube.tmp_volume("conf", "16Mi"),
                            kube.tmp_volume("logs", "256Mi"),
                            kube.tmp_volume(),
                        ],
                    },
                },
                "volumeClaimTemplates": [self._claim("data", self.cfg.zookeeper_volume, labels)],
            },
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[headless])),
        )

    def _claim(self, name: str, size: str, labels: dict[str, str]) -> dict[str, Any]:
        spec: dict[str, Any] = {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": size}},
        }
        if self.cfg.storage_class:
            spec["storageClassName"] = self.cfg.storage_class
        return {"metadata": {"name": name, "labels": labels}, "spec": spec}

    # --- coordinator and executors -----------------------------------------------------
    def _node_set(
        self,
        role: str,
        *,
        replicas: int,
        memory: DremioMemory,
        container_mib: int,
        cpu: str,
        volume: str,
        opts: pulumi.ResourceOptions,
    ) -> k8s.apps.v1.StatefulSet:
        coordinator = role == "coordinator"
        image = self.cfg.image
        labels = kube.labels(NAME, role, image.rsplit(":", 1)[-1])
        select = kube.selector(NAME, role)
        ports = [
            {"name": "fabric", "containerPort": FABRIC_PORT},
            {"name": "conduit", "containerPort": CONDUIT_PORT},
        ]
        if coordinator:
            ports += [
                {"name": "web", "containerPort": WEB_PORT},
                {"name": "client", "containerPort": CLIENT_PORT},
                {"name": "flight", "containerPort": FLIGHT_PORT},
            ]
            probes = {
                "startupProbe": kube.tcp_probe("web", period=10, failures=60),
                "readinessProbe": kube.http_probe("/apiv2/server_status", "web", period=10),
                "livenessProbe": kube.tcp_probe("web", period=20, failures=3),
            }
        else:
            probes = {
                "startupProbe": kube.tcp_probe("fabric", period=10, failures=60),
                "readinessProbe": kube.tcp_probe("fabric", period=10),
                "livenessProbe": kube.tcp_probe("fabric", period=20, failures=3),
            }
        wait_for_zookeeper = (
            f"until nc -w 2 {kube.service_dns(ZK_SERVICE, NAMESPACE)} 2181 "
            "</dev/null >/dev/null 2>&1; "
            "do echo waiting for ZooKeeper; sleep 2; done"
        )
        affinity: dict[str, Any] = {}
        if self.cfg.anti_affinity:
            affinity = {
                "podAntiAffinity": {
                    "preferredDuringSchedulingIgnoredDuringExecution": [
                        {
                            "weight": 100,
                            "podAffinityTerm": {
                                "labelSelector": {"matchLabels": {"app.kubernetes.io/name": NAME}},
                                "topologyKey": "kubernetes.io/hostname",
                            },
                        }
                    ]
                }
            }
        statefulset = k8s.apps.v1.StatefulSet(
            f"dremio-{role}",
            metadata=kube.metadata(
                f"dremio-{role}",
                NAMESPACE,
                labels,
                annotations={
                    "lakehouse.dev/heap-mib": str(memory.heap_mib),
                    "lakehouse.dev/direct-mib": str(memory.direct_mib),
                },
            ),
            spec={
                "serviceName": CLUSTER_SERVICE,
                "replicas": replicas,
                "podManagementPolicy": "Parallel",
                "selector": {"matchLabels": select},
                "template": {
                    "metadata": {
                        "labels": labels,
                        "annotations": {"lakehouse.dev/config-hash": self.config_hash},
                    },
                    "spec": {
                        "securityContext": kube.pod_security(DREMIO_UID),
                        "terminationGracePeriodSeconds": 120,
                        **({"affinity": affinity} if affinity else {}),
                        "initContainers": [
                            {
                                "name": "wait-for-zookeeper",
                                "image": versions.BUSYBOX_IMAGE.ref,
                                "imagePullPolicy": "IfNotPresent",
                                "command": ["sh", "-c", wait_for_zookeeper],
                                "resources": {
                                    "requests": {"cpu": "10m", "memory": "16Mi"},
                                    "limits": {"cpu": "100m", "memory": "32Mi"},
                                },
                                "securityContext": kube.container_security(read_only_root=True),
                            }
                        ],
                        "containers": [
                            {
                                "name": f"dremio-{role}",
                                "image": image,
                                "imagePullPolicy": "IfNotPresent",
                                "command": ["/opt/dremio/bin/dremio"],
                                "args": ["start-fg"],
                                "env": [
                                    {
                                        "name": "DREMIO_MAX_HEAP_MEMORY_SIZE_MB",
                                        "value": str(memory.heap_mib),
                                    },
                                    {
                                        "name": "DREMIO_MAX_DIRECT_MEMORY_SIZE_MB",
                                        "value": str(memory.direct_mib),
                                    },
                                    {
                                        "name": "DREMIO_JAVA_SERVER_EXTRA_OPTS",
                                        "value": server_opts(
                                            self.zookeeper, coordinator=coordinator, cpus=_cpus(cpu)
                                        ),
                                    },
                                    {"name": "DREMIO_LOG_TO_CONSOLE", "value": "1"},
                                ],
                                "ports": ports,
                                "resources": {
                                    "requests": {"cpu": cpu, "memory": f"{container_mib}Mi"},
                                    "limits": {
                                        "cpu": self.cfg.cpu_limit,
                                        "memory": f"{container_mib}Mi",
                                    },
                                },
                                # Dremio writes below /opt/dremio at runtime:
                                # its root filesystem stays writable.
                                "securityContext": kube.container_security(read_only_root=False),
                                **probes,
                                "volumeMounts": [
                                    {"name": "data", "mountPath": "/opt/dremio/data"},
                                    {
                                        "name": "conf",
                                        "mountPath": "/opt/dremio/conf/dremio.conf",
                                        "subPath": "dremio.conf",
                                    },
                                    {
                                        "name": "core-site",
                                        "mountPath": "/opt/dremio/conf/core-site.xml",
                                        "subPath": "core-site.xml",
                                    },
                                    {"name": "tmp", "mountPath": "/tmp"},
                                ],
                            }
                        ],
                        "volumes": [
                            {"name": "conf", "configMap": {"name": "dremio-conf"}},
                            {"name": "core-site", "secret": {"secretName": CORE_SITE_SECRET}},
                            kube.tmp_volume(size="2Gi"),
                        ],
                    },
                },
                "volumeClaimTemplates": [self._claim("data", volume, labels)],
            },
            opts=pulumi.ResourceOptions.merge(
                opts,
                pulumi.ResourceOptions(
                    custom_timeouts=pulumi.CustomTimeouts(create="20m", update="20m")
                ),
            ),
        )
        if replicas > 1:
            k8s.policy.v1.PodDisruptionBudget(
                f"dremio-{role}",
                metadata=kube.metadata(f"dremio-{role}", NAMESPACE, labels),
                spec={"maxUnavailable": 1, "selector": {"matchLabels": select}},
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.namespace]),
            )
        return statefulset

    # --- bootstrap ----------------------------------------------------------------------
    def _bootstrap_job(self, cfg: StackConfig, store: ObjectStore, image: str) -> k8s.batch.v1.Job:
        name = "dremio-bootstrap"
        labels = kube.labels(name, COMPONENT)

        env = [
            {"name": "DREMIO_URL", "value": self.client_url},
            kube.secret_env("DREMIO_ADMIN_USER", ADMIN_SECRET, "username"),
            kube.secret_env("DREMIO_ADMIN_PASSWORD", ADMIN_SECRET, "password"),
            kube.secret_env("DREMIO_ADMIN_EMAIL", ADMIN_SECRET, "email"),
            {"name": "LAKE_SOURCE", "value": DREMIO_SOURCE_NAME},
            {"name": "LAKE_BUCKET", "value": cfg.bucket},
            {"name": "LAKE_S3_ENDPOINT", "value": store.endpoint_host},
            kube.secret_env("LAKE_ACCESS_KEY", LAKE_SECRET, "accessKey"),
            kube.secret_env("LAKE_SECRET_KEY", LAKE_SECRET, "secretKey"),
        ]
        return k8s.batch.v1.Job(
            name,
            metadata=kube.metadata(name, NAMESPACE, labels),
            spec={
                "backoffLimit": 4,
                "activeDeadlineSeconds": 1800,
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "restartPolicy": "OnFailure",
                        "securityContext": kube.pod_security(185),
                        "containers": [
                            {
                                "name": "bootstrap",
                                "image": image,
                                "imagePullPolicy": cfg.spark.image_pull_policy,
                                "command": ["python3", "-m", "lakehouse.dremio.bootstrap"],
                                "env": env,
                                "resources": {
                                    "requests": {"cpu": "50m", "memory": "96Mi"},
                                    "limits": {"cpu": "500m", "memory": "256Mi"},
                                },
                                "securityContext": kube.container_security(read_only_root=True),
                                "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
                            }
                        ],
                        "volumes": [kube.tmp_volume()],
                    },
                },
            },
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[
                    self.coordinator,
                    self.executors,
                    self.client_service,
                    self.admin_secret,
                    self.lake_secret,
                    store.provision_job,
                ],
                replace_on_changes=["spec"],
                delete_before_replace=True,
                custom_timeouts=pulumi.CustomTimeouts(create="30m", update="30m"),
            ),
        )
