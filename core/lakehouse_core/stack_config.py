"""Typed stack configuration, validated before any resource is declared.

Each section of ``Pulumi.<stack>.yaml`` (``lakehouse:objectStore``, ``lakehouse:dremio``,
...) is a pydantic model, and each Pulumi component receives only its own section; unknown
keys are errors (a typo never silently falls back to a default) and every rule says which
key is wrong and how to fix it. The CLI reads the same models from the stack files, so a
bad value stops before Pulumi runs.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Mapping
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from lakehouse_core import names, versions
from lakehouse_core import network as flows
from lakehouse_core.catalog import DEFAULT_BUCKET, DEFAULT_RETAIN_HOURS
from lakehouse_core.errors import LakehouseError
from lakehouse_core.names import PROJECT, SECRET_CONFIG_KEYS

NAMESPACE = PROJECT  # the namespace of the stack's own config keys
CONFIGURATION_PAGE = "docs/configuration.md"
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
HOST_NAME = re.compile(
    r"^(?=.{1,253}$)([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)+$"
)
QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(m|Ki|Mi|Gi|Ti|k|M|G|T)?$")
# MinIO splits drives into erasure sets of 2 to 16; this project requires sets of >= 4
# drives so that one lost drive never costs write quorum.
MIN_ERASURE_SET, MAX_ERASURE_SET = 4, 16
DREMIO_MIN_MEMORY_MIB = 4096


class ConfigError(LakehouseError):
    """A stack configuration value is wrong; the message names the key and the fix."""

    hint = f"fix the value in Pulumi.<stack>.yaml; {CONFIGURATION_PAGE} lists every key"


class Section(BaseModel):
    # Each field's docstring is its meaning in docs/configuration.md (generated, tested).
    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        use_attribute_docstrings=True,
    )


def _quantity(value: str, key: str) -> str:
    if not QUANTITY.match(value):
        raise ValueError(f"{key} '{value}' is not a Kubernetes quantity such as 500m, 2Gi or 1")
    return value


class Resources(Section):
    """Requests and limits of one container (limits default to the requests)."""

    cpu: str
    """CPU request (a Kubernetes quantity: 250m, 1)."""
    memory: str
    """Memory request (192Mi, 2Gi)."""
    cpu_limit: str | None = None
    """CPU limit; the request when unset."""
    memory_limit: str | None = None
    """Memory limit; the request when unset."""

    @field_validator("cpu", "memory", "cpu_limit", "memory_limit")
    @classmethod
    def _valid_quantity(cls, v: str | None) -> str | None:
        return None if v is None else _quantity(v, "the value")

    def as_k8s(self) -> dict[str, dict[str, str]]:
        return {
            "requests": {"cpu": self.cpu, "memory": self.memory},
            "limits": {
                "cpu": self.cpu_limit or self.cpu,
                "memory": self.memory_limit or self.memory,
            },
        }


class ObjectStoreConfig(Section):
    """Distributed MinIO: the lake's bucket and Dremio's distributed storage."""

    image: str = versions.MINIO_IMAGE.ref
    """The MinIO server image (the community edition is frozen: a rebuild can go here)."""
    mc_image: str = versions.MC_IMAGE.ref
    """The MinIO client image the provisioning Job runs."""
    replicas: int = 4
    """MinIO pods (at least 4)."""
    drives_per_pod: int = 1
    """Volumes per pod; replicas x drives must split into erasure sets of 4-16 drives."""
    drive_size: str = "2Gi"
    """Size of each drive's PersistentVolumeClaim."""
    storage_class: str | None = None
    """StorageClass of the drives; the cluster's default when unset."""
    allow_root_drives: bool = False
    """kind keeps volumes on the node's root filesystem, which distributed MinIO refuses
    unless told this is a test cluster (MINIO_CI_CD). Refused in prod."""
    spread_across_nodes: bool = True
    """Spread the pods over nodes (topology spread); off on a one-node kind cluster."""
    noncurrent_version_days: int = Field(default=7, ge=1)
    """Days an overwritten or deleted object's old version is kept (bucket versioning)."""
    resources: Resources = Resources(
        cpu="250m", memory="192Mi", cpu_limit="1", memory_limit="512Mi"
    )
    """Requests and limits of each MinIO server."""

    @field_validator("drive_size")
    @classmethod
    def _size(cls, v: str) -> str:
        return _quantity(v, "objectStore.driveSize")

    @model_validator(mode="after")
    def _erasure_coding(self) -> ObjectStoreConfig:
        if self.replicas < 4:
            raise ValueError(
                f"objectStore.replicas is {self.replicas}: distributed MinIO needs at least 4 "
                "pods; set objectStore.replicas to 4 or more"
            )
        if self.drives_per_pod < 1:
            raise ValueError("objectStore.drivesPerPod must be at least 1")
        total = self.replicas * self.drives_per_pod
        if erasure_set_size(total) is None:
            near = sorted(
                (t for t in range(total - 4, total + 5) if t >= 4 and erasure_set_size(t)),
                key=lambda t: (abs(t - total), -t),
            )
            raise ValueError(
                f"objectStore.replicas x objectStore.drivesPerPod = {total} drives cannot be "
                f"split into equal erasure sets of {MIN_ERASURE_SET}-{MAX_ERASURE_SET} drives; "
                f"choose a total such as {', '.join(map(str, near[:3]))}"
            )
        return self


