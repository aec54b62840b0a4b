"""Names that several systems share: namespaces, Secrets, Services and ports, users, uids.

The Pulumi components declare these objects, the jobs and the CLI find them, the Dremio
bootstrap connects to them; each name is spelled here once. Names that a stack may change
(the jobs and operator namespaces, host names) live in the stack configuration instead.

Pure Python, importable in the job image.
"""

from __future__ import annotations

from dataclasses import dataclass

PROJECT = "lakehouse"  # the Pulumi project; its config keys are written lakehouse:<key>
PART_OF = PROJECT  # the app.kubernetes.io/part-of label of every object

# --- object storage (MinIO) ---------------------------------------------------------------
STORAGE_NAMESPACE = "lakehouse-storage"
MINIO = "minio"  # StatefulSet, API Service, pod name prefix
MINIO_HEADLESS = "minio-hl"
MINIO_CONSOLE_SERVICE = "minio-console"
MINIO_API_PORT, MINIO_CONSOLE_PORT = 9000, 9001
MINIO_ROOT_SECRET = "minio-root"  # noqa: S105 (a Secret's name)
MINIO_USERS_SECRET = "minio-users"  # noqa: S105 (a Secret's name)
MINIO_PROVISION_JOB = "minio-provision"
# One MinIO user per consumer, least privilege (policies of the same names).
MINIO_ROOT_USER = "lakehouse-root"
SPARK_S3_USER = "lakehouse-spark"
DREMIO_S3_USER = "lakehouse-dremio"
MINIO_UID = 1000

# --- query engine (Dremio, ZooKeeper) ------------------------------------------------------
DREMIO_NAMESPACE = "lakehouse-dremio"
DREMIO = "dremio"
DREMIO_CLIENT_SERVICE = "dremio-client"
DREMIO_CLUSTER_SERVICE = "dremio-cluster"
DREMIO_FLIGHT_SERVICE = "dremio-flight"
DREMIO_COORDINATOR = "dremio-coordinator"
DREMIO_EXECUTOR = "dremio-executor"
DREMIO_WEB_PORT, DREMIO_CLIENT_PORT, DREMIO_FLIGHT_PORT = 9047, 31010, 32010
DREMIO_FABRIC_PORT, DREMIO_CONDUIT_PORT = 45678, 45679
DREMIO_ADMIN_SECRET = "dremio-admin"  # noqa: S105 (a Secret's name)
DREMIO_LAKE_SECRET = "dremio-lake"  # noqa: S105 (a Secret's name)
DREMIO_CORE_SITE_SECRET = "dremio-core-site"  # noqa: S105 (a Secret's name)
DREMIO_BOOTSTRAP_JOB = "dremio-bootstrap"
DREMIO_UID = 999
ZOOKEEPER = "zk"  # StatefulSet and client Service
ZOOKEEPER_HEADLESS = "zk-hs"
ZOOKEEPER_CLIENT_PORT = 2181
ZOOKEEPER_UID = 1000
ZOOKEEPER_METRICS_PORT = 7000  # its Prometheus metrics provider

# --- Spark -----------------------------------------------------------------------------------
SPARK_UID = 185  # the apache/spark image's user
# The Spark History Server: reads the applications' event logs as a read-only MinIO user.
SPARK_HISTORY = "spark-history"  # Deployment, Service
SPARK_HISTORY_PORT = 18080
HISTORY_S3_USER = "lakehouse-history"
HISTORY_S3_SECRET = "lakehouse-history-s3"  # noqa: S105 (a Secret's name)
# MinIO's metrics need a bearer token signed with a user's key: a user for that alone.
METRICS_S3_USER = "lakehouse-metrics"
MINIO_METRICS_TOKEN_SECRET = "minio-metrics-token"  # noqa: S105 (a Secret's name)
SPARK_UI_PORT = 4040  # a running driver's web UI (and its Prometheus metrics)
# The Spark Connect server: interactive sessions (notebooks) against the lake.
SPARK_CONNECT = "lakehouse-connect"  # Deployment, its pods' app name
SPARK_CONNECT_SERVICE = "lakehouse-connect-grpc"  # gRPC (h2c) for the ingress
SPARK_CONNECT_PORT = 15002
CONNECT_S3_USER = "lakehouse-connect"
CONNECT_S3_SECRET = "lakehouse-connect-s3"  # noqa: S105 (a Secret's name)
CONNECT_TOKEN_SECRET = "lakehouse-connect-token"  # noqa: S105 (a Secret's name)
CONNECT_TOKEN_KEY = "token"  # noqa: S105 (the key in that Secret)
# Executors never call the API: their own service account, with no token and no role.
SPARK_EXECUTOR_SERVICE_ACCOUNT = "lakehouse-spark-executor"
SPARK_S3_SECRET = "lakehouse-spark-s3"  # noqa: S105 (a Secret's name, in the jobs namespace)
# The keys of that Secret are the environment variables the AWS SDK reads.
ACCESS_KEY_ENV = "AWS_ACCESS_KEY_ID"
SECRET_KEY_ENV = "AWS_SECRET_ACCESS_KEY"  # noqa: S105 (a variable's name)
# The Lease a pipeline run holds in the jobs namespace: one writer of the lake at a time.
PIPELINE_LEASE = "lakehouse-pipeline"
# The environment variable that tells a driver which run holds that Lease for it.
LEASE_HOLDER_ENV = "LAKEHOUSE_LEASE_HOLDER"
# A job prints each batch result once as a JSON line after this prefix; the CLI reads them
# from the driver's log to show the same summary for a cluster run as for a local one.
JOB_RESULT_PREFIX = "LAKEHOUSE-RESULT "
# The scheduled backup's summary, one JSON line in its driver's log.
BACKUP_RESULT_PREFIX = "LAKEHOUSE-BACKUP "
# Where a driver pushes the pipeline's figures (a Prometheus Pushgateway), and whether it
# logs JSON lines.
PUSHGATEWAY_ENV = "LAKEHOUSE_PUSHGATEWAY"
LOG_FORMAT_ENV = "LAKEHOUSE_LOG_FORMAT"
MONITORING_NAMESPACE = "lakehouse-monitoring"
PUSHGATEWAY = "pushgateway"  # Deployment and Service, in the monitoring namespace
PUSHGATEWAY_PORT = 9091
PROMETHEUS = "prometheus"
PROMETHEUS_PORT = 9090
# Dremio's metrics endpoint (its internal web-admin server, bound to all addresses here).
DREMIO_METRICS_PORT = 9010

