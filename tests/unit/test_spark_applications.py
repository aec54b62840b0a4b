"""The SparkApplications' settings come from the stack, every one of them."""

from __future__ import annotations

from dataclasses import asdict

from lakehouse_core import names
from lakehouse_core import stack_config as config
from lakehouse_core.spark_applications import JobSettings, job_settings, spark_application
from lakehouse_core.spark_conf import JOB_JVM_OPTIONS

# Every value differs from JobSettings' own default, so a setting the function forgot to
# carry over (and left at its default) shows.
STACK = {
    "environment": "prod",
    "bucket": "other-lake",
    "ingress": {"tls": {"enabled": True, "secretName": "tls"}},
    "internalTls": {"enabled": True},
    "images": {"pullPolicy": "Always"},
    "observability": {"historyServer": False, "metrics": False, "jsonLogs": True},
    "spark": {"jobsNamespace": "jobs-x", "serviceAccount": "sa-x", "driverMemory": "3g",
              "executorInstances": 3, "executorMemory": "5g", "shufflePartitions": 17,
              "coreRequest": "500m"},
    "pipeline": {"schedule": "5 * * * *", "scheduleSuspended": False,
                 "maintenanceSchedule": "1 1 * * *", "retainHours": 200,
                 "backupSchedule": "2 2 * * *", "backupKeep": 3},
}  # fmt: skip


def test_job_settings_carry_every_setting_of_the_stack() -> None:
    stack = config.parse(STACK)
    settings = job_settings(stack, "registry.example.com/jobs:1", managed_by="lakehouse-cli")
    expected = {
        "s3_endpoint": stack.addresses.minio_endpoint(),
        "trust_cluster_ca": True,
        "event_log": False,
        "metrics": False,
        "pushgateway": None,
        "json_logs": True,
        "namespace": "jobs-x",
        "image": "registry.example.com/jobs:1",
        "image_pull_policy": "Always",
        "bucket": "other-lake",
        "service_account": "sa-x",
        "driver_memory": "3g",
        "executor_instances": 3,
        "executor_memory": "5g",
        "shuffle_partitions": 17,
        "core_request": "500m",
        "schedule": "5 * * * *",
        "schedule_suspended": False,
        "maintenance_schedule": "1 1 * * *",
        "retain_hours": 200,
        "backup_schedule": "2 2 * * *",
        "backup_keep": 3,
        "managed_by": "lakehouse-cli",
    }
    found = asdict(settings)
    assert {key: found[key] for key in expected} == expected
    assert str(expected["s3_endpoint"]).startswith("https://")  # prod's MinIO serves TLS inside
    defaults = asdict(JobSettings())
    assert all(defaults[key] != value for key, value in expected.items()), (
        "a value equals its default"
    )


def test_metrics_on_push_to_the_stacks_pushgateway() -> None:
    stack = config.parse({"environment": "dev"})
    settings = job_settings(stack, "jobs:1")
    assert settings.pushgateway == names.pushgateway_url(stack.addresses)
    assert settings.managed_by == "pulumi"


def test_a_holder_named_by_the_cli_and_json_logs_reach_driver_and_executors() -> None:
    settings = JobSettings(lease_holder="cli/host-1", json_logs=True, pushgateway=None)
    spec = spark_application("bronze", settings)["spec"]
    for pod in (spec["driver"], spec["executor"]):
        extra = [e for e in pod["env"] if "valueFrom" not in e and e["name"] != "AWS_REGION"]
        assert extra == [
            {"name": names.LEASE_HOLDER_ENV, "value": "cli/host-1"},
            {"name": names.LOG_FORMAT_ENV, "value": "json"},
        ]
    plain = spark_application("bronze", JobSettings(pushgateway=None))["spec"]["driver"]["env"]
    assert [e["name"] for e in plain] == [names.ACCESS_KEY_ENV, names.SECRET_KEY_ENV, "AWS_REGION"]


def test_every_job_jvm_compiles_huge_methods_and_trusts_the_ca_only_when_asked() -> None:
    """Silver's generated code is larger than HotSpot compiles by default (spark_conf)."""
    for trust in (False, True):
        spec = spark_application("silver", JobSettings(trust_cluster_ca=trust))["spec"]
        for pod in (spec["driver"], spec["executor"]):
            options = pod["javaOptions"].split()
            assert options[: len(JOB_JVM_OPTIONS)] == list(JOB_JVM_OPTIONS)
            assert (names.JAVA_TRUST_OPTIONS in pod["javaOptions"]) is trust


def test_a_local_session_runs_the_jobs_jvm_options() -> None:
    from lakehouse.local.spark import LocalSpark

    options = LocalSpark(None, java_options=("-Xss4m",)).conf()["spark.driver.extraJavaOptions"]
    assert options.split()[1:] == [*JOB_JVM_OPTIONS, "-Xss4m"]
