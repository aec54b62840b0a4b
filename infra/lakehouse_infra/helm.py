"""Helm releases of the upstream charts that are still maintained (spark-operator, traefik).

``helm.v3.Release`` installs with the Helm SDK (hooks and CRDs included) as one Pulumi
resource. Values come from charts-values/<chart>/: the base file, then the stack's file,
then the values the program computes (which win).
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from lakehouse.paths import REPO_ROOT
from lakehouse.versions import HelmChart
from lakehouse_infra import k8s as kube

CHART_VALUES = REPO_ROOT / "charts-values"
INSTALL_TIMEOUT_SECONDS = 600


def values_files(chart: str, environment: str) -> list[pulumi.FileAsset]:
    """The base values file and the stack's, in that order (later files win)."""
    files = [CHART_VALUES / chart / "base.yaml", CHART_VALUES / chart / f"{environment}.yaml"]
    for path in files:
        if not path.is_file():
            raise FileNotFoundError(f"Helm values file {path} is missing")
    return [pulumi.FileAsset(str(path)) for path in files]


def release(
    resource_name: str,
    chart: HelmChart,
    *,
    release_name: str,
    namespace: str,
    environment: str,
    values: dict[str, Any],
    opts: pulumi.ResourceOptions,
) -> k8s.helm.v3.Release:
    labelled = {**values, "commonLabels": {"app.kubernetes.io/part-of": kube.PART_OF}}
    return k8s.helm.v3.Release(
        resource_name,
        name=release_name,
        chart=chart.name,
        version=chart.version,
        repository_opts={"repo": chart.repository},
        namespace=namespace,
        value_yaml_files=values_files(chart.name, environment),
        values=labelled,
        timeout=INSTALL_TIMEOUT_SECONDS,
        opts=opts,
    )
