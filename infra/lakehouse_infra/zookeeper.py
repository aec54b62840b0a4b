"""ZooKeeper, which Dremio's coordinator and executors coordinate through: one (dev) or an
odd quorum (prod) of the official image, each member with its own volume.

Two behaviours of the official image shape the pod (docker-library's zookeeper 3.8):

* its entrypoint writes ``$ZOO_DATA_DIR/myid`` without creating the directory, and only
  a root start chowns anything; so the start command creates the data and log folders
  on the fresh volume first;
* it keeps its logback configuration in ``/conf``, which must be writable (the entrypoint
  writes ``zoo.cfg`` there) and so is an emptyDir that hides the image's file; the logging
  configuration therefore comes from a ConfigMap, named to the JVM explicitly.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from lakehouse_core import names
from lakehouse_core import network as flows
from lakehouse_core.scrape import METRICS_PORT_NAME
from lakehouse_core.stack_config import ZookeeperConfig
from lakehouse_infra import k8s as kube
from lakehouse_infra.network import Network

COMPONENT = "coordination"
NAMESPACE = names.DREMIO_NAMESPACE
CLIENT_PORT = names.ZOOKEEPER_CLIENT_PORT
DATA_DIR, LOG_DIR = "/data/data", "/data/log"
LOGBACK_DIR = "/etc/zookeeper-logging"
# Ready means serving: `srvr` (a four-letter word, over bash's /dev/tcp: no nc in the image)
# reports "Mode: leader|follower|standalone" only once this member serves its quorum. `ruok`
# would not do: it answers imok whatever the member's state (ZooKeeper 3.8.4's RuokCommand),
# so a rolling update would take down the next member while the last one still elects.
SERVING = (
    f"echo srvr | (exec 3<>/dev/tcp/127.0.0.1/{CLIENT_PORT}; cat >&3; cat <&3)"
    " | grep -qE '^Mode: (leader|follower|standalone)$'"
)

LOGBACK_XML = """\
<!-- ZooKeeper's logging in the lakehouse: INFO to the console (kubectl logs). -->
<configuration>
  <appender name="CONSOLE" class="ch.qos.logback.core.ConsoleAppender">
    <encoder>
      <pattern>%d{ISO8601} [myid:%X{myid}] - %-5p [%t:%C{1}@%L] - %m%n</pattern>
    </encoder>
  </appender>
  <root level="INFO">
    <appender-ref ref="CONSOLE"/>
  </root>