def erasure_set_size(total_drives: int) -> int | None:
    """The largest erasure set size (4..16) that divides the drive count, as MinIO picks."""
    for size in range(MAX_ERASURE_SET, MIN_ERASURE_SET - 1, -1):
        if total_drives % size == 0:
            return size
    return None


def parity(set_size: int) -> int:
    """MinIO's default parity for a set size (EC:2 for 4-5 drives, EC:3 for 6-7, else EC:4)."""
    return 2 if set_size <= 5 else 3 if set_size <= 7 else 4


class DremioMemory(Section):
    """Heap and direct memory of one Dremio node, derived from its container memory."""

    heap_mib: int
    """JVM heap, MiB."""
    direct_mib: int
    """Direct (off-heap) memory, MiB."""


class DremioConfig(Section):
    """The Dremio OSS cluster: one coordinator and its executors."""

    image: str = versions.DREMIO_IMAGE.ref
    """The Dremio OSS image."""
    executors: int = 1
    """Executor pods (at least 1)."""
    coordinator_memory_mib: int = DREMIO_MIN_MEMORY_MIB
    """The coordinator's memory budget in MiB (Dremio refuses less than 4096); heap and
    direct memory are derived from it."""
    executor_memory_mib: int = DREMIO_MIN_MEMORY_MIB
    """Each executor's memory budget in MiB (at least 4096)."""
    coordinator_cpu: str = "500m"
    """The coordinator's CPU request."""
    executor_cpu: str = "500m"
    """Each executor's CPU request."""
    cpu_limit: str = "2"
    """CPU limit of the coordinator and each executor."""
    coordinator_volume: str = "5Gi"
    """The coordinator's data volume (its catalog, RocksDB)."""
    executor_volume: str = "5Gi"
    """Each executor's spill and cache volume."""
    storage_class: str | None = None
    """StorageClass of Dremio's volumes; the cluster's default when unset."""
    anti_affinity: bool = False
    """Keep executors on different nodes."""
    admin_user: str = "lakehouse-admin"
    """The first (admin) user the bootstrap Job creates."""
    admin_email: str = "admin@lakehouse.local"
    """The admin user's e-mail address."""

    @model_validator(mode="after")
    def _sizes(self) -> DremioConfig:
        for key, mib in (
            ("coordinatorMemoryMib", self.coordinator_memory_mib),
            ("executorMemoryMib", self.executor_memory_mib),
        ):
            if mib < DREMIO_MIN_MEMORY_MIB:
                raise ValueError(
                    f"dremio.{key} is {mib}: Dremio refuses to start below "
                    f"{DREMIO_MIN_MEMORY_MIB} MiB; set dremio.{key} to "
                    f"{DREMIO_MIN_MEMORY_MIB} or more"
                )
        if self.executors < 1:
            raise ValueError(
                f"dremio.executors is {self.executors}: queries need at least one executor; "
                "set dremio.executors to 1 or more"
            )
        for key in (
            "coordinator_volume",
            "executor_volume",
            "coordinator_cpu",
            "executor_cpu",
            "cpu_limit",
        ):
            _quantity(getattr(self, key), f"dremio.{to_camel(key)}")
        if not DNS_LABEL.match(self.admin_user):
            raise ValueError("dremio.adminUser must be lower-case letters, digits and '-'")
        return self

    def coordinator_memory(self) -> DremioMemory:
        return dremio_memory(self.coordinator_memory_mib, coordinator=True)

    def executor_memory(self) -> DremioMemory:
        return dremio_memory(self.executor_memory_mib, coordinator=False)


