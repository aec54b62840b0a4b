"""The Kubeflow Spark operator and everything the jobs need to run in their namespace.

The operator comes from its maintained Helm chart (``helm.v3.Release``, pinned version,
values from charts-values/spark-operator/). The chart creates the job service account and
its Role in every namespace listed in ``spark.jobNamespaces``; the webhook it runs applies
env (the S3 credentials, from the Secret declared here) to driver and executor pods.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from lakehouse_core import names, versions
from lakehouse_core import network as flows
from lakehouse_core.stack_config import SparkConfig
from lakehouse_infra import helm
from lakehouse_infra import k8s as kube
from lakehouse_infra.credentials import Credential
from lakehouse_infra.network import Network
from lakehouse_infra.tls import InternalTls

COMPONENT = "spark"
# The chart's controller service account (its fullname, "spark-operator", + "-controller").
OPERATOR_CONTROLLER_ACCOUNT = "spark-operator-controller"
OPERATOR_METRICS_PORT = 8080


class SparkPlatform(pulumi.ComponentResource):
    """The operator (``release``) and the jobs namespace with its S3 credentials (``secret``)."""

    def __init__(
        self,
        name: str,
        *,
        cfg: SparkConfig,
        environment: str,
        charts_dir: str | None,
        s3: Credential,
        network: Network,
        tls: InternalTls | None = None,
        live_ui: LiveUi | None = None,
        metrics: bool = True,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("lakehouse:spark:SparkPlatform", name, None, opts)
        self.jobs_namespace_name = cfg.jobs_namespace
        self.operator_namespace_name = cfg.operator_namespace
        child = pulumi.ResourceOptions(parent=self)
        # The controller and webhook meet "restricted", but the chart's CRD-upgrade hook Job
        # (pre-install/pre-upgrade) sets neither runAsNonRoot nor a seccomp profile and the
        # chart has no values to add them: "restricted" would reject its pod and stall every
        # install (seen on the local cluster). So the operator's namespace enforces
        # "baseline" and warns and audits against "restricted". Spark's driver and executor
        # pods get their security context from the webhook, so theirs does the same.
        self.operator_namespace = kube.namespace(
            cfg.operator_namespace, COMPONENT, "baseline", child
        )
        self.jobs_namespace = kube.namespace(cfg.jobs_namespace, "spark-jobs", "baseline", child)
        in_operator = pulumi.ResourceOptions(parent=self, depends_on=[self.operator_namespace])
        in_jobs = pulumi.ResourceOptions(parent=self, depends_on=[self.jobs_namespace])
        network.default_deny(flows.OPERATOR, COMPONENT, in_operator)
        network.allow(flows.SPARK_OPERATOR, COMPONENT, in_operator)
        network.default_deny(flows.JOBS, "spark-jobs", in_jobs)
        for role in (flows.SPARK_DRIVER, flows.SPARK_EXECUTOR):
            network.allow(role, "spark-jobs", in_jobs)
        keys: dict[str, pulumi.Input[str]] = {
            names.ACCESS_KEY_ENV: s3.user,
            names.SECRET_KEY_ENV: s3.password,
        }
        self.secret = k8s.core.v1.Secret(
            names.SPARK_S3_SECRET,
            metadata=kube.metadata(
                names.SPARK_S3_SECRET,
                cfg.jobs_namespace,
                kube.labels(names.SPARK_S3_SECRET, "spark-jobs"),
            ),
            type="Opaque",
            string_data=keys,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.jobs_namespace]),
        )
        self.release = helm.release(
            name,
            versions.SPARK_OPERATOR_CHART,
            release_name="spark-operator",
            namespace=cfg.operator_namespace,
            environment=environment,
            charts_dir=charts_dir,
            values={
                # Namespaces must exist before the operator watches them.
                "spark": {
                    "jobNamespaces": [cfg.jobs_namespace],
                    "serviceAccount": {"create": True, "name": cfg.service_account},
                    "rbac": {"create": True},
                },
                "webhook": {"enable": True},
                "controller": {
                    "uiService": {"enable": True},
                    "uiIngress": live_ui.chart_values() if live_ui else {"enable": False},
                },
                # The controller's metrics (port "metrics"); monitors come from the stack's
                # own table (lakehouse_core.scrape), not the chart's PodMonitor.
                "prometheus": {
                    "metrics": {"enable": metrics, "port": OPERATOR_METRICS_PORT},
                    "podMonitor": {"create": False},
                },
            },
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[self.operator_namespace, self.jobs_namespace]
            ),
        )
        # Executors run as an account of their own: no API token, no role (the driver's may
        # create and delete pods; an executor needs nothing of the API).
        self.executor_account = k8s.core.v1.ServiceAccount(
            "spark-executor",
            metadata=kube.metadata(
                names.SPARK_EXECUTOR_SERVICE_ACCOUNT,
                cfg.jobs_namespace,
                kube.labels(names.SPARK_EXECUTOR_SERVICE_ACCOUNT, "spark-jobs"),
            ),
            automount_service_account_token=False,
            opts=in_jobs,
        )
        # A driver started without the CLI (kubectl, the schedule) holds the pipeline's Lease
        # itself: one writer of the lake at a time. The Lease is the only object it may touch.
        lease_labels = kube.labels("pipeline-lease", "spark-jobs")
        in_jobs = pulumi.ResourceOptions(parent=self, depends_on=[self.jobs_namespace])
        self.lease_role = k8s.rbac.v1.Role(
            "pipeline-lease",
            metadata=kube.metadata("lakehouse-pipeline-lease", cfg.jobs_namespace, lease_labels),
            rules=[
                {
                    "apiGroups": ["coordination.k8s.io"],
                    "resources": ["leases"],
                    "verbs": ["create"],
                },
                {
                    "apiGroups": ["coordination.k8s.io"],
                    "resources": ["leases"],
                    "resourceNames": [names.PIPELINE_LEASE],
                    "verbs": ["get", "update"],
                },
            ],
            opts=in_jobs,
        )
        self.lease_binding = k8s.rbac.v1.RoleBinding(
            "pipeline-lease",
            metadata=kube.metadata("lakehouse-pipeline-lease", cfg.jobs_namespace, lease_labels),
            role_ref={
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "Role",
                "name": "lakehouse-pipeline-lease",
            },
            subjects=[
                {
                    "kind": "ServiceAccount",
                    "name": cfg.service_account,
                    "namespace": cfg.jobs_namespace,
                }
            ],
            opts=in_jobs,
        )
        if live_ui:
            self._ingress_reader(cfg.jobs_namespace, in_jobs)
        # What a SparkApplication needs before it is declared: the CRDs, the credentials
        # and the right to hold the Lease.
        # TLS inside the cluster: the truststore the drivers and executors mount.
        trust = tls.trust(cfg.jobs_namespace, in_jobs).resources if tls else []
        self.ready: list[pulumi.Resource] = [
            *trust,
            self.release,
            self.secret,
            self.lease_role,
            self.lease_binding,
            self.executor_account,
        ]
        self.register_outputs(
            {
                "liveUi": live_ui.url_format if live_ui else None,
                "operatorNamespace": cfg.operator_namespace,
                "jobsNamespace": cfg.jobs_namespace,
                "serviceAccount": cfg.service_account,
                "credentialsSecret": names.SPARK_S3_SECRET,
            }
        )

    def _ingress_reader(self, namespace: str, opts: pulumi.ResourceOptions) -> None:
        """The controller reads Ingresses through its cache (list and watch), which the
        chart's rules (get, create, update, delete) leave out: without this it cannot
        create any application's UI Ingress (kubeflow/spark-operator#2246)."""
        labels = kube.labels("spark-ui-ingress", COMPONENT)
        name = "spark-operator-ui-ingress-reader"
        k8s.rbac.v1.Role(
            name,
            metadata=kube.metadata(name, namespace, labels),
            rules=[
                {
                    "apiGroups": ["networking.k8s.io"],
                    "resources": ["ingresses"],
                    "verbs": ["get", "list", "watch"],
                }
            ],
            opts=opts,
        )
        k8s.rbac.v1.RoleBinding(
            name,
            metadata=kube.metadata(name, namespace, labels),
            role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
            subjects=[
                {
                    "kind": "ServiceAccount",
                    "name": OPERATOR_CONTROLLER_ACCOUNT,
                    "namespace": self.operator_namespace_name,
                }
            ],
            opts=opts,
        )


