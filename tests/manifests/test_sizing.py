"""The dev stack fits a 16 GB laptop with room for Spark jobs."""

from __future__ import annotations

from typing import Any

import pytest

from lakehouse.render import Rendering

from .conftest import pod_templates, values_of

# With observability on (its Prometheus, the history server): 10.5 GiB; with the Spark
# Connect server too (its driver, whose executors come only with work): 12 GiB.
DEV_MEMORY_BUDGET_GIB = 10.5
DEV_WITH_CONNECT_BUDGET_GIB = 12.0
UNITS = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 10**3, "M": 10**6, "G": 10**9}


def memory_bytes(quantity: str) -> float:
    for suffix, factor in UNITS.items():
        if quantity.endswith(suffix):
            return float(quantity[: -len(suffix)]) * factor
    return float(quantity)


def cpu_cores(quantity: str) -> float:
    return float(quantity[:-1]) / 1000 if quantity.endswith("m") else float(quantity)


def _pod_requests(template: dict[str, Any]) -> tuple[float, float]:
    spec = template["spec"]
    cpu = sum(cpu_cores(c["resources"]["requests"]["cpu"]) for c in spec["containers"])
    mem = sum(memory_bytes(c["resources"]["requests"]["memory"]) for c in spec["containers"])
    for init in spec.get("initContainers", []):  # init containers run before, not beside
        cpu = max(cpu, cpu_cores(init["resources"]["requests"]["cpu"]))
        mem = max(mem, memory_bytes(init["resources"]["requests"]["memory"]))
    return cpu, mem


def stack_requests(rendering: Rendering) -> dict[str, tuple[float, float]]:
    totals: dict[str, tuple[float, float]] = {}
    for obj in rendering.objects:
        for template in pod_templates(obj):
            replicas = obj["spec"].get("replicas", 1)
            cpu, mem = _pod_requests(template)
            totals[f"{obj['kind']}/{obj['metadata']['name']}"] = (cpu * replicas, mem * replicas)
    for release in rendering.releases:
        values = values_of(release)
        parts = {"spark-operator": ("controller", "webhook"), "traefik": (None,)}[release["name"]]
        for part in parts:
            section = values[part] if part else values
            replicas = section.get("replicas", (values.get("deployment") or {}).get("replicas", 1))
            requests = section["resources"]["requests"]
            totals[f"helm/{release['name']}/{part or 'proxy'}"] = (
                cpu_cores(requests["cpu"]) * replicas,
                memory_bytes(requests["memory"]) * replicas,
            )
    return totals


def test_dev_stack_memory_requests_fit_the_laptop_budget(
    dev: Rendering, capsys: pytest.CaptureFixture[str]
) -> None:
    totals = stack_requests(dev)
    cpu = sum(c for c, _ in totals.values())
    mem = sum(m for _, m in totals.values()) / 2**30
    with capsys.disabled():  # always in the log, not only when the test fails
        print(f"\ndev stack requests: {cpu:.2f} CPU, {mem:.2f} GiB memory")
        for name, (c, m) in sorted(totals.items(), key=lambda kv: -kv[1][1]):
            print(f"  {name:45} {c:5.2f} CPU {m / 2**20:8.0f} MiB")
    connect = totals.get("Deployment/lakehouse-connect", (0.0, 0.0))[1] / 2**30
    with capsys.disabled():
        print(f"  without the Spark Connect server: {mem - connect:.2f} GiB")
    assert len(totals) >= 9 and connect > 0
    assert mem - connect <= DEV_MEMORY_BUDGET_GIB, (
        f"dev stack requests {mem - connect:.2f} GiB > {DEV_MEMORY_BUDGET_GIB} GiB"
    )
    assert mem <= DEV_WITH_CONNECT_BUDGET_GIB, (
        f"dev stack with Spark Connect requests {mem:.2f} GiB > {DEV_WITH_CONNECT_BUDGET_GIB} GiB"
    )


# The test bed's node: two cores, and what its system pods request (CoreDNS 50m, the
# local-path provisioner 10m); its control plane runs as processes, not pods. kind runs
# its control plane as pods (about 0.95 CPU more), so kind wants four cores.
NODE_CORES = 2.0
BED_SYSTEM_CORES = 0.06


def test_dev_stack_cpu_requests_leave_room_for_a_pipeline_job_on_two_cores(
    dev: Rendering,
) -> None:
    """What stays (not the Jobs, which complete) plus one pipeline application (its driver
    and executors at the stack's core request) must be schedulable on the bed's node: the
    Spark Connect server once requested a whole driver's core, and the pipeline's executor
    waited forever, Pending for CPU."""
    from lakehouse.ops.stacks import load_stack_config

    spark = load_stack_config("dev").spark
    assert spark.core_request is not None, "dev sets spark.coreRequest"
    job = cpu_cores(spark.core_request) * (1 + spark.executor_instances)
    staying = sum(c for name, (c, _) in stack_requests(dev).items() if not name.startswith("Job/"))
    needed = staying + BED_SYSTEM_CORES + job
    assert needed <= NODE_CORES, (
        f"the dev stack requests {staying:.2f} CPU; with a pipeline job ({job:.2f}) and the "
        f"node's own pods that is {needed:.2f} of {NODE_CORES:.0f} cores"
    )
