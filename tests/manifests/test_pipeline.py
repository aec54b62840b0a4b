"""The pipeline's SparkApplications: one definition for Pulumi, the CLI and kubectl users."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from lakehouse.cli.deploy_cmds import manifests_yaml
from lakehouse.render import Rendering, render_stack
from lakehouse_core.images import job_image_ref
from lakehouse_core.spark_applications import JobSettings, kubectl_manifests

from .conftest import checked_in_manifests

JOBS_NS = "lakehouse-jobs"


def test_checked_in_manifests_are_what_the_definition_generates() -> None:
    """Run `lakehouse manifests --write` after changing the jobs or the definition."""
    from lakehouse_core.paths import REPO_ROOT

    root = REPO_ROOT / "spark-apps" / "manifests"
    generated = manifests_yaml()
    on_disk = {p.relative_to(root).as_posix() for p in root.rglob("*.yaml")}
    assert on_disk == set(generated), (
        "spark-apps/manifests/ has other files than the definition makes"
    )
    for name, text in generated.items():
        assert (root / name).read_text() == text, f"{name} is stale: run `make manifests`"


def test_applying_the_folder_starts_exactly_one_writer() -> None:
    top = [name for name in checked_in_manifests() if "/" not in name]
    assert top == ["lakehouse-pipeline.yaml"]
    assert checked_in_manifests()[top[0]]["spec"]["arguments"][0] == "all"


def test_manifests_name_the_image_built_from_this_code() -> None:
    for app in checked_in_manifests().values():
        spec = app["spec"].get("template", app["spec"])
        assert spec["image"] == job_image_ref()


def scheduled_app(rendering: Rendering, name: str) -> dict[str, Any]:
    return rendering.find("ScheduledSparkApplication", name, JOBS_NS)


def test_stack_schedules_the_pipeline_wired_to_the_platform(rendering: Rendering) -> None:
    scheduled_run = scheduled_app(rendering, "lakehouse-pipeline-scheduled")
    assert {s["metadata"]["name"] for s in rendering.of_kind("ScheduledSparkApplication")} == {
        "lakehouse-pipeline-scheduled",
        "lakehouse-maintenance-scheduled",
        "lakehouse-backup-scheduled",
    }
    scheduled = scheduled_run
    assert scheduled["metadata"]["namespace"] == JOBS_NS
    assert scheduled["spec"]["concurrencyPolicy"] == "Forbid"
    assert scheduled["spec"]["suspend"] is (rendering.stack == "dev")
    template = scheduled["spec"]["template"]
    assert template["driver"]["serviceAccount"] == "lakehouse-spark"
    scheme = "https" if rendering.stack == "prod" else "http"  # TLS inside the cluster in prod
    assert (
        template["hadoopConf"]["fs.s3a.endpoint"]
        == f"{scheme}://minio.lakehouse-storage.svc.cluster.local:9000"
    )
    assert template["hadoopConf"]["fs.s3a.connection.ssl.enabled"] == str(scheme == "https").lower()
    secret = template["driver"]["env"][0]["valueFrom"]["secretKeyRef"]["name"]
    rendering.find("Secret", secret, JOBS_NS)
    expected = (
        job_image_ref()
        if rendering.stack == "dev"
        else f"registry.example.com/data-platform/{job_image_ref()}"
    )
    assert template["image"] == expected
    assert template["arguments"] == ["all", "--bucket", "lakehouse"]


def test_stack_schedules_the_maintenance_daily_keeping_a_week(rendering: Rendering) -> None:
    maintenance = scheduled_app(rendering, "lakehouse-maintenance-scheduled")
    assert maintenance["spec"]["schedule"] == "30 3 * * *"
    assert maintenance["spec"]["concurrencyPolicy"] == "Forbid"
    assert maintenance["spec"]["template"]["arguments"] == [
        "maintenance", "--bucket", "lakehouse", "--retain-hours", "168",
    ]  # fmt: skip


def test_stack_schedules_the_backup_daily_keeping_its_count(rendering: Rendering) -> None:
    backup = scheduled_app(rendering, "lakehouse-backup-scheduled")
    assert backup["spec"]["schedule"] == "0 2 * * *"
    assert backup["spec"]["concurrencyPolicy"] == "Forbid"
    assert backup["spec"]["suspend"] is (rendering.stack == "dev")
    assert backup["spec"]["template"]["arguments"] == [
        "backup", "--bucket", "lakehouse", "--keep", "7",
    ]  # fmt: skip
    # Same identity as the pipeline: it takes the pipeline's Lease, so never runs beside it.
    assert backup["spec"]["template"]["driver"]["serviceAccount"] == "lakehouse-spark"
    other = render_stack(
        "dev", overrides={"pipeline": {"backupSchedule": "15 1 * * 0", "backupKeep": 3}}
    )
    changed = scheduled_app(other, "lakehouse-backup-scheduled")
    assert changed["spec"]["schedule"] == "15 1 * * 0"
    assert changed["spec"]["template"]["arguments"][-2:] == ["--keep", "3"]


def test_drivers_may_hold_only_the_pipeline_lease(rendering: Rendering) -> None:
    role = rendering.find("Role", "lakehouse-pipeline-lease", JOBS_NS)
    assert role["rules"] == [
        {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["create"]},
        {
            "apiGroups": ["coordination.k8s.io"],
            "resources": ["leases"],
            "resourceNames": ["lakehouse-pipeline"],
            "verbs": ["get", "update"],
        },
    ]
    binding = rendering.find("RoleBinding", "lakehouse-pipeline-lease", JOBS_NS)
    assert binding["subjects"][0]["name"] == "lakehouse-spark"


def test_dev_definition_equals_the_kubectl_manifests(dev: Rendering) -> None:
    """Pulumi and kubectl users get the same application (only the manager label differs)."""
    scheduled = dev.find("ScheduledSparkApplication", "lakehouse-pipeline-scheduled", JOBS_NS)
    from_kubectl = kubectl_manifests(JobSettings())["scheduled/lakehouse-pipeline-scheduled.yaml"]

    def without_manager(obj: dict[str, Any]) -> dict[str, Any]:
        text = json.dumps(obj).replace('"pulumi"', '"kubectl"')
        return dict(json.loads(text))

    assert without_manager(scheduled["spec"]) == from_kubectl["spec"]


def test_run_on_deploy_declares_one_pipeline_run() -> None:
    rendering = render_stack("dev", overrides={"pipeline": {"runOnDeploy": True}})
    [run] = rendering.of_kind("SparkApplication")
    assert (
        run["metadata"]["name"] == "lakehouse-pipeline" and "timeToLiveSeconds" not in run["spec"]
    )


def test_a_stacks_own_kubectl_manifests_follow_its_settings(tmp_path: Path) -> None:
    """`lakehouse manifests --stack prod --out DIR`: prod's jobs reach MinIO over TLS and
    trust the stack's CA; the dev stack's are the checked-in files."""
    from typer.testing import CliRunner

    from lakehouse.cli.app import app

    assert manifests_yaml("dev") == manifests_yaml()
    done = CliRunner().invoke(app, ["manifests", "--stack", "prod", "--out", str(tmp_path)])
    assert done.exit_code == 0, done.output
    written = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.yaml")}
    assert written == set(manifests_yaml())
    pipeline = yaml.safe_load((tmp_path / "lakehouse-pipeline.yaml").read_text())
    assert pipeline["spec"]["hadoopConf"]["fs.s3a.endpoint"].startswith("https://")
    assert any(v["name"] == "lakehouse-truststore" for v in pipeline["spec"]["volumes"])
    refused = CliRunner().invoke(app, ["manifests", "--write", "--stack", "prod"])
    assert refused.exit_code != 0 and "--out" in refused.output
