"""Dremio OSS from native objects: a coordinator and executors, their configuration, Services.

There is no maintained OSS chart (see docs/upstreams.md). Roles are set with JVM system
properties; heap and direct memory are set explicitly from the container memory (never
derived by Dremio's script, which can compute 0 direct memory on small executors).
Distributed storage lives on MinIO under ``dremio/`` with Dremio's own least-privilege
user; its credentials reach ``core-site.xml`` through a Secret, never a ConfigMap.

Both configuration files are mounted file by file (subPath), which a running pod never
sees change: a digest of both, secret values included, is a pod annotation, so a changed
setting or a rotated key rolls the pods. Dremio does not upgrade its store by itself
(``auto-upgrade`` is off): the coordinator runs ``dremio-admin upgrade`` in an init
container before every start, which does nothing when the store is current.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

import pulumi
import pulumi_kubernetes as k8s

from lakehouse_core import names, versions
from lakehouse_core import network as flows
from lakehouse_core.catalog import DREMIO_DIST_PREFIX
from lakehouse_core.scrape import METRICS_PORT_NAME
from lakehouse_core.stack_config import DremioConfig, DremioMemory
from lakehouse_infra import k8s as kube
from lakehouse_infra.credentials import Credential
from lakehouse_infra.network import Network
from lakehouse_infra.tls import TrustBundle, trust_mounts, trust_volumes

COMPONENT = "query-engine"
NAMESPACE = names.DREMIO_NAMESPACE
WEB, CLIENT, FLIGHT = names.DREMIO_WEB_PORT, names.DREMIO_CLIENT_PORT, names.DREMIO_FLIGHT_PORT
FABRIC, CONDUIT = names.DREMIO_FABRIC_PORT, names.DREMIO_CONDUIT_PORT


def dremio_conf(bucket: str, zookeeper: str, metrics: bool = True) -> str:
    """dremio.conf. With ``metrics``, the web-admin server (``/metrics``, ``/live``; on every
    node) listens on the pod's addresses at a fixed port: Dremio's default is 127.0.0.1
    on a random port, which nothing could scrape."""
    web_admin = (
        '  web-admin.host: "0.0.0.0"\n'  # inside the pod; the NetworkPolicy admits the scraper
        f"  web-admin.port: {names.DREMIO_METRICS_PORT}\n"
        if metrics
        else ""
    )
    return (
        "# Rendered by the Pulumi program (infra/lakehouse_infra/dremio.py).\n"
        "paths: {\n"
        '  local: "/opt/dremio/data"\n'
        f'  dist: "dremioS3:///{bucket}/{DREMIO_DIST_PREFIX}"\n'
        "}\n"
        "services: {\n"
        "  flight.use_session_service: true\n"
        f"{web_admin}"
        "}\n"
        f'zookeeper: "{zookeeper}"\n'
    )


DATA_DIR = "/opt/dremio/data"
# Heap dumps and GC logs go where DREMIO_LOG_DIR says (the log itself goes to the console):
# on the data volume, so the root filesystem stays read-only and a dump cannot fill /tmp.
LOG_DIR = f"{DATA_DIR}/log"


def core_site(endpoint_host: str, access_key: str, secret_key: str, tls: bool = False) -> str:
    properties = {
        "fs.dremioS3.impl": "com.dremio.plugins.s3.store.S3FileSystem",
        "fs.s3a.aws.credentials.provider": "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider",
        "fs.s3a.access.key": access_key,
        "fs.s3a.secret.key": secret_key,
        # host:port without a scheme: Dremio adds it from connection.ssl.enabled.
        "fs.s3a.endpoint": endpoint_host,
        "fs.s3a.path.style.access": "true",
        "fs.s3a.connection.ssl.enabled": str(tls).lower(),
        "dremio.s3.compat": "true",
        # S3A buffers uploads on disk (forced for sources): on the data volume, not in /tmp.
        "fs.s3a.buffer.dir": f"{DATA_DIR}/s3a",
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
    flags += [f"-Dservices.conduit.port={CONDUIT}", f"-XX:ActiveProcessorCount={cpus}"]
    return " ".join(flags)


def _cpus(quantity: str) -> int:
    value = float(quantity[:-1]) / 1000 if quantity.endswith("m") else float(quantity)
    return max(1, int(value))


@dataclass(frozen=True)
class NodeSet:
    role: str  # "coordinator" or "executor"
    replicas: int
    memory: DremioMemory
    container_mib: int
    cpu: str
    volume: str

    @property
    def coordinator(self) -> bool:
        return self.role == "coordinator"

    @property
    def name(self) -> str:
        return names.DREMIO_COORDINATOR if self.coordinator else names.DREMIO_EXECUTOR


class Dremio(pulumi.ComponentResource):
    """The coordinator and executors. ``ready`` is what the bootstrap Job waits for."""

    def __init__(
        self,
        name: str,
        *,
        cfg: DremioConfig,
        bucket: str,
        namespace: pulumi.Resource,
        zookeeper_connect: str,
        zookeeper_host: str,
        zookeeper_ready: pulumi.Resource,
        store_endpoint_host: str,
        store_ready: pulumi.Resource,
        s3: Credential,
        network: Network,
        client_url: str,
        trust: TrustBundle | None = None,
        metrics: bool = True,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("lakehouse:query:Dremio", name, None, opts)
        self.cfg = cfg
        self.metrics = metrics
        self.zookeeper = zookeeper_connect
        self.zookeeper_host = zookeeper_host
        self.client_url = client_url
        in_ns = pulumi.ResourceOptions(parent=self, depends_on=[namespace])
        for role in (flows.DREMIO_COORDINATOR, flows.DREMIO_EXECUTOR):
            network.allow(role, COMPONENT, in_ns)

        self.trust = trust
        site = s3.password.apply(
            lambda secret: core_site(store_endpoint_host, s3.user, secret, tls=trust is not None)
        )
        self.core_site_secret = k8s.core.v1.Secret(
            names.DREMIO_CORE_SITE_SECRET,
            metadata=kube.metadata(
                names.DREMIO_CORE_SITE_SECRET,
                NAMESPACE,
                kube.labels(names.DREMIO_CORE_SITE_SECRET, COMPONENT),
            ),
            string_data={"core-site.xml": site},
            opts=in_ns,
        )
        conf = dremio_conf(bucket, zookeeper_connect, metrics)
        self.config_map = k8s.core.v1.ConfigMap(
            "dremio-conf",
            metadata=kube.metadata("dremio-conf", NAMESPACE, kube.labels("dremio-conf", COMPONENT)),
            data={"dremio.conf": conf},
            opts=in_ns,
        )
        # Both files, secret key included (as a digest): a change to either rolls the pods.
        self.config_digest = pulumi.Output.all(
            kube.content_hash(conf), kube.secret_hash(site)
        ).apply(lambda parts: kube.content_hash(*parts))
        self.cluster_service = kube.service(
            names.DREMIO_CLUSTER_SERVICE,
            NAMESPACE,
            kube.labels(names.DREMIO_CLUSTER_SERVICE, COMPONENT),
            {"app.kubernetes.io/name": names.DREMIO},  # coordinator and executors: the fabric
            {"fabric": FABRIC, "conduit": CONDUIT},
            opts=in_ns,
            headless=True,
        )
        start_after = pulumi.ResourceOptions(
            parent=self,
            depends_on=[
                namespace,
                zookeeper_ready,
                store_ready,
                self.config_map,
                self.core_site_secret,
                self.cluster_service,
                *(trust.resources if trust else []),
            ],
        )
        coordinator = NodeSet(
            "coordinator",
            1,
            cfg.coordinator_memory(),
            cfg.coordinator_memory_mib,
            cfg.coordinator_cpu,
            cfg.coordinator_volume,
        )
        executor = NodeSet(
            "executor",
            cfg.executors,
            cfg.executor_memory(),
            cfg.executor_memory_mib,
            cfg.executor_cpu,
            cfg.executor_volume,
        )
        self.coordinator = self._node_set(coordinator, start_after)
        self.executors = self._node_set(executor, start_after)
        coordinator_select = kube.selector(names.DREMIO, "coordinator")
        self.client_service = kube.service(
            names.DREMIO_CLIENT_SERVICE,
            NAMESPACE,
            kube.labels(names.DREMIO_CLIENT_SERVICE, COMPONENT),
            coordinator_select,
            {"web": WEB, "client": CLIENT, "flight": FLIGHT},
            opts=in_ns,
        )
        # Arrow Flight is gRPC: Traefik must speak HTTP/2 cleartext to the backend.
        self.flight_service = kube.service(
            names.DREMIO_FLIGHT_SERVICE,
            NAMESPACE,
            kube.labels(names.DREMIO_FLIGHT_SERVICE, COMPONENT),
            coordinator_select,
            {"flight": FLIGHT},
            opts=in_ns,
            annotations={"traefik.ingress.kubernetes.io/service.serversscheme": "h2c"},
        )
        self.ready: list[pulumi.Resource] = [
            self.coordinator,
            self.executors,
            self.client_service,
        ]
        self.register_outputs({"namespace": NAMESPACE, "clientService": self.client_url})

    def _node_set(self, nodes: NodeSet, opts: pulumi.ResourceOptions) -> k8s.apps.v1.StatefulSet:
        cfg = self.cfg
        labels = kube.labels(names.DREMIO, nodes.role, cfg.image.rsplit(":", 1)[-1])
        select = kube.selector(names.DREMIO, nodes.role)
        statefulset = k8s.apps.v1.StatefulSet(
            nodes.name,
            metadata=kube.metadata(
                nodes.name,
                NAMESPACE,
                labels,
                annotations={
                    "lakehouse.dev/heap-mib": str(nodes.memory.heap_mib),
                    "lakehouse.dev/direct-mib": str(nodes.memory.direct_mib),
                },
            ),
            spec={
                "serviceName": names.DREMIO_CLUSTER_SERVICE,
                "replicas": nodes.replicas,
                "podManagementPolicy": "Parallel",
                "selector": {"matchLabels": select},
                "template": {
                    "metadata": {
                        "labels": labels,
                        "annotations": {
                            "lakehouse.dev/config-hash": self.config_digest,
                            # A new CA (a new truststore) restarts the JVMs that read it.
                            **({"lakehouse.dev/ca": self.trust.digest} if self.trust else {}),
                        },
                    },
                    "spec": {
                        "automountServiceAccountToken": False,  # it never calls the API
                        "securityContext": kube.pod_security(names.DREMIO_UID),
                        "terminationGracePeriodSeconds": 120,
                        **({"affinity": self._affinity()} if cfg.anti_affinity else {}),
                        "initContainers": self._init_containers(nodes),
                        "containers": [self._container(nodes)],
                        "volumes": [
                            {"name": "conf", "configMap": {"name": "dremio-conf"}},
                            {
                                "name": "core-site",
                                "secret": {"secretName": names.DREMIO_CORE_SITE_SECRET},
                            },
                            kube.tmp_volume(size="2Gi"),
                            *(trust_volumes() if self.trust else []),
                        ],
                    },
                },
                "volumeClaimTemplates": [
                    kube.volume_claim(
                        "data",
                        nodes.volume,
                        cfg.storage_class,
                        kube.claim_labels(names.DREMIO, nodes.role),
                    )
                ],
            },
            opts=pulumi.ResourceOptions.merge(
                opts,
                pulumi.ResourceOptions(
                    custom_timeouts=pulumi.CustomTimeouts(create="20m", update="20m")
                ),
            ),
        )
        if nodes.replicas > 1:
            k8s.policy.v1.PodDisruptionBudget(
                nodes.name,
                metadata=kube.metadata(nodes.name, NAMESPACE, labels),
                spec={"maxUnavailable": 1, "selector": {"matchLabels": select}},
                opts=pulumi.ResourceOptions(parent=self, depends_on=opts.depends_on),
            )
        return statefulset

    @staticmethod
    def _affinity() -> dict[str, Any]:
        return {
            "podAntiAffinity": {
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    {
                        "weight": 100,
                        "podAffinityTerm": {
                            "labelSelector": {
                                "matchLabels": {"app.kubernetes.io/name": names.DREMIO}
                            },
                            "topologyKey": "kubernetes.io/hostname",
                        },
                    }
                ]
            }
        }

    def _volume_mounts(self) -> list[dict[str, Any]]:
        mounts = [
            {"name": "data", "mountPath": DATA_DIR},
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
        ]
        return mounts + (trust_mounts() if self.trust else [])

    def _init_containers(self, nodes: NodeSet) -> list[dict[str, Any]]:
        wait_for_zookeeper = (
            f"until nc -w 2 {self.zookeeper_host} {names.ZOOKEEPER_CLIENT_PORT} "
            "</dev/null >/dev/null 2>&1; "
            "do echo waiting for ZooKeeper; sleep 2; done"
        )
        small = kube.with_ephemeral(
            {
                "requests": {"cpu": "10m", "memory": "16Mi"},
                "limits": {"cpu": "100m", "memory": "32Mi"},
            },
            "64Mi",
        )
        containers: list[dict[str, Any]] = [
            {
                "name": "wait-for-zookeeper",
                "image": versions.BUSYBOX_IMAGE.ref,
                "imagePullPolicy": "IfNotPresent",
                "command": ["sh", "-c", wait_for_zookeeper],
                "resources": small,
                "securityContext": kube.container_security(read_only_root=True),
            }
        ]
        if nodes.coordinator:
            # Brings the store up to the image's version; a no-op on a fresh or current one.
            containers.append(
                {
                    "name": "upgrade",
                    "image": self.cfg.image,
                    "imagePullPolicy": "IfNotPresent",
                    "command": ["/opt/dremio/bin/dremio-admin"],
                    "args": ["upgrade"],
                    # dremio-admin reads the client's variables, not the server's.
                    "env": [
                        *self._env(nodes),
                        kube.env("DREMIO_JAVA_CLIENT_EXTRA_OPTS", self._opts(nodes)),
                        kube.env("DREMIO_JAVA_EXTRA_OPTS", self._opts(nodes)),
                    ],
                    "resources": self._resources(nodes),
                    "securityContext": kube.container_security(read_only_root=True),
                    "volumeMounts": self._volume_mounts(),
                }
            )
        return containers

    def _resources(self, nodes: NodeSet) -> dict[str, Any]:
        """The memory budget as the request; the limit leaves real headroom above it.

        Dremio's start script splits its budget into heap and direct memory and keeps only
        5 % outside both, while metaspace, code cache, RocksDB and Netty's own buffers
        live there: a limit equal to the budget lets the kernel kill it under load. The
        limit is the budget plus a quarter (at least 1 GiB); the scheduler still counts
        only the budget.
        """
        headroom = max(1024, nodes.container_mib // 4)
        return kube.with_ephemeral(
            {
                "requests": {"cpu": nodes.cpu, "memory": f"{nodes.container_mib}Mi"},
                "limits": {
                    "cpu": self.cfg.cpu_limit,
                    "memory": f"{nodes.container_mib + headroom}Mi",
                },
            },
            "1Gi",
        )

    def _opts(self, nodes: NodeSet) -> str:
        opts = server_opts(self.zookeeper, coordinator=nodes.coordinator, cpus=_cpus(nodes.cpu))
        # With TLS inside the cluster the JVM trusts the stack's CA (MinIO's certificate).
        return f"{opts} {names.JAVA_TRUST_OPTIONS}" if self.trust else opts

    def _env(self, nodes: NodeSet) -> list[dict[str, Any]]:
        env = [
            kube.env("DREMIO_MAX_HEAP_MEMORY_SIZE_MB", str(nodes.memory.heap_mib)),
            kube.env("DREMIO_MAX_DIRECT_MEMORY_SIZE_MB", str(nodes.memory.direct_mib)),
            kube.env("DREMIO_JAVA_SERVER_EXTRA_OPTS", self._opts(nodes)),
            kube.env("DREMIO_LOG_TO_CONSOLE", "1"),
            kube.env("DREMIO_LOG_DIR", LOG_DIR),
        ]
        if self.trust:
            # The CA as PEM, OpenSSL's variable, for readers that are not the JVM (Dremio
            # ignores it; the test bed's Dremio double, a stand-in in Python, reads MinIO
            # with it).
            env.append(kube.env("SSL_CERT_FILE", f"{names.CA_DIR}/ca.crt"))
        return env

    def _container(self, nodes: NodeSet) -> dict[str, Any]:
        ports = [
            {"name": "fabric", "containerPort": FABRIC},
            {"name": "conduit", "containerPort": CONDUIT},
        ]
        if self.metrics:
            ports.append({"name": METRICS_PORT_NAME, "containerPort": names.DREMIO_METRICS_PORT})
        # Dremio's own liveness endpoint (web-admin /live) where it listens; else the port.
        live = (
            kube.http_probe("/live", METRICS_PORT_NAME, period=20)
            if self.metrics
            else kube.tcp_probe("web" if nodes.coordinator else "fabric", period=20, failures=3)
        )
        if nodes.coordinator:
            ports += [
                {"name": "web", "containerPort": WEB},
                {"name": "client", "containerPort": CLIENT},
                {"name": "flight", "containerPort": FLIGHT},
            ]
            probes = {
                "startupProbe": kube.tcp_probe("web", period=10, failures=60),
                "readinessProbe": kube.http_probe("/apiv2/server_status", "web", period=10),
                "livenessProbe": live,
            }
        else:
            probes = {
                "startupProbe": kube.tcp_probe("fabric", period=10, failures=60),
                "readinessProbe": kube.tcp_probe("fabric", period=10),
                "livenessProbe": live,
            }
        return {
            "name": nodes.name,
            "image": self.cfg.image,
            "imagePullPolicy": "IfNotPresent",
            "command": ["/opt/dremio/bin/dremio"],
            "args": ["start-fg"],
            "env": self._env(nodes),
            "ports": ports,
            "resources": self._resources(nodes),
            # Read-only: Dremio writes only to its data volume (store, logs, heap dumps, S3A
            # buffers) and /tmp (an emptyDir).
            "securityContext": kube.container_security(read_only_root=True),
            **probes,
            "volumeMounts": self._volume_mounts(),
        }