@dataclass(frozen=True)
class LiveUi:
    """A running application's UI through the ingress: the operator creates a Service and
    an Ingress per application, at ``<application>.<domain>`` (host only: Traefik does not
    read the regex path the operator writes for a path-based format)."""

    domain: str
    class_name: str
    scheme: str = "http"
    # Traefik middlewares of the jobs namespace the routes go through (an allowlist).
    middlewares: tuple[str, ...] = ()
    tls_secret: str | None = None  # a wildcard certificate's Secret (*.<domain>) in prod

    @property
    def url_format(self) -> str:
        return "{{$appName}}." + self.domain

    def url(self, application: str) -> str:
        return f"{self.scheme}://{application}.{self.domain}"

    def chart_values(self) -> dict[str, Any]:
        annotations: dict[str, str] = {}
        if self.middlewares:
            annotations["traefik.ingress.kubernetes.io/router.middlewares"] = ",".join(
                self.middlewares
            )
        values: dict[str, Any] = {
            "enable": True,
            "urlFormat": self.url_format,
            "ingressClassName": self.class_name,
            "annotations": annotations,
        }
        if self.tls_secret:
            annotations["traefik.ingress.kubernetes.io/router.tls"] = "true"
            values["tls"] = [{"hosts": [f"*.{self.domain}"], "secretName": self.tls_secret}]
        return values
