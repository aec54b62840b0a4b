"""The Kubeflow Spark operator and everything the jobs need to run in their namespace.

The operator comes from its maintained Helm chart (``helm.v3.Release``, pinned version,
values from charts-values/spark-operator/). The chart creates the job service account and
its Role in every namespace listed in ``spark.jobNamespaces``; the webhook it runs applies
env (the S3 credentials, from the Secret declared here) to driver and executor pods.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from lakehouse import versions
from lakehouse.sparkapps import ACCESS_KEY_ENV, SECRET_KEY_ENV
from lakehouse_infra import helm
from lakehouse_infra import k8s as kube
from lakehouse_infra.config import StackConfig
from lakehouse_infra.credentials import LakeCredentials

COMPONENT = "spark"
CREDENTIALS_SECRET = "lakehouse-spark-s3"  # noqa: S105 (a Secret name)


class SparkPlatform(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        cfg: StackConfig,
        credentials: LakeCredentials,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("lakehouse:spark:SparkPlatform", name, None, opts)
        spark = cfg.spark
        self.jobs_namespace_name = spark.jobs_namespace
        self.service_account = spark.service_account
        self.credentials_secret = CREDENTIALS_SECRET
        child = pulumi.ResourceOptions(parent=self)
        # The chart's pods meet "restricted"; Spark's driver and executor pods get their
        # security context from the webhook, so their namespace enforces "baseline" and
        # warns (and audits) against "restricted".
        self.operator_namespace = kube.namespace(
            spark.operator_namespace, COMPONENT, "restricted", child
        )
        self.jobs_namespace = kube.namespace(spark.jobs_namespace, "spark-jobs", "baseline", child)
        keys: dict[str, pulumi.Input[str]] = {
            ACCESS_KEY_ENV: credentials.spark.user,
            SECRET_KEY_ENV: credentials.spark.password,
        }
        self.secret = k8s.core.v1.Secret(
            CREDENTIALS_SECRET,
            metadata=kube.metadata(
                CREDENTIALS_SECRET,
                spark.jobs_namespace,
                kube.labels(CREDENTIALS_SECRET, "spark-jobs"),
            ),
            type="Opaque",
            string_data=keys,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.jobs_namespace]),
        )
        self.release = helm.release(
            name,
            versions.SPARK_OPERATOR_CHART,
            release_name="spark-operator",
            namespace=spark.operator_namespace,
            environment=cfg.environment,
            values={
                # Namespaces must exist before the operator watches them.
                "spark": {
                    "jobNamespaces": [spark.jobs_namespace],
                    "serviceAccount": {"create": True, "name": spark.service_account},
                    "rbac": {"create": True},
                },
                "webhook": {"enable": True},
            },
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[self.operator_namespace, self.jobs_namespace]
            ),
        )
        self.register_outputs(
            {
                "operatorNamespace": spark.operator_namespace,
                "jobsNamespace": spark.jobs_namespace,
                "serviceAccount": spark.service_account,
                "credentialsSecret": CREDENTIALS_SECRET,
            }
        )