class ZookeeperConfig(Section):
    """The ZooKeeper ensemble Dremio coordinates through (its own component)."""

    image: str = versions.ZOOKEEPER_IMAGE.ref
    """The ZooKeeper image."""
    replicas: int = 1
    """Members: 1 (dev) or an odd quorum of 3 or 5."""
    volume: str = "1Gi"
    """Each member's data volume."""
    storage_class: str | None = None
    """StorageClass of the volumes; the cluster's default when unset."""
    anti_affinity: bool = False
    """Keep members on different nodes."""

    @model_validator(mode="after")
    def _quorum(self) -> ZookeeperConfig:
        if self.replicas not in (1, 3, 5):
            raise ValueError(
                f"zookeeper.replicas is {self.replicas}: use 1 (dev) or an odd quorum of 3 or 5"
            )
        _quantity(self.volume, "zookeeper.volume")
        return self


def dremio_memory(container_mib: int, *, coordinator: bool) -> DremioMemory:
    """Split a container's memory into heap and direct memory, both explicit and positive.

    Like Dremio's own script it keeps a reserve for the JVM outside heap and direct memory
    (metaspace, threads, code cache), but at least 512 MiB so small nodes are not OOM-killed.
    Coordinators plan queries (heap); executors process data (direct memory).
    """
    reserve = 6000 if container_mib >= 64000 else max(int(container_mib * 0.05), 512)
    usable = container_mib - reserve
    if coordinator:
        heap = 16384 if usable >= 18432 else usable - 2048
    else:
        heap = 8192 if usable >= 32768 else 4096 if usable >= 6144 else 2048
    direct = usable - heap
    if heap < 1024 or direct < 1024:
        raise ConfigError(
            f"{container_mib} MiB leaves heap {heap} MiB and direct memory {direct} MiB; "
            "give the Dremio node more memory"
        )
    return DremioMemory(heap_mib=heap, direct_mib=direct)


class SparkConfig(Section):
    """The Spark operator and the pipeline's SparkApplications."""

    operator_namespace: str = "lakehouse-spark"
    """Namespace of the Spark operator."""
    jobs_namespace: str = "lakehouse-jobs"
    """Namespace the SparkApplications run in."""
    service_account: str = "lakehouse-spark"
    """Service account of the Spark drivers."""
    driver_memory: str = "1g"
    """Memory of each driver (Spark's notation: 1g, 512m)."""
    executor_memory: str = "1g"
    """Memory of each executor."""
    executor_instances: int = Field(default=1, ge=1)
    """Executors per application."""
    shuffle_partitions: int = Field(default=8, ge=1)
    """spark.sql.shuffle.partitions of the jobs."""
    core_request: str | None = None
    """CPU the scheduler reserves for a driver or executor (default: its whole core); a
    small node (kind on a laptop) fits the stack and a job only with less."""

    @field_validator("core_request")
    @classmethod
    def _core_request(cls, v: str | None) -> str | None:
        return None if v is None else _quantity(v, "spark.coreRequest")

    @field_validator("operator_namespace", "jobs_namespace", "service_account")
    @classmethod
    def _dns(cls, v: str) -> str:
        if not DNS_LABEL.match(v) or len(v) > 63:
            raise ValueError(f"'{v}' is not a valid Kubernetes name (lower-case, digits, '-')")
        return v


class ImagesConfig(Section):
    """The project's own images: the Spark job image and the Dremio bootstrap image.

    By default each is the one `lakehouse image build` builds from this checkout (tagged
    with a hash of what it carries, loaded into kind); on a real cluster push them and
    name the registry, or name each image outright.
    """

    registry: str | None = None
    """A registry prefix for both images (registry.example.com/data-platform)."""
    pull_policy: Literal["IfNotPresent", "Always", "Never"] = "IfNotPresent"
    """imagePullPolicy of the project's images."""
    job: str | None = None
    """The Spark job image, in full (overrides registry)."""
    dremio_bootstrap: str | None = None
    """The Dremio bootstrap image, in full (overrides registry)."""

    def resolve(self, explicit: str | None, built_ref: str) -> str:
        if explicit:
            return explicit
        if self.registry:
            return f"{self.registry.rstrip('/')}/{built_ref}"
        return built_ref


class TlsConfig(Section):
    """TLS on the ingress hosts (required in prod)."""

    enabled: bool = False
    """Serve every host over HTTPS."""
    secret_name: str | None = None
    """An existing kubernetes.io/tls Secret (in each namespace with a route)."""
    cluster_issuer: str | None = None
    """Or a cert-manager ClusterIssuer that issues one certificate per host."""

    @model_validator(mode="after")
    def _source(self) -> TlsConfig:
        if self.enabled and not (self.secret_name or self.cluster_issuer):
            raise ValueError(
                "ingress.tls.enabled needs a certificate: set ingress.tls.secretName (an "
                "existing TLS Secret) or ingress.tls.clusterIssuer (a cert-manager ClusterIssuer)"
            )
        return self


