"""The version matrix: the only place that names a version of anything the lakehouse runs.

Spark, Scala, Delta, Hadoop and the AWS SDK must agree with each other (a hadoop-aws jar
that differs from the hadoop-client inside Spark fails at runtime with NoSuchMethodError),
and the container images must agree with the jars baked into the job image. Keeping all of
them here lets one test catch any drift: the local Spark session, the job Dockerfile's
build arguments, the SparkApplication manifests and the Pulumi stacks all read this module.

Why Spark 4.0: the Kubeflow spark-operator 2.5.x ships spark-submit 4.0.4, the official
``apache/spark`` image exists for 4.0.3 with Scala 2.13, Java 17 and Python 3, the pyspark
4.0.3 wheel bundles hadoop-client 3.4.1, and Delta 4.0.1 is the Delta release built for
Spark 4.0. Spark 4.1/4.2 would need a newer operator image and Delta's new
``delta-spark_4.x`` artifacts with nothing gained for this pipeline.

This module must stay importable on Python 3.10 with no third-party packages: the job
image (Ubuntu's python3) imports it.
"""

from __future__ import annotations

from dataclasses import dataclass

MAVEN_CENTRAL = "https://repo1.maven.org/maven2"


@dataclass(frozen=True)
class MavenJar:
    """One jar the Spark jobs need beyond the Spark distribution, pinned by checksum."""

    group: str
    artifact: str
    version: str
    sha256: str

    @property
    def coordinate(self) -> str:
        return f"{self.group}:{self.artifact}:{self.version}"

    @property
    def filename(self) -> str:
        return f"{self.artifact}-{self.version}.jar"

    def url(self, repository: str = MAVEN_CENTRAL) -> str:
        group_path = self.group.replace(".", "/")
        return f"{repository}/{group_path}/{self.artifact}/{self.version}/{self.filename}"


@dataclass(frozen=True)
class Image:
    """A container image pinned to a tag (never ``latest``)."""

    repository: str
    tag: str

    @property
    def ref(self) -> str:
        return f"{self.repository}:{self.tag}"


@dataclass(frozen=True)
class HelmChart:
    name: str
    version: str
    repository: str


SPARK_VERSION = "4.0.3"
SCALA_BINARY_VERSION = "2.13"
JAVA_VERSION = 17
DELTA_VERSION = "4.0.1"
# The hadoop-client that the Spark 4.0.3 distribution (and the pyspark wheel) carries.
HADOOP_VERSION = "3.4.1"
# The AWS SDK v2 bundle that hadoop-aws 3.4.1 was built and tested against.
AWS_SDK_V2_VERSION = "2.24.6"

DELTA_SPARK = MavenJar(
    "io.delta",
    f"delta-spark_{SCALA_BINARY_VERSION}",
    DELTA_VERSION,
    "a1e76860b19fe1e6b205a4ea7a9099a2f9575d39bb71d49b3e679b299d0efb91",
)
DELTA_STORAGE = MavenJar(
    "io.delta",
    "delta-storage",
    DELTA_VERSION,
    "ecc42c5aaa51c423312d9e4e48aa4a12b34740bf2c37de0e8f279277ec3d12e4",
)
HADOOP_AWS = MavenJar(
    "org.apache.hadoop",
    "hadoop-aws",
    HADOOP_VERSION,
    "01334a07e179cae2b7e251f24857f11e3759108c9d6a79dcbe362a4295227da2",
)
AWS_SDK_BUNDLE = MavenJar(
    "software.amazon.awssdk",
    "bundle",
    AWS_SDK_V2_VERSION,
    "890bf9f2a80488f7a8aa8277d64d13a9ea3a3cdff8607ef3b63a878d8b467b41",
)

# Everything the jobs need on the classpath beyond Spark itself: the job image bakes these
# in and local sessions put the same files on their classpath. (delta-spark's other
# dependency, antlr4-runtime, is part of Spark 4.0; hadoop-aws's optional wildfly-openssl
# is not needed, S3A falls back to the JDK's TLS.)
SPARK_EXTRA_JARS: tuple[MavenJar, ...] = (DELTA_SPARK, DELTA_STORAGE, HADOOP_AWS, AWS_SDK_BUNDLE)

SPARK_BASE_IMAGE = Image(
    "apache/spark", f"{SPARK_VERSION}-scala{SCALA_BINARY_VERSION}-java{JAVA_VERSION}-python3-ubuntu"
)
# The job image built from spark-apps/Dockerfile; its tag adds a hash of the job code
# (see lakehouse_core.images). This is the repository name used in kind and in manifests.
JOB_IMAGE_REPOSITORY = "lakehouse/spark-jobs"
# The image of the Job that wires Dremio to the lake (core + Dremio client), same base.
DREMIO_BOOTSTRAP_IMAGE_REPOSITORY = "lakehouse/dremio-bootstrap"

