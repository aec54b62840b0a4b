"""The pipeline's SparkApplications, from the same definition kubectl users apply.

The ScheduledSparkApplication runs bronze -> silver -> gold in one driver on a schedule
(suspended on the dev stack, where runs are started with ``lakehouse pipeline run``).
With ``pipeline.runOnDeploy`` the stack also declares one run of the whole pipeline.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from lakehouse.sparkapps import ALL_LAYERS, JobSettings, scheduled_application, spark_application
from lakehouse_infra.config import StackConfig
from lakehouse_infra.object_store import ObjectStore, minio_endpoint
from lakehouse_infra.spark_platform import CREDENTIALS_SECRET, SparkPlatform


def job_settings(cfg: StackConfig, image: str, managed_by: str = "pulumi") -> JobSettings:
    """The SparkApplication settings a stack implies (also used by `lakehouse pipeline run`)."""
    return JobSettings(
        namespace=cfg.spark.jobs_namespace,
        image=image,
        image_pull_policy=cfg.spark.image_pull_policy,
        bucket=cfg.bucket,
        s3_endpoint=minio_endpoint(),
        credentials_secret=CREDENTIALS_SECRET,
        service_account=cfg.spark.service_account,
        driver_memory=cfg.spark.driver_memory,
        executor_instances=cfg.spark.executor_instances,
        executor_memory=cfg.spark.executor_memory,
        shuffle_partitions=cfg.spark.shuffle_partitions,
        schedule=cfg.pipeline.schedule,
        schedule_suspended=cfg.pipeline.schedule_suspended,
        managed_by=managed_by,
    )


def _custom_resource(
    name: str, obj: dict[str, Any], opts: pulumi.ResourceOptions
) -> k8s.apiextensions.CustomResource:
    return k8s.apiextensions.CustomResource(
        name,
        api_version=obj["apiVersion"],
        kind=obj["kind"],
        metadata=obj["metadata"],
        spec=obj["spec"],
        opts=opts,
    )


class Pipeline(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        cfg: StackConfig,
        *,
        store: ObjectStore,
        spark: SparkPlatform,
        image: str,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("lakehouse:pipeline:Pipeline", name, None, opts)
        self.settings = job_settings(cfg, image)
        # The CRDs come with the operator's chart; the bucket and users with provisioning.
        ready = pulumi.ResourceOptions(
            parent=self, depends_on=[spark.release, spark.secret, store.provision_job]
        )
        scheduled = scheduled_application(self.settings)
        self.scheduled = _custom_resource("pipeline-scheduled", scheduled, ready)
        self.run_on_deploy = None
        if cfg.pipeline.run_on_deploy:
            # Kept after it finishes (no TTL), so Pulumi does not see it vanish.
            once = spark_application(ALL_LAYERS, self.settings.with_(ttl_seconds=None))
            self.run_on_deploy = _custom_resource("pipeline-run", once, ready)
        self.register_outputs(
            {
                "scheduledApplication": scheduled["metadata"]["name"],
                "image": image,
            }
        )
