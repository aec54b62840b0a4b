"""The pipeline's SparkApplications, from the same definition kubectl users apply.

The ScheduledSparkApplication runs bronze -> silver -> gold in one driver on a schedule
(suspended on the dev stack, where runs are started with ``lakehouse pipeline run``); a
second one runs the maintenance (compaction, checkpoints, VACUUM), daily by default and
suspended alike; a third copies the lake into its bucket's backups/ (daily, keeping the
newest ``pipeline.backupKeep``).
With ``pipeline.runOnDeploy`` the stack also declares one run of the whole pipeline.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from lakehouse_core.catalog import ALL_LAYERS, BACKUP_STEP, MAINTENANCE_STEP
from lakehouse_core.spark_applications import (
    JobSettings,
    scheduled_application,
    spark_application,
)
from lakehouse_core.stack_config import PipelineConfig


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
        *,
        cfg: PipelineConfig,
        settings: JobSettings,
        ready: list[pulumi.Resource],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("lakehouse:pipeline:Pipeline", name, None, opts)
        # The CRDs come with the operator's chart; the bucket and users with provisioning.
        after = pulumi.ResourceOptions(parent=self, depends_on=ready)
        scheduled = scheduled_application(settings)
        self.scheduled = _custom_resource("pipeline-scheduled", scheduled, after)
        maintenance = scheduled_application(settings, MAINTENANCE_STEP)
        self.maintenance = _custom_resource("maintenance-scheduled", maintenance, after)
        backup = scheduled_application(settings, BACKUP_STEP)
        self.backup = _custom_resource("backup-scheduled", backup, after)
        self.run_on_deploy = None
        if cfg.run_on_deploy:
            # Kept after it finishes (no TTL), so Pulumi does not see it vanish.
            once = spark_application(ALL_LAYERS, settings.with_(ttl_seconds=None))
            self.run_on_deploy = _custom_resource("pipeline-run", once, after)
        self.register_outputs(
            {
                "scheduledApplication": scheduled["metadata"]["name"],
                "maintenanceApplication": maintenance["metadata"]["name"],
                "backupApplication": backup["metadata"]["name"],
                "image": settings.image,
            }
        )