# MinIO's community edition is frozen: these are the last published images. The last
# source tag (which fixes CVE-2025-62506) was never published as an image; the stacks
# keep the image configurable so a rebuild or a fork can be dropped in.
MINIO_IMAGE = Image("quay.io/minio/minio", "RELEASE.2025-09-07T16-13-09Z")
MC_IMAGE = Image("quay.io/minio/mc", "RELEASE.2025-08-13T08-35-41Z")
# The MinIO server that `lakehouse demo` and the tests run as a local process, built once
# with `go install` (this pseudo-version is the final commit of the archived repository).
MINIO_GO_MODULE = "github.com/minio/minio"
MINIO_GO_VERSION = "v0.0.0-20260212201848-7aac2a2c5b7c"

# Dremio OSS 25.2.0 is the newest release whose source is public (the API client and the
# objects were checked against it). 26.0.x images exist as OSS; 26.1+ are Enterprise.
DREMIO_IMAGE = Image("dremio/dremio-oss", "25.2.0")
ZOOKEEPER_IMAGE = Image("zookeeper", "3.8.4-jre-17")
# A tiny image for waiting on TCP ports in init containers:
BUSYBOX_IMAGE = Image("busybox", "1.37.0")

# Observability: the stack's own Prometheus (dev; prod scrapes with the cluster's) and the
# Pushgateway the drivers push the pipeline's figures to (they end before a scrape).
PROMETHEUS_IMAGE = Image("prom/prometheus", "v3.16.0")
PUSHGATEWAY_IMAGE = Image("prom/pushgateway", "v1.11.5")

SPARK_OPERATOR_CHART = HelmChart(
    "spark-operator", "2.5.2", "https://kubeflow.github.io/spark-operator"
)
TRAEFIK_CHART = HelmChart("traefik", "41.3.0", "https://traefik.github.io/charts")

# kind's default node image for v0.32.0; the manifests are validated against it and
# against the oldest Kubernetes version the stacks support.
KIND_NODE_IMAGE = Image("kindest/node", "v1.36.1")
KUBERNETES_VERSIONS_SUPPORTED = ("1.30", "1.36")

# --- the local Kubernetes test bed (`lakehouse-bed`, `make cluster-test`) ---------
# Everything below is built here from the Go module proxy and Debian's packages; none of
# it is deployed by the stacks. Versions are the pins the bed was proven with.
KUBERNETES_VERSION = "v1.36.3"
ETCD_VERSION = "v3.6.16"
COREDNS_VERSION = "v1.14.7"
LOCAL_PATH_PROVISIONER_VERSION = "v0.0.30"
CRI_TOOLS_VERSION = "v1.34.0"  # v1.35.0 is not served by the module proxy
# The NetworkPolicy engine k3s embeds (iptables + ipset): kind's own, kube-network-policies,
# needs the kernel's nftables `queue`, which the test machine's kernel lacks. Only its
# firewall runs (GHSA-phqm-jgc3-qf8g concerns the service proxy, which stays off).
KUBE_ROUTER_VERSION = "v2.1.0"
# The scanners of `make scan` (kube-score from its Go module, checkov from PyPI).
KUBE_SCORE_VERSION = "v1.20.0"
CHECKOV_VERSION = "3.3.30"
PULUMI_CLI_VERSION = "v3.274.1"
# The only version of the provider module the proxy serves (a commit after v4.24.0).
PULUMI_KUBERNETES_PROVIDER_MODULE_VERSION = "v4.0.0-20260115033456-f47bc2d6f199"
PULUMI_KUBERNETES_PROVIDER_SDK_VERSION = "v4.24.0"
PULUMI_KUBERNETES_PROVIDER_VERSION = "4.25.0-dev.20260115"
# The Go modules behind the images the stacks name (the releases those tags were cut from).
MINIO_IMAGE_GO_VERSION = "v0.0.0-20250907161309-07c3a429bfed"  # RELEASE.2025-09-07T16-13-09Z
MC_GO_MODULE = "github.com/minio/mc"
MC_IMAGE_GO_VERSION = "v0.0.0-20250813083541-7394ce0dd2a8"  # RELEASE.2025-08-13T08-35-41Z
SPARK_OPERATOR_GO_VERSION = "v2.5.2"  # the spark-operator chart's appVersion
TRAEFIK_GO_VERSION = "v3.7.11"  # the traefik chart's appVersion
PROMETHEUS_GO_VERSION = "v0.316.0"  # Prometheus 3.16.0 (its Go module's numbering)
# The monitoring.coreos.com CRDs the stack's PodMonitors are checked against (its module's
# example/prometheus-operator-crd/).
PROMETHEUS_OPERATOR_GO_VERSION = "v0.85.0"
PUSHGATEWAY_GO_VERSION = "v1.11.5"