</configuration>
"""

# ZooKeeper's own Prometheus metrics provider (its jars ship in the image's lib/), on all
# addresses of the pod; the official image appends ZOO_CFG_EXTRA's words to zoo.cfg.
METRICS_CFG = " ".join(
    [
        "metricsProvider.className="
        "org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider",
        "metricsProvider.httpHost=0.0.0.0",
        f"metricsProvider.httpPort={names.ZOOKEEPER_METRICS_PORT}",
        "metricsProvider.exportJvmInfo=true",
    ]
)

START = (
    f'mkdir -p "{DATA_DIR}" "{LOG_DIR}"; '
    "export ZOO_MY_ID=$((${HOSTNAME##*-}+1)); "
    "exec /docker-entrypoint.sh zkServer.sh start-foreground"
)


def server_list(replicas: int, addresses: names.ClusterAddresses) -> str:
    headless = addresses.service(names.ZOOKEEPER_HEADLESS, NAMESPACE)
    return " ".join(
        f"server.{i + 1}={names.ZOOKEEPER}-{i}.{headless}:2888:3888;{CLIENT_PORT}"
        for i in range(replicas)
    )


class ZooKeeper(pulumi.ComponentResource):
    """The ensemble; ``connect`` is Dremio's connect string, ``ready`` the StatefulSet."""

    def __init__(
        self,
        name: str,
        *,
        cfg: ZookeeperConfig,
        namespace: pulumi.Resource,
        network: Network,
        addresses: names.ClusterAddresses,
        metrics: bool = True,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("lakehouse:query:ZooKeeper", name, None, opts)
        self.cfg = cfg
        self.metrics = metrics
        self.addresses = addresses
        self.connect = addresses.zookeeper_connect(cfg.replicas)
        self.client_host = addresses.service(names.ZOOKEEPER, NAMESPACE)
        in_ns = pulumi.ResourceOptions(parent=self, depends_on=[namespace])
        network.allow(flows.ZOOKEEPER, COMPONENT, in_ns)
        labels = kube.labels("zookeeper", COMPONENT, cfg.image.rsplit(":", 1)[-1])
        select = kube.selector("zookeeper", COMPONENT)
        ports = {"client": CLIENT_PORT, "server": 2888, "election": 3888}
        headless = kube.service(
            names.ZOOKEEPER_HEADLESS, NAMESPACE, labels, select, ports, opts=in_ns, headless=True
        )
        kube.service(
            names.ZOOKEEPER, NAMESPACE, labels, select, {"client": CLIENT_PORT}, opts=in_ns
        )
        logging = k8s.core.v1.ConfigMap(
            "zookeeper-logging",
            metadata=kube.metadata(
                "zookeeper-logging", NAMESPACE, kube.labels("zookeeper-logging", COMPONENT)
            ),
            data={"logback.xml": LOGBACK_XML},
            opts=in_ns,
        )
        if cfg.replicas > 1:
            k8s.policy.v1.PodDisruptionBudget(
                "zookeeper",
                metadata=kube.metadata("zookeeper", NAMESPACE, labels),
                spec={"maxUnavailable": 1, "selector": {"matchLabels": select}},
                opts=in_ns,
            )
        self.statefulset = k8s.apps.v1.StatefulSet(
            "zookeeper",
            metadata=kube.metadata(names.ZOOKEEPER, NAMESPACE, labels),
            spec=self._spec(labels, select),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[namespace, headless, logging]),
        )
        self.ready: pulumi.Resource = self.statefulset
        self.register_outputs({"connect": self.connect})

    def _spec(self, labels: dict[str, str], select: dict[str, str]) -> dict[str, Any]:
        cfg = self.cfg
        affinity = {
            "podAntiAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": [
                    {
                        "labelSelector": {"matchLabels": select},
                        "topologyKey": "kubernetes.io/hostname",
                    }
                ]
            }
        }
        container = {
            "name": "zookeeper",
            "image": cfg.image,
            "imagePullPolicy": "IfNotPresent",
            "command": ["bash", "-ec", START],
            "env": [
                kube.env("ZOO_SERVERS", server_list(cfg.replicas, self.addresses)),
                kube.env("ZOO_STANDALONE_ENABLED", str(cfg.replicas == 1).lower()),
                kube.env("ZOO_DATA_DIR", DATA_DIR),
                kube.env("ZOO_DATA_LOG_DIR", LOG_DIR),
                kube.env("ZOO_4LW_COMMANDS_WHITELIST", "srvr"),
                kube.env("ZOO_ADMINSERVER_ENABLED", "false"),
                kube.env("ZOO_AUTOPURGE_PURGEINTERVAL", "12"),
                *([kube.env("ZOO_CFG_EXTRA", METRICS_CFG)] if self.metrics else []),
                kube.env(
                    "JVMFLAGS", f"-Xmx192m -Dlogback.configurationFile={LOGBACK_DIR}/logback.xml"
                ),
            ],
            "ports": [
                {"name": "client", "containerPort": CLIENT_PORT},
                {"name": "server", "containerPort": 2888},
                {"name": "election", "containerPort": 3888},
                *(
                    [{"name": METRICS_PORT_NAME, "containerPort": names.ZOOKEEPER_METRICS_PORT}]
                    if self.metrics
                    else []
                ),
            ],
            "resources": kube.with_ephemeral(
                {
                    "requests": {"cpu": "100m", "memory": "256Mi"},
                    "limits": {"cpu": "1", "memory": "384Mi"},
                },
                "512Mi",
            ),
            "securityContext": kube.container_security(read_only_root=True),
            "startupProbe": kube.tcp_probe("client", period=5, failures=60),
            "livenessProbe": kube.tcp_probe("client", period=15),
            "readinessProbe": kube.exec_probe(["bash", "-c", SERVING], period=10),
            "volumeMounts": [
                {"name": "data", "mountPath": "/data"},
                {"name": "conf", "mountPath": "/conf"},
                {"name": "logging", "mountPath": LOGBACK_DIR, "readOnly": True},
                {"name": "logs", "mountPath": "/logs"},
                {"name": "tmp", "mountPath": "/tmp"},
            ],
        }
        return {
            "serviceName": names.ZOOKEEPER_HEADLESS,
            "replicas": cfg.replicas,
            "podManagementPolicy": "Parallel",
            "selector": {"matchLabels": select},
            "template": {
                "metadata": {
                    "labels": labels,
                    "annotations": {"lakehouse.dev/config-hash": kube.content_hash(LOGBACK_XML)},
                },
                "spec": {
                    "automountServiceAccountToken": False,  # it never calls the API
                    "securityContext": kube.pod_security(names.ZOOKEEPER_UID),
                    **({"affinity": affinity} if cfg.anti_affinity else {}),
                    "containers": [container],
                    "volumes": [
                        kube.tmp_volume("conf", "16Mi"),
                        {"name": "logging", "configMap": {"name": "zookeeper-logging"}},
                        kube.tmp_volume("logs", "256Mi"),
                        kube.tmp_volume(),
                    ],
                },
            },
            "volumeClaimTemplates": [
                kube.volume_claim(
                    "data",
                    cfg.volume,
                    cfg.storage_class,
                    kube.claim_labels("zookeeper", COMPONENT),
                )
            ],
        }