class Hosts(Section):
    """The host names the ingress serves."""

    dremio: str = "dremio.localhost"
    """Dremio's web UI and REST API."""
    flight: str = "flight.localhost"
    """Arrow Flight (gRPC), where the controller allows."""
    console: str = "minio.localhost"
    """MinIO's console (an object browser)."""
    s3: str = "s3.localhost"
    """MinIO's S3 API, for uploads to landing/."""
    spark_history: str = "spark-history.localhost"
    """The Spark History Server: every application's UI, after it ended."""
    spark_ui: str = "spark-ui.localhost"
    """A running application's live UI, at <application>.<this domain>."""
    prometheus: str = "prometheus.localhost"
    """The stack's own Prometheus (observability.prometheus)."""
    spark_connect: str = "spark.localhost"
    """The Spark Connect server (gRPC): sc://<this host>."""

    @field_validator(
        "dremio", "flight", "console", "s3", "spark_history", "spark_ui", "prometheus",
        "spark_connect",
    )  # fmt: skip
    @classmethod
    def _host(cls, v: str) -> str:
        if not HOST_NAME.match(v):
            raise ValueError(
                f"'{v}' is not a valid host name: use lower-case DNS labels separated by dots, "
                "for example dremio.example.com"
            )
        return v


def _valid_cidrs(cidrs: list[str]) -> list[str]:
    for cidr in cidrs:
        try:
            ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            raise ValueError(
                f"{cidr!r} is not a CIDR; write an address and a prefix length such as "
                "10.0.0.0/8 or 192.168.1.20/32"
            ) from None
    return cidrs


class Allowlists(Section):
    """Source CIDRs allowed on each host (empty: anyone who reaches the ingress). A route
    with a list gets a Traefik ipAllowList middleware; behind a cloud load balancer keep
    the client address (externalTrafficPolicy: Local) or every client looks the same."""

    console: list[str] = []
    """MinIO's console (required in prod when the console has a route)."""
    s3: list[str] = []
    """MinIO's S3 API."""
    dremio: list[str] = []
    """Dremio's UI and REST API."""
    flight: list[str] = []
    """Arrow Flight."""
    spark_history: list[str] = []
    """The Spark History Server (no login of its own: in prod its route exists only with
    this list)."""
    spark_ui: list[str] = []
    """Running applications' UIs (no login: in prod their routes exist only with this list)."""
    prometheus: list[str] = []
    """The stack's own Prometheus (no login: in prod its route exists only with this list)."""
    spark_connect: list[str] = []
    """The Spark Connect server (it asks for its token as well)."""

    @field_validator(
        "console", "s3", "dremio", "flight", "spark_history", "spark_ui", "prometheus",
        "spark_connect",
    )  # fmt: skip
    @classmethod
    def _cidrs(cls, v: list[str]) -> list[str]:
        return _valid_cidrs(v)

    def any(self) -> bool:
        return bool(
            self.console
            or self.s3
            or self.dremio
            or self.flight
            or self.spark_history
            or self.spark_ui
            or self.prometheus
            or self.spark_connect
        )


class IngressConfig(Section):
    """Traefik and the routes to the lakehouse's UIs and APIs."""

    namespace: str = "lakehouse-ingress"
    """Namespace of the ingress controller."""
    class_name: str = "traefik"
    """The IngressClass of the routes."""
    host_ports: bool = False
    """kind: bind 80/443 on the node labelled ingress-ready=true."""
    hosts: Hosts = Hosts()
    """The host names (below)."""
    tls: TlsConfig = TlsConfig()
    """TLS (below)."""
    console_route: bool | None = None
    """Route MinIO's console (an object browser that accepts the root user); unset: on in
    dev, off in prod. In prod it needs allowlists.console."""
    allowlists: Allowlists = Allowlists()
    """Who may use each host (below)."""

    @property
    def scheme(self) -> str:
        return "https" if self.tls.enabled else "http"

    def url(self, host: str) -> str:
        """The URL of one of the stack's hosts, as users reach it through the ingress."""
        return f"{self.scheme}://{host}"

    def flight_endpoint(self) -> str:
        """Arrow Flight through the ingress (gRPC on the HTTP or HTTPS port)."""
        if self.tls.enabled:
            return f"grpc+tls://{self.hosts.flight}:443"
        return f"grpc+tcp://{self.hosts.flight}:80"