# --- secrets a stack may set (`pulumi config set --secret lakehouse:<key>`) ----------------
SECRET_CONFIG_KEYS = (
    "minioRootPassword",
    "sparkS3SecretKey",
    "dremioS3SecretKey",
    "dremioAdminPassword",
    "historyS3SecretKey",  # the Spark History Server's MinIO user (only on spark-events/)
    "metricsS3SecretKey",  # the MinIO user whose token reads MinIO's Prometheus metrics
    "connectS3SecretKey",  # the Spark Connect server's MinIO user (reads the lake)
    "sparkConnectToken",  # the bearer token a Spark Connect client presents
    "internalTlsSeed",  # the stack's own CA for TLS inside the cluster is derived from it
)
# Where the consumers of in-cluster TLS find what they trust (a ConfigMap with the CA's
# PEM, ca.crt, and a Secret with the Java truststore, truststore.p12, in each namespace).
CA_BUNDLE = "lakehouse-ca"
TRUSTSTORE = "lakehouse-truststore"
TRUSTSTORE_DIR = "/etc/lakehouse/truststore"
# JVM flags that make that truststore the JVM's default (certificates only: no password).
JAVA_TRUST_OPTIONS = (
    f"-Djavax.net.ssl.trustStore={TRUSTSTORE_DIR}/truststore.p12 "
    "-Djavax.net.ssl.trustStoreType=PKCS12"
)
CA_DIR = "/etc/lakehouse/ca"
# Traefik's servers transport to MinIO over TLS: it checks MinIO's certificate for the
# Service's name (Traefik dials pod IPs, which no certificate names) against the stack's CA.
MINIO_SERVERS_TRANSPORT = "minio-tls"


DEFAULT_CLUSTER_DOMAIN = "cluster.local"


@dataclass(frozen=True)
class ClusterAddresses:
    """How the lakehouse's parts reach each other inside the cluster: Service names under
    the cluster's DNS domain (not every cluster is ``cluster.local``), and whether MinIO
    serves TLS there."""

    domain: str = DEFAULT_CLUSTER_DOMAIN
    minio_tls: bool = False

    def service(self, service: str, namespace: str) -> str:
        """The in-cluster DNS name of a Service."""
        return f"{service}.{namespace}.svc.{self.domain}"

    def minio_host(self) -> str:
        """host:port of MinIO's S3 API (no scheme, as Dremio wants it)."""
        return f"{self.service(MINIO, STORAGE_NAMESPACE)}:{MINIO_API_PORT}"

    def minio_endpoint(self) -> str:
        """MinIO's S3 API, as Spark and the provisioning Job reach it."""
        return f"{'https' if self.minio_tls else 'http'}://{self.minio_host()}"

    def dremio_client_url(self) -> str:
        """Dremio's REST API (the bootstrap Job talks to it)."""
        host = self.service(DREMIO_CLIENT_SERVICE, DREMIO_NAMESPACE)
        return f"http://{host}:{DREMIO_WEB_PORT}"

    def zookeeper_connect(self, replicas: int) -> str:
        """ZooKeeper's connect string: every member by its stable DNS name."""
        headless = self.service(ZOOKEEPER_HEADLESS, DREMIO_NAMESPACE)
        return ",".join(
            f"{ZOOKEEPER}-{i}.{headless}:{ZOOKEEPER_CLIENT_PORT}" for i in range(replicas)
        )


def pushgateway_url(addresses: ClusterAddresses) -> str:
    return f"http://{addresses.service(PUSHGATEWAY, MONITORING_NAMESPACE)}:{PUSHGATEWAY_PORT}"


# The addresses of a stack with the defaults (the kubectl manifests are for kind).
DEFAULT_ADDRESSES = ClusterAddresses()
