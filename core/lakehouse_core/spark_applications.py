"""The one definition of the pipeline's SparkApplications, as plain objects.

The Pulumi program declares these objects, ``lakehouse pipeline run`` submits them, and
``lakehouse manifests --write`` writes them to spark-apps/manifests/ for kubectl users; a
test keeps the checked-in YAML equal to what this module generates.

S3 credentials reach the driver and executors as environment variables from a Secret
(applied by the operator's webhook), never as literals in sparkConf or hadoopConf.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from lakehouse_core import names, versions
from lakehouse_core.catalog import (
    ALL_LAYERS,
    BACKUP_STEP,
    CATALOG,
    DEFAULT_RETAIN_HOURS,
    LAYER_CHOICES,
    MAINTENANCE_STEP,
    RESTORE_STEP,
    SPARK_EVENTS_PREFIX,
    Layer,
)
from lakehouse_core.images import MAIN_APPLICATION_FILE, job_image_ref
from lakehouse_core.scrape import SPARK_METRICS_NAMESPACE
from lakehouse_core.spark_conf import JOB_JVM_OPTIONS
from lakehouse_core.stack_config import StackConfig

# How long S3A keeps trying when the object store will not take a request. Hadoop's
# defaults nest two retry loops (the SDK's 5 attempts inside S3A's 20 throttling retries
# with a growing interval), and MinIO answers every write that lost its quorum with 503
# SlowDownWrite, so a run kept retrying for over 15 minutes without a word. These bounds
# still ride out a restarting server or a burst of throttling (minutes), then fail the
# run with a clear storage error; re-running resumes.
S3A_RETRY_BOUNDS: dict[str, str] = {
    "fs.s3a.attempts.maximum": "2",
    "fs.s3a.retry.limit": "5",
    "fs.s3a.retry.interval": "1s",
    "fs.s3a.retry.throttle.limit": "4",
    "fs.s3a.retry.throttle.interval": "1s",
    "fs.s3a.connection.establish.timeout": "10s",
}


@dataclass(frozen=True)
class JobSettings:
    """What differs between clusters; the defaults are the dev stack on kind."""

    namespace: str = "lakehouse-jobs"
    image: str = field(default_factory=job_image_ref)
    image_pull_policy: str = "IfNotPresent"
    bucket: str = CATALOG.bucket
    s3_endpoint: str = field(default_factory=names.DEFAULT_ADDRESSES.minio_endpoint)
    s3_region: str = "us-east-1"
    credentials_secret: str = names.SPARK_S3_SECRET
    service_account: str = "lakehouse-spark"
    executor_service_account: str = names.SPARK_EXECUTOR_SERVICE_ACCOUNT
    # TLS inside the cluster: the JVMs trust the stack's CA (a truststore in the namespace).
    trust_cluster_ca: bool = False
    # Every application writes its event log for the history server (under the bucket's
    # spark-events/), and serves Prometheus metrics on its UI port while it runs.
    event_log: bool = True
    metrics: bool = True
    # Where the driver pushes the pipeline's own figures (a Prometheus Pushgateway), if any:
    # the dev stack's for the kubectl manifests (a driver that cannot reach it only warns).
    pushgateway: str | None = names.pushgateway_url(names.DEFAULT_ADDRESSES)
    json_logs: bool = False
    driver_cores: int = 1
    # The pods' CPU request, when less than their cores. The kubectl manifests are for kind
    # (the dev stack): a quarter core each, so the pipeline fits a laptop's node.
    core_request: str | None = "250m"
    driver_memory: str = "1g"
    executor_instances: int = 1
    executor_cores: int = 1
    executor_memory: str = "1g"
    shuffle_partitions: int = 8
    schedule: str = "0 * * * *"
    schedule_suspended: bool = True
    maintenance_schedule: str = "30 3 * * *"
    retain_hours: float = DEFAULT_RETAIN_HOURS
    backup_schedule: str = "0 2 * * *"
    backup_keep: int = 7
    # The run that holds the pipeline's Lease on this application's behalf (the CLI's).
    lease_holder: str | None = None
    ttl_seconds: int | None = 86_400
    managed_by: str = "kubectl"

    def with_(self, **changes: Any) -> JobSettings:
        return replace(self, **changes)


def job_settings(stack: StackConfig, image: str, managed_by: str = "pulumi") -> JobSettings:
    """The SparkApplication settings a stack implies (the program and the CLI both use them)."""
    spark = stack.spark
    return JobSettings(
        s3_endpoint=stack.addresses.minio_endpoint(),
        trust_cluster_ca=stack.internal_tls_on,
        event_log=stack.observability.history_server,
        metrics=stack.observability.metrics,
        pushgateway=(
            names.pushgateway_url(stack.addresses) if stack.observability.metrics else None
        ),
        json_logs=stack.observability.json_logs,
        namespace=spark.jobs_namespace,
        image=image,
        image_pull_policy=stack.images.pull_policy,
        bucket=stack.bucket,
        service_account=spark.service_account,
        driver_memory=spark.driver_memory,
        executor_instances=spark.executor_instances,
        executor_memory=spark.executor_memory,
        shuffle_partitions=spark.shuffle_partitions,
        core_request=spark.core_request,
        schedule=stack.pipeline.schedule,
        schedule_suspended=stack.pipeline.schedule_suspended,
        maintenance_schedule=stack.pipeline.maintenance_schedule,
        retain_hours=stack.pipeline.retain_hours,
        backup_schedule=stack.pipeline.backup_schedule,
        backup_keep=stack.pipeline.backup_keep,
        managed_by=managed_by,
    )


TMP_VOLUME = "tmp"
TRUST_VOLUME = "lakehouse-truststore"


def app_name(layer: str) -> str:
    return "lakehouse-pipeline" if layer == ALL_LAYERS else f"lakehouse-{layer}"


def labels(name: str, settings: JobSettings) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/part-of": names.PART_OF,
        "app.kubernetes.io/component": "spark-job",
        "app.kubernetes.io/version": versions.SPARK_VERSION,
        "app.kubernetes.io/managed-by": settings.managed_by,
    }


def _container_security() -> dict[str, Any]:
    return {
        "runAsUser": names.SPARK_UID,
        "runAsGroup": names.SPARK_UID,
        "runAsNonRoot": True,
        # Spark writes its scratch files to the local-dir volume it mounts itself, and
        # Python and the JVM to /tmp (an emptyDir below): nothing to the image's layers.
        "readOnlyRootFilesystem": True,
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def _pod_security() -> dict[str, Any]:
    return {
        "runAsNonRoot": True,
        "fsGroup": names.SPARK_UID,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def _env(settings: JobSettings) -> list[dict[str, Any]]:
    def from_secret(name: str) -> dict[str, Any]:
        return {
            "name": name,
            "valueFrom": {"secretKeyRef": {"name": settings.credentials_secret, "key": name}},
        }

    env = [
        from_secret(names.ACCESS_KEY_ENV),
        from_secret(names.SECRET_KEY_ENV),
        {"name": "AWS_REGION", "value": settings.s3_region},
    ]
    if settings.lease_holder:
        env.append({"name": names.LEASE_HOLDER_ENV, "value": settings.lease_holder})
    if settings.pushgateway:
        env.append({"name": names.PUSHGATEWAY_ENV, "value": settings.pushgateway})
    if settings.json_logs:
        env.append({"name": names.LOG_FORMAT_ENV, "value": "json"})
    return env


def s3a_conf(settings: JobSettings) -> dict[str, str]:
    """How every Spark of the stack reaches MinIO (Hadoop's keys, without the ``spark.hadoop.``
    prefix): path-style, TLS when the endpoint is https, keys from the environment."""
    return {
        "fs.s3a.endpoint": settings.s3_endpoint,
        "fs.s3a.endpoint.region": settings.s3_region,
        "fs.s3a.path.style.access": "true",
        "fs.s3a.connection.ssl.enabled": str(settings.s3_endpoint.startswith("https://")).lower(),
        "fs.s3a.aws.credentials.provider": (
            "software.amazon.awssdk.auth.credentials.EnvironmentVariableCredentialsProvider"
        ),
        **S3A_RETRY_BOUNDS,
    }


def observability_conf(settings: JobSettings) -> dict[str, str]:
    """Spark's own settings for the event log (read by the history server) and for its
    Prometheus endpoints on the UI port (``/metrics/prometheus`` for the driver's metrics,
    ``/metrics/executors/prometheus`` for every executor's)."""
    conf: dict[str, str] = {}
    if settings.event_log:
        conf |= {
            "spark.eventLog.enabled": "true",
            "spark.eventLog.dir": f"s3a://{settings.bucket}/{SPARK_EVENTS_PREFIX}/",
            "spark.eventLog.rolling.enabled": "true",
            "spark.eventLog.rolling.maxFileSize": "16m",
        }
    if settings.metrics:
        servlet = "spark.metrics.conf.*.sink.prometheusServlet"
        conf |= {
            "spark.ui.prometheus.enabled": "true",
            f"{servlet}.class": "org.apache.spark.metrics.sink.PrometheusServlet",
            f"{servlet}.path": "/metrics/prometheus",
            # The JVM's heap, GC and threads (Spark leaves this source off by default).
            "spark.metrics.conf.*.source.jvm.class": "org.apache.spark.metrics.source.JvmSource",
            # Stable metric names (the default namespace is the application's id).
            "spark.metrics.namespace": SPARK_METRICS_NAMESPACE,
            "spark.metrics.appStatusSource.enabled": "true",
        }
    return conf


def _pod(name: str, settings: JobSettings, cores: int, memory: str) -> dict[str, Any]:
    mounts: list[dict[str, Any]] = [{"name": TMP_VOLUME, "mountPath": "/tmp"}]  # noqa: S108
    java_options = list(JOB_JVM_OPTIONS)
    if settings.trust_cluster_ca:
        mounts.append({"name": TRUST_VOLUME, "mountPath": names.TRUSTSTORE_DIR, "readOnly": True})
        java_options.append(names.JAVA_TRUST_OPTIONS)
    return {
        "cores": cores,
        **({"coreRequest": settings.core_request} if settings.core_request else {}),
        "coreLimit": str(cores),
        "memory": memory,
        "labels": labels(name, settings),
        "env": _env(settings),
        "securityContext": _container_security(),
        "podSecurityContext": _pod_security(),
        "volumeMounts": mounts,
        "javaOptions": " ".join(java_options),
    }


def application_spec(
    layer: str, settings: JobSettings, datasets: list[str] | None = None
) -> dict[str, Any]:
    """The ``spec`` of the SparkApplication that runs one layer (or all of them, in order)."""
    if layer not in (*LAYER_CHOICES, MAINTENANCE_STEP, BACKUP_STEP):
        raise ValueError(f"unknown layer {layer!r}; use one of {', '.join(LAYER_CHOICES)}")
    name = app_name(layer)
    arguments = [layer, "--bucket", settings.bucket]
    if layer == MAINTENANCE_STEP:
        arguments += ["--retain-hours", f"{settings.retain_hours:g}"]
    if layer == BACKUP_STEP:
        arguments += ["--keep", str(settings.backup_keep)]
    if datasets:
        arguments += ["--datasets", *datasets]
    return _spec(name, arguments, settings)


def restore_application(
    table: str,
    settings: JobSettings,
    *,
    name: str,
    version: int | None = None,
    timestamp: str | None = None,
) -> dict[str, Any]:
    """The SparkApplication that restores one table (``layer.table``) to an earlier version
    or time, and rewrites the gold tables that read it. Never retried by the operator: a
    RESTORE that committed must not be repeated."""
    when = ["--version", str(version)] if version is not None else ["--timestamp", str(timestamp)]
    arguments = [RESTORE_STEP, "--table", table, *when, "--bucket", settings.bucket]
    spec = _spec(name, arguments, settings)
    spec["restartPolicy"] = {"type": "Never"}
    return _application(name, spec, settings)


def _spec(name: str, arguments: list[str], settings: JobSettings) -> dict[str, Any]:
    driver = _pod(name, settings, settings.driver_cores, settings.driver_memory)
    driver["serviceAccount"] = settings.service_account
    executor = _pod(name, settings, settings.executor_cores, settings.executor_memory)
    executor["instances"] = settings.executor_instances
    executor["serviceAccount"] = settings.executor_service_account
    spec: dict[str, Any] = {
        "type": "Python",
        "pythonVersion": "3",
        "mode": "cluster",
        "image": settings.image,
        "imagePullPolicy": settings.image_pull_policy,
        "mainApplicationFile": MAIN_APPLICATION_FILE,
        "arguments": arguments,
        "sparkVersion": versions.SPARK_VERSION,
        "sparkConf": {
            "spark.sql.shuffle.partitions": str(settings.shuffle_partitions),
            "spark.databricks.delta.snapshotPartitions": str(settings.shuffle_partitions),
            # The UI is reachable through the ingress and has no login: it may show, but
            # not kill, jobs and stages.
            "spark.ui.killEnabled": "false",
            **observability_conf(settings),
        },
        "hadoopConf": s3a_conf(settings),
        "restartPolicy": {
            "type": "OnFailure",
            "onFailureRetries": 2,
            "onFailureRetryInterval": 30,
            "onSubmissionFailureRetries": 3,
            "onSubmissionFailureRetryInterval": 20,
        },
        "driver": driver,
        "executor": executor,
        "volumes": [
            {"name": TMP_VOLUME, "emptyDir": {"sizeLimit": "1Gi"}},
            *(
                [{"name": TRUST_VOLUME, "secret": {"secretName": names.TRUSTSTORE}}]
                if settings.trust_cluster_ca
                else []
            ),
        ],
    }
    if settings.ttl_seconds is not None:
        spec["timeToLiveSeconds"] = settings.ttl_seconds
    return spec


def spark_application(
    layer: str, settings: JobSettings, name: str | None = None, datasets: list[str] | None = None
) -> dict[str, Any]:
    name = name or app_name(layer)
    return _application(name, application_spec(layer, settings, datasets), settings)


def _application(name: str, spec: dict[str, Any], settings: JobSettings) -> dict[str, Any]:
    """A SparkApplication named ``name`` in the jobs' namespace, with the stack's labels."""
    return {
        "apiVersion": "sparkoperator.k8s.io/v1beta2",
        "kind": "SparkApplication",
        "metadata": {
            "name": name,
            "namespace": settings.namespace,
            "labels": labels(name, settings),
        },
        "spec": spec,
    }


def scheduled_application(settings: JobSettings, step: str = ALL_LAYERS) -> dict[str, Any]:
    """Runs all three layers in one driver (or the maintenance, or the backup),
    periodically; never two runs at once."""
    schedules = {
        ALL_LAYERS: settings.schedule,
        MAINTENANCE_STEP: settings.maintenance_schedule,
        BACKUP_STEP: settings.backup_schedule,
    }
    name = f"{app_name(step)}-scheduled"
    return {
        "apiVersion": "sparkoperator.k8s.io/v1beta2",
        "kind": "ScheduledSparkApplication",
        "metadata": {
            "name": name,
            "namespace": settings.namespace,
            "labels": labels(name, settings),
        },
        "spec": {
            "schedule": schedules[step],
            "timeZone": "UTC",
            "concurrencyPolicy": "Forbid",
            "suspend": settings.schedule_suspended,
            "successfulRunHistoryLimit": 3,
            "failedRunHistoryLimit": 3,
            "template": application_spec(step, settings),
        },
    }


def kubectl_manifests(settings: JobSettings | None = None) -> dict[str, dict[str, Any]]:
    """File name (under spark-apps/manifests/) -> object, for kubectl users.

    The top folder holds exactly one application, the whole pipeline in one driver, so
    ``kubectl apply -f spark-apps/manifests/`` never starts two writers of one table.
    Single layers and the schedule live in subfolders.
    """
    settings = settings or JobSettings()
    files = {"lakehouse-pipeline.yaml": spark_application(ALL_LAYERS, settings)}
    for layer in Layer:
        files[f"layers/lakehouse-{layer.value}.yaml"] = spark_application(layer.value, settings)
    files["maintenance/lakehouse-maintenance.yaml"] = spark_application(MAINTENANCE_STEP, settings)
    files["scheduled/lakehouse-pipeline-scheduled.yaml"] = scheduled_application(settings)
    files["scheduled/lakehouse-maintenance-scheduled.yaml"] = scheduled_application(
        settings, MAINTENANCE_STEP
    )
    files["backup/lakehouse-backup.yaml"] = spark_application(BACKUP_STEP, settings)
    files["scheduled/lakehouse-backup-scheduled.yaml"] = scheduled_application(
        settings, BACKUP_STEP
    )
    return files