class PipelineConfig(Section):
    """The scheduled pipeline and maintenance."""

    schedule: str = "0 * * * *"
    """Cron schedule of the whole pipeline (bronze, silver, gold)."""
    schedule_suspended: bool = True
    """Declare the schedule but do not run it."""
    run_on_deploy: bool = False
    """Run the pipeline once when the stack is deployed."""
    maintenance_schedule: str = "30 3 * * *"
    """Cron schedule of compaction, checkpoints and VACUUM (daily)."""
    retain_hours: float = Field(default=DEFAULT_RETAIN_HOURS, ge=0)
    """The time-travel window VACUUM keeps, in hours (never less than what gold still
    reads)."""
    backup_schedule: str = "0 2 * * *"
    """Cron schedule of the backup into the bucket's backups/ (daily; suspended with the
    pipeline's schedule)."""
    backup_keep: int = Field(default=7, ge=1)
    """How many scheduled backups to keep (older ones, and the files only they hold, are
    deleted)."""

    @field_validator("schedule", "maintenance_schedule", "backup_schedule")
    @classmethod
    def _cron(cls, v: str, info: ValidationInfo) -> str:
        if not (v.startswith("@") or len(v.split()) == 5):
            raise ValueError(
                f"pipeline.{info.field_name} '{v}' is not a 5-field cron expression or @every"
            )
        return v


class NetworkConfig(Section):
    """NetworkPolicies: a default deny in every namespace of the stack, then one allow per
    flow of docs/security.md."""

    policies: bool = True
    """Declare the policies (kind enforces them; so does any cluster with a policy engine)."""
    api_server_cidrs: list[str] = ["0.0.0.0/0"]
    """Where the Kubernetes API server is, for the pods that call it and its webhook calls
    (ports 443 and 6443 only); narrow it to your control plane's addresses."""
    ingress_client_cidrs: list[str] = ["0.0.0.0/0"]
    """Who may reach the ingress controller's ports (the users of the UIs and APIs)."""
    dns_namespace: str = "kube-system"
    """The namespace of the cluster's DNS pods (labelled k8s-app=kube-dns)."""

    @field_validator("api_server_cidrs", "ingress_client_cidrs")
    @classmethod
    def _cidrs(cls, v: list[str], info: ValidationInfo) -> list[str]:
        if not v:
            key = f"network.{to_camel(str(info.field_name))}"
            raise ValueError(f"{key} is empty: give at least one CIDR, e.g. 10.0.0.0/8")
        return _valid_cidrs(v)


class ObservabilityConfig(Section):
    """Seeing into the running lakehouse: UIs, metrics, dashboards (docs/observability.md)."""

    history_server: bool = True
    """Every application writes its event log under spark-events/; a Spark History Server
    serves their UIs after they end."""
    event_log_days: int = Field(default=14, ge=1)
    """Days an event log is kept (the history server's cleaner deletes older ones)."""
    live_ui: bool = True
    """A route to each running application's UI (the operator's UI Service and Ingress)."""
    metrics: bool = True
    """A Prometheus endpoint on every component, and the pipeline's own figures."""
    prometheus: bool | None = None
    """A Prometheus of the stack's own that scrapes them (prometheus.localhost); unset: on
    in dev unless prometheusOperator is on, off in prod."""
    prometheus_operator: bool = False
    """Declare PodMonitor objects for the cluster's Prometheus operator (its CRDs must
    exist: `up` checks before deploying)."""
    prometheus_namespace: str = "monitoring"
    """With prometheusOperator: the namespace of the Prometheus that scrapes the stack (its
    pods labelled app.kubernetes.io/name=prometheus); the NetworkPolicies admit it."""
    dashboards: bool = True
    """Grafana dashboards as ConfigMaps labelled grafana_dashboard: "1"."""
    json_logs: bool = False
    """The jobs log JSON lines (for fluent-bit or Vector) instead of text."""

    @field_validator("prometheus_namespace")
    @classmethod
    def _namespace(cls, v: str) -> str:
        if not DNS_LABEL.match(v) or len(v) > 63:
            raise ValueError(f"'{v}' is not a valid Kubernetes name (lower-case, digits, '-')")
        return v

    @model_validator(mode="after")
    def _one_scraper(self) -> ObservabilityConfig:
        if self.prometheus and self.prometheus_operator:
            raise ValueError(
                "prometheus and prometheusOperator are both on: choose one scraper (the "
                "stack's own Prometheus, or PodMonitors for the cluster's)"
            )
        if (self.prometheus or self.prometheus_operator) and not self.metrics:
            raise ValueError(
                "a scraper is on but metrics is off: turn metrics on, or the scraper off"
            )
        return self


