"""Who may talk to whom: every network flow of the lakehouse, as data.

The Pulumi components turn this table into NetworkPolicies (a default deny in each
namespace, then one allow per flow, on both ends), the docs print it, the manifest tests
check the rendered policies against it, and the cluster test probes it from real pods.
A flow names *roles*, not addresses: ``Role`` says which pods (or which outside peer) a
role is; the stack's namespaces and CIDRs are filled in by the components.

Pure Python: standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass

from lakehouse_core import names

# Where a role's pods live: a fixed namespace, or one the stack configures.
STORAGE, QUERY, JOBS, OPERATOR, INGRESS, MONITORING, SCRAPER, DNS = (
    "storage",
    "query",
    "jobs",
    "operator",
    "ingress",
    "monitoring",
    "scraper",  # where the Prometheus that scrapes the stack runs (its own, or the cluster's)
    "dns",
)


@dataclass(frozen=True)
class Role:
    """A set of pods (namespace key and labels), or an address range outside the pods."""

    name: str
    namespace: str | None = None  # one of the keys above; None for an address range
    labels: tuple[tuple[str, str], ...] = ()
    cidr_setting: str | None = None  # network.<setting> holds its CIDRs

    @property
    def selector(self) -> dict[str, str]:
        return dict(self.labels)

    @property
    def is_pods(self) -> bool:
        return self.namespace is not None


APP = "app.kubernetes.io/name"
COMPONENT = "app.kubernetes.io/component"

MINIO = Role("minio", STORAGE, ((APP, "minio"), (COMPONENT, "object-store")))
MINIO_PROVISION = Role("minio-provision", STORAGE, ((APP, "minio-provision"),))
ZOOKEEPER = Role("zookeeper", QUERY, ((APP, "zookeeper"),))
DREMIO_COORDINATOR = Role(
    "dremio-coordinator", QUERY, ((APP, "dremio"), (COMPONENT, "coordinator"))
)
DREMIO_EXECUTOR = Role("dremio-executor", QUERY, ((APP, "dremio"), (COMPONENT, "executor")))
DREMIO_BOOTSTRAP = Role("dremio-bootstrap", QUERY, ((APP, "dremio-bootstrap"),))
SPARK_DRIVER = Role("spark-driver", JOBS, (("spark-role", "driver"),))
SPARK_EXECUTOR = Role("spark-executor", JOBS, (("spark-role", "executor"),))
# Every pod of the operator's namespace: the controller, the webhook, the chart's hooks.
SPARK_OPERATOR = Role("spark-operator", OPERATOR)
# The operator's controller alone (its metrics; the webhook's carry no application's).
SPARK_OPERATOR_CONTROLLER = Role(
    "spark-operator-controller", OPERATOR, ((COMPONENT, "controller"),)
)
SPARK_HISTORY = Role("spark-history", JOBS, ((APP, names.SPARK_HISTORY),))
# The Spark Connect server: the driver of every interactive session (its executors are
# spark-executor pods like the jobs').
SPARK_CONNECT = Role("spark-connect", JOBS, (("spark-role", "connect-server"),))
TRAEFIK = Role("traefik", INGRESS, ((APP, "traefik"),))
# The stack's own Prometheus, or the cluster's (observability.prometheusNamespace): both
# label their pods app.kubernetes.io/name=prometheus (the Prometheus operator does).
PROMETHEUS = Role("prometheus", SCRAPER, ((APP, "prometheus"),))
PUSHGATEWAY = Role("pushgateway", MONITORING, ((APP, names.PUSHGATEWAY),))
CLUSTER_DNS = Role("cluster-dns", DNS, (("k8s-app", "kube-dns"),))
API_SERVER = Role("api-server", cidr_setting="apiServerCidrs")
INGRESS_CLIENTS = Role("ingress-clients", cidr_setting="ingressClientCidrs")

# The roles whose pods the lakehouse runs (and so restricts); the others are peers.
OWN_ROLES = (
    MINIO,
    MINIO_PROVISION,
    ZOOKEEPER,
    DREMIO_COORDINATOR,
    DREMIO_EXECUTOR,
    DREMIO_BOOTSTRAP,
    SPARK_DRIVER,
    SPARK_EXECUTOR,
    SPARK_OPERATOR,
    SPARK_HISTORY,
    SPARK_CONNECT,
    TRAEFIK,
    PROMETHEUS,
    PUSHGATEWAY,
)
# Namespaces the stack owns: each gets a default deny of ingress and egress.
OWN_NAMESPACES = (STORAGE, QUERY, JOBS, OPERATOR, INGRESS, MONITORING)


@dataclass(frozen=True)
class Port:
    number: int
    protocol: str = "TCP"


@dataclass(frozen=True)
class Flow:
    source: Role
    destination: Role
    ports: tuple[Port, ...]
    why: str


def tcp(*numbers: int) -> tuple[Port, ...]:
    return tuple(Port(n) for n in numbers)


DNS_PORTS = (Port(53, "UDP"), Port(53, "TCP"))
API_PORTS = tcp(443, 6443)  # the kubernetes Service's port, and the API server's own
S3 = tcp(names.MINIO_API_PORT)
FABRIC = tcp(names.DREMIO_FABRIC_PORT, names.DREMIO_CONDUIT_PORT)
SPARK_DRIVER_PORTS = tcp(7078, 7079)  # spark.driver.port, the driver's block manager
SPARK_BLOCK_MANAGER = tcp(7079)  # every executor's block manager (Spark on Kubernetes)
TRAEFIK_PORTS = tcp(8000, 8443)  # the chart's web and websecure entry points
OPERATOR_WEBHOOK = tcp(9443)
# Metrics endpoints (docs/observability.md).
TRAEFIK_METRICS = tcp(9100)
OPERATOR_METRICS = tcp(8080)  # the chart's prometheus.metrics.port
ZOOKEEPER_METRICS = tcp(names.ZOOKEEPER_METRICS_PORT)
DREMIO_METRICS = tcp(names.DREMIO_METRICS_PORT)

FLOWS: tuple[Flow, ...] = (
    *(Flow(role, CLUSTER_DNS, DNS_PORTS, "service names") for role in OWN_ROLES),
    Flow(MINIO, MINIO, S3, "erasure-set peers: every server reaches every other's drives"),
    Flow(MINIO_PROVISION, MINIO, S3, "creates the bucket, its users and their policies"),
    Flow(SPARK_DRIVER, MINIO, S3, "reads landing files, writes the Delta tables"),
    Flow(SPARK_EXECUTOR, MINIO, S3, "reads and writes the Delta tables' files"),
    Flow(SPARK_EXECUTOR, SPARK_DRIVER, SPARK_DRIVER_PORTS, "executors register, fetch tasks"),
    Flow(SPARK_DRIVER, SPARK_EXECUTOR, SPARK_BLOCK_MANAGER, "the driver fetches results"),
    Flow(SPARK_EXECUTOR, SPARK_EXECUTOR, SPARK_BLOCK_MANAGER, "shuffle between executors"),
    Flow(SPARK_DRIVER, API_SERVER, API_PORTS, "creates its executor pods; holds the Lease"),
    Flow(SPARK_OPERATOR, API_SERVER, API_PORTS, "watches applications, submits drivers"),
    Flow(API_SERVER, SPARK_OPERATOR, OPERATOR_WEBHOOK, "the admission webhook"),
    Flow(ZOOKEEPER, ZOOKEEPER, tcp(2888, 3888), "quorum and leader election"),
    Flow(DREMIO_COORDINATOR, ZOOKEEPER, tcp(names.ZOOKEEPER_CLIENT_PORT), "cluster membership"),
    Flow(DREMIO_EXECUTOR, ZOOKEEPER, tcp(names.ZOOKEEPER_CLIENT_PORT), "cluster membership"),
    Flow(DREMIO_COORDINATOR, DREMIO_EXECUTOR, FABRIC, "query fragments (fabric, conduit)"),
    Flow(DREMIO_EXECUTOR, DREMIO_COORDINATOR, FABRIC, "results and heartbeats"),
    Flow(DREMIO_EXECUTOR, DREMIO_EXECUTOR, FABRIC, "exchanges between executors"),
    Flow(DREMIO_COORDINATOR, MINIO, S3, "reads the lake; distributed storage under dremio/"),
    Flow(DREMIO_EXECUTOR, MINIO, S3, "reads the lake; distributed storage under dremio/"),
    Flow(DREMIO_BOOTSTRAP, DREMIO_COORDINATOR, tcp(names.DREMIO_WEB_PORT), "the admin, the source"),
    Flow(DREMIO_BOOTSTRAP, API_SERVER, API_PORTS, "keeps the applied admin password in a Secret"),
    Flow(
        INGRESS_CLIENTS,
        TRAEFIK,
        TRAEFIK_PORTS,
        "users: the UIs and APIs (network.ingressClientCidrs)",
    ),
    Flow(TRAEFIK, API_SERVER, API_PORTS, "watches Ingresses, Services, endpoints"),
    Flow(
        TRAEFIK,
        MINIO,
        tcp(names.MINIO_API_PORT, names.MINIO_CONSOLE_PORT),
        "routes S3 and the console",
    ),
    Flow(
        TRAEFIK,
        DREMIO_COORDINATOR,
        tcp(names.DREMIO_WEB_PORT, names.DREMIO_FLIGHT_PORT),
        "routes Dremio's UI, REST and Arrow Flight",
    ),
    # Observability (docs/observability.md).
    Flow(SPARK_HISTORY, MINIO, S3, "reads the applications' event logs"),
    Flow(TRAEFIK, SPARK_HISTORY, tcp(names.SPARK_HISTORY_PORT), "routes the history server"),
    Flow(TRAEFIK, SPARK_DRIVER, tcp(names.SPARK_UI_PORT), "routes a running application's UI"),
    Flow(TRAEFIK, PROMETHEUS, tcp(names.PROMETHEUS_PORT), "routes the stack's Prometheus"),
    Flow(SPARK_DRIVER, PUSHGATEWAY, tcp(names.PUSHGATEWAY_PORT), "pushes the pipeline's figures"),
    Flow(PROMETHEUS, API_SERVER, API_PORTS, "finds the running drivers (pod discovery)"),
    Flow(PROMETHEUS, MINIO, S3, "MinIO's cluster and node metrics (bearer token)"),
    Flow(PROMETHEUS, ZOOKEEPER, ZOOKEEPER_METRICS, "ZooKeeper's Prometheus provider"),
    Flow(PROMETHEUS, DREMIO_COORDINATOR, DREMIO_METRICS, "Dremio's metrics endpoint"),
    Flow(PROMETHEUS, DREMIO_EXECUTOR, DREMIO_METRICS, "Dremio's metrics endpoint"),
    Flow(PROMETHEUS, SPARK_OPERATOR, OPERATOR_METRICS, "the operator's metrics"),
    Flow(PROMETHEUS, TRAEFIK, TRAEFIK_METRICS, "Traefik's metrics"),
    Flow(
        PROMETHEUS, SPARK_DRIVER, tcp(names.SPARK_UI_PORT), "a driver's and its executors' metrics"
    ),
    Flow(PROMETHEUS, PUSHGATEWAY, tcp(names.PUSHGATEWAY_PORT), "the pipeline's figures"),
    # Interactive sessions (docs/interactive.md).
    Flow(SPARK_CONNECT, MINIO, S3, "reads the tables, writes its scratch prefix"),
    Flow(SPARK_CONNECT, API_SERVER, API_PORTS, "creates and removes its executor pods"),
    Flow(SPARK_CONNECT, SPARK_EXECUTOR, SPARK_BLOCK_MANAGER, "the server fetches results"),
    Flow(SPARK_EXECUTOR, SPARK_CONNECT, SPARK_DRIVER_PORTS, "executors register, fetch tasks"),
    Flow(TRAEFIK, SPARK_CONNECT, tcp(names.SPARK_CONNECT_PORT), "routes Spark Connect (gRPC)"),
    Flow(PROMETHEUS, SPARK_CONNECT, tcp(names.SPARK_UI_PORT), "the Connect server's metrics"),
    Flow(
        API_SERVER,
        PUSHGATEWAY,
        tcp(names.PUSHGATEWAY_PORT),
        "`lakehouse status` reads the last runs (the API server's service proxy)",
    ),
)


def flows_into(role: Role) -> list[Flow]:
    return [f for f in FLOWS if f.destination == role]


def flows_out_of(role: Role) -> list[Flow]:
    return [f for f in FLOWS if f.source == role]


def flow_table() -> str:
    """The flows as a Markdown table (docs/security.md prints it)."""
    rows = ["| from | to | ports | why |", "|---|---|---|---|"]
    for f in FLOWS:
        if f.destination == CLUSTER_DNS:
            continue
        ports = ", ".join(f"{p.number}/{p.protocol}" for p in f.ports)
        rows.append(f"| {f.source.name} | {f.destination.name} | {ports} | {f.why} |")
    rows.append("| every pod above | cluster-dns | 53/UDP, 53/TCP | service names |")
    return "\n".join(rows)