class ConnectConfig(Section):
    """A Spark Connect server for interactive sessions and notebooks (docs/interactive.md).

    It reads the lake's tables and writes only its scratch prefix (scratch/): the pipeline
    stays the lake's one writer. Clients present a token (lakehouse:sparkConnectToken)."""

    enabled: bool | None = None
    """Run it; unset: on in dev, off in prod."""
    server_memory: str = "1g"
    """The server's (the sessions' driver's) memory, in Spark's notation."""
    executor_memory: str = "1g"
    """Each executor's memory."""
    max_executors: int = Field(default=2, ge=0)
    """Executors come and go with the sessions' work (dynamic allocation), up to this many."""

    @field_validator("server_memory", "executor_memory")
    @classmethod
    def _memory(cls, v: str) -> str:
        if not re.fullmatch(r"\d+[kmgt]", v):
            raise ValueError(f"'{v}' is not a memory size in Spark's notation (512m, 2g)")
        return v


class InternalTlsConfig(Section):
    """TLS inside the cluster: MinIO serves its S3 API and its peers over TLS; Spark,
    Dremio, the provisioning Job and Traefik trust the CA (docs/security.md)."""

    enabled: bool | None = None
    """Unset: on in prod, off in dev."""
    issuer: str | None = None
    """A cert-manager issuer that signs MinIO's certificate; unset: the stack's own CA,
    derived from the secret lakehouse:internalTlsSeed (generated when not set)."""
    issuer_kind: Literal["ClusterIssuer", "Issuer"] = "ClusterIssuer"
    """The kind of that issuer (an Issuer must live in lakehouse-storage)."""
    ca_file: str | None = None
    """The issuer's CA certificate (a PEM file): what the consumers trust. Required with
    issuer."""
    validity_days: int = Field(default=180, ge=2)
    """Life of a certificate of the stack's own CA; `up` issues the next one halfway."""

    @model_validator(mode="after")
    def _issuer_needs_its_ca(self) -> InternalTlsConfig:
        if self.issuer and not self.ca_file:
            raise ValueError(
                "internalTls.issuer needs internalTls.caFile: the PEM file of the issuer's CA, "
                "which Spark, Dremio and Traefik must trust"
            )
        return self


class StackConfig(Section):
    """A whole stack: the top-level keys of Pulumi.<stack>.yaml."""

    environment: Literal["dev", "prod"]
    """dev (kind, one laptop) or prod (a real cluster: TLS required, no root drives)."""
    kube_context: str | None = None
    """The kubeconfig context to deploy to; pins the stack to one cluster."""
    bucket: str = DEFAULT_BUCKET
    """The lake's S3 bucket."""
    charts_dir: str | None = None
    """A folder holding the pinned charts, unpacked (else their repositories, or
    $LAKEHOUSE_CHARTS_DIR)."""
    images: ImagesConfig = ImagesConfig()
    """The project's own images."""
    object_store: ObjectStoreConfig = ObjectStoreConfig()
    """MinIO."""
    zookeeper: ZookeeperConfig = ZookeeperConfig()
    """ZooKeeper."""
    dremio: DremioConfig = DremioConfig()
    """Dremio."""
    spark: SparkConfig = SparkConfig()
    """Spark."""
    ingress: IngressConfig = IngressConfig()
    """The ingress."""
    pipeline: PipelineConfig = PipelineConfig()
    """The pipeline's schedules."""
    network: NetworkConfig = NetworkConfig()
    """Network segmentation."""
    internal_tls: InternalTlsConfig = InternalTlsConfig()
    """TLS inside the cluster."""
    observability: ObservabilityConfig = ObservabilityConfig()
    """UIs, metrics and dashboards."""
    connect: ConnectConfig = ConnectConfig()
    """The Spark Connect server."""
    cluster_domain: str = names.DEFAULT_CLUSTER_DOMAIN
    """The cluster's DNS domain (the kubelet's clusterDomain): Service names end in
    .svc.<domain>."""

    @field_validator("bucket")
    @classmethod
    def _bucket(cls, v: str) -> str:
        if not re.match(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", v):
            raise ValueError(
                f"bucket '{v}' is not a valid S3 bucket name (3-63 lower-case characters)"
            )
        return v

    @field_validator("cluster_domain")
    @classmethod
    def _domain(cls, v: str) -> str:
        if not all(DNS_LABEL.match(label) for label in v.split(".")):
            raise ValueError(
                f"clusterDomain {v!r} is not a DNS domain: write lower-case labels separated "
                "by dots, as the kubelet's clusterDomain (cluster.local by default)"
            )
        return v

    @model_validator(mode="after")
    def _production_rules(self) -> StackConfig:
        if self.environment == "prod":
            if self.object_store.allow_root_drives:
                raise ValueError("objectStore.allowRootDrives is for kind only; remove it in prod")
            if not self.ingress.tls.enabled:
                raise ValueError("ingress.tls.enabled must be true in prod: every host gets TLS")
            if self.ingress.console_route and not self.ingress.allowlists.console:
                raise ValueError(
                    "ingress.consoleRoute is on in prod without ingress.allowlists.console: "
                    "MinIO's console accepts the root user; list the CIDRs allowed to reach it "
                    "(or leave consoleRoute unset: no route)"
                )
        return self

    @property
    def own_prometheus(self) -> bool:
        """Whether the stack runs its own Prometheus: as set, else in dev unless the
        cluster's Prometheus operator scrapes the stack."""
        obs = self.observability
        wanted = obs.prometheus
        if wanted is None:
            wanted = self.environment == "dev" and not obs.prometheus_operator
        return wanted and obs.metrics

    @property
    def monitors_on(self) -> bool:
        """Whether the stack declares PodMonitors for the cluster's Prometheus operator."""
        return self.observability.prometheus_operator and self.observability.metrics

    @property
    def role_namespaces(self) -> dict[str, str]:
        """Where each role of ``lakehouse_core.network`` has its pods, in this stack."""
        return {
            flows.STORAGE: names.STORAGE_NAMESPACE,
            flows.QUERY: names.DREMIO_NAMESPACE,
            flows.JOBS: self.spark.jobs_namespace,
            flows.OPERATOR: self.spark.operator_namespace,
            flows.INGRESS: self.ingress.namespace,
            flows.MONITORING: names.MONITORING_NAMESPACE,
            flows.SCRAPER: self.scraper_namespace,
            flows.DNS: self.network.dns_namespace,
        }

    @property
    def scraper_namespace(self) -> str:
        """Where the Prometheus that scrapes the stack runs."""
        if self.own_prometheus:
            return names.MONITORING_NAMESPACE
        return self.observability.prometheus_namespace

    @property
    def internal_tls_on(self) -> bool:
        """Whether MinIO serves TLS inside the cluster: as set, else only in prod."""
        if self.internal_tls.enabled is None:
            return self.environment == "prod"
        return self.internal_tls.enabled

    @property
    def addresses(self) -> names.ClusterAddresses:
        """How the parts reach each other inside this stack's cluster."""
        return names.ClusterAddresses(domain=self.cluster_domain, minio_tls=self.internal_tls_on)

    def ui_routed(self, allowlist: list[str]) -> bool:
        """Whether a UI without a login of its own (the history server, live Spark UIs,
        Prometheus) gets a route: always in dev; in prod only behind its allowlist (else
        `kubectl port-forward` reaches it, docs/observability.md)."""
        return self.environment == "dev" or bool(allowlist)

    @property
    def connect_on(self) -> bool:
        """Whether the stack runs a Spark Connect server: as set, else only in dev."""
        if self.connect.enabled is None:
            return self.environment == "dev"
        return self.connect.enabled

    @property
    def connect_routed(self) -> bool:
        """Its route: in dev always; in prod only behind an allowlist (and TLS)."""
        return self.connect_on and self.ui_routed(self.ingress.allowlists.spark_connect)

    def connect_url(self) -> str:
        """The Spark Connect URL a client gives (the token travels apart from it)."""
        ingress = self.ingress
        if ingress.tls.enabled:
            return f"sc://{ingress.hosts.spark_connect}:443/;use_ssl=true"
        return f"sc://{ingress.hosts.spark_connect}:80"

    @property
    def live_ui_routed(self) -> bool:
        """Whether each running application's UI has a route (the operator's Ingress)."""
        return self.observability.live_ui and self.ui_routed(self.ingress.allowlists.spark_ui)

    def live_ui_url(self, application: str) -> str | None:
        """Where a running application's UI is, if the stack routes it."""
        if not self.live_ui_routed:
            return None
        return self.ingress.url(f"{application}.{self.ingress.hosts.spark_ui}")

    @property
    def console_exposed(self) -> bool:
        """Whether MinIO's console gets a route: as set, else only in dev."""
        if self.ingress.console_route is None:
            return self.environment == "dev"
        return self.ingress.console_route


# Config keys in Pulumi.<stack>.yaml (without the "lakehouse:" prefix) -> StackConfig field.
SECTIONS = {
    "environment": "environment",
    "kubeContext": "kube_context",
    "bucket": "bucket",
    "chartsDir": "charts_dir",
    "images": "images",
    "objectStore": "object_store",
    "zookeeper": "zookeeper",
    "dremio": "dremio",
    "spark": "spark",
    "ingress": "ingress",
    "pipeline": "pipeline",
    "network": "network",
    "clusterDomain": "cluster_domain",
    "internalTls": "internal_tls",
    "observability": "observability",
    "connect": "connect",
}
# Config namespaces of the providers the program uses: passed to them, not read here.
PROVIDER_NAMESPACES = ("pulumi", "kubernetes", "random")

# Where a key sits in the stack file, for messages: ("lakehouse:objectStore", "replicas")
# -> "Pulumi.dev.yaml:14: ". Without a file (Pulumi's own config), nothing.
Locate = Callable[[tuple[str | int, ...]], str]
# A section's own rules start their message with the key they judge (objectStore.replicas).
KEY_IN_MESSAGE = re.compile(r"^([a-z][A-Za-z]*(?:\.[a-z][A-Za-z]*)+)\b")


def _nowhere(_path: tuple[str | int, ...]) -> str:
    return ""


def parse_config(config: Mapping[str, Any], locate: Locate = _nowhere) -> StackConfig:
    """The one reader of a stack's settings: a ``config:`` mapping as Pulumi holds it.

    Keys are ``<namespace>:<name>``. Every ``lakehouse:`` key must be a known section or
    one of the secrets (read by the program's credentials, never here); other namespaces
    must be a provider's. Object values may arrive JSON-encoded (Pulumi passes them to
    the program that way) or as mappings (the stack file). ``lakehouse up``, ``render``,
    ``status`` and ``pulumi up`` all come through here, so they accept and refuse alike.
    """
    raw: dict[str, Any] = {}
    unknown: list[str] = []
    for key, value in config.items():
        namespace, sep, name = key.partition(":")
        if not sep or (namespace != NAMESPACE and namespace not in PROVIDER_NAMESPACES):
            unknown.append(
                f"{locate((key,))}{key}: unknown config key (stack settings are written "
                f"{NAMESPACE}:<key>; providers' as kubernetes:<key>)"
            )
        elif namespace != NAMESPACE or name in SECRET_CONFIG_KEYS:
            continue
        elif name not in SECTIONS:
            unknown.append(
                f"{locate((key,))}{key}: unknown config key; known keys are "
                f"{', '.join(f'{NAMESPACE}:{k}' for k in SECTIONS)}"
            )
        else:
            raw[name] = _decoded(name, value)
    if unknown:
        raise ConfigError(_problems(unknown))
    return parse(raw, locate)


def _problems(lines: list[str]) -> str:
    """One problem is one line; several are listed under one heading."""
    if len(lines) == 1:
        return lines[0]
    return f"invalid stack configuration ({len(lines)} problems):\n  " + "\n  ".join(lines)


def _decoded(name: str, value: Any) -> Any:
    """An object section that Pulumi passed as JSON text, as the mapping it was written as."""
    annotation = StackConfig.model_fields[SECTIONS[name]].annotation
    is_section = isinstance(annotation, type) and issubclass(annotation, Section)
    if is_section and isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value  # pydantic says it is not a mapping, naming the key
    return value


def parse(raw: Mapping[str, Any], locate: Locate = _nowhere) -> StackConfig:
    """Validate config values (section name -> value); ConfigError names each bad key."""
    unknown = sorted(set(raw) - set(SECTIONS))
    if unknown:
        raise ConfigError(
            f"unknown config key(s) {', '.join(f'{NAMESPACE}:{k}' for k in unknown)}; "
            f"known keys are {', '.join(f'{NAMESPACE}:{k}' for k in SECTIONS)}"
        )
    if "environment" not in raw:
        raise ConfigError(f"{NAMESPACE}:environment is required: set it to dev or prod")
    try:
        return StackConfig.model_validate({SECTIONS[k]: v for k, v in raw.items()})
    except ValidationError as err:
        raise ConfigError(_explain(err, locate)) from None


def _explain(err: ValidationError, locate: Locate) -> str:
    fields = {v: k for k, v in SECTIONS.items()}
    lines = []
    for e in err.errors():
        loc = list(e["loc"])
        if loc and isinstance(loc[0], str):
            loc[0] = fields.get(loc[0], loc[0])
        path = [to_camel(p) if isinstance(p, str) else p for p in loc]
        message = str(e["msg"]).removeprefix("Value error, ")
        named = KEY_IN_MESSAGE.match(message)
        if named and (not path or named.group(1).split(".")[0] == path[0]):
            # A rule of a section (or of the stack) names the key it is about: point there.
            if not path:
                path = [named.group(1).split(".")[0]]
            file_line_path = list[str | int](named.group(1).split("."))
        else:
            file_line_path = list(path)
        where = ".".join(str(p) for p in path)
        key = f"{NAMESPACE}:{where}" if where else NAMESPACE
        if e["type"] == "extra_forbidden":
            message = f"unknown key (check its spelling against {CONFIGURATION_PAGE})"
        path = file_line_path
        file_path: tuple[str | int, ...] = (
            (f"{NAMESPACE}:{path[0]}", *path[1:]) if path else (NAMESPACE,)
        )
        lines.append(f"{locate(file_path)}{key}: {message}")
    return _problems(lines)
