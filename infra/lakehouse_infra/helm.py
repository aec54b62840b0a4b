"""Helm releases of the upstream charts that are still maintained (spark-operator, traefik).

``helm.v3.Release`` installs with the Helm SDK (hooks and CRDs included) as one Pulumi
resource. The chart comes from its repository at the pinned version, or, where no chart
repository can be reached, from a local directory holding the pinned charts' folders
(``lakehouse:chartsDir`` or ``$LAKEHOUSE_CHARTS_DIR``); a folder whose Chart.yaml names
another version is refused. Values come from charts-values/<chart>/: the base file, then
the stack's file, then the values the program computes (which win).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from lakehouse_core.names import PART_OF
from lakehouse_core.paths import REPO_ROOT
from lakehouse_core.stack_config import ConfigError
from lakehouse_core.versions import HelmChart

CHART_VALUES = REPO_ROOT / "charts-values"
INSTALL_TIMEOUT_SECONDS = 600
CHARTS_DIR_ENV = "LAKEHOUSE_CHARTS_DIR"


def values_files(chart: str, environment: str) -> list[pulumi.FileAsset]:
    """The base values file and the stack's, in that order (later files win)."""
    files = [CHART_VALUES / chart / "base.yaml", CHART_VALUES / chart / f"{environment}.yaml"]
    for path in files:
        if not path.is_file():
            raise FileNotFoundError(f"Helm values file {path} is missing")
    return [pulumi.FileAsset(str(path)) for path in files]


def local_chart(charts_dir: str, chart: HelmChart) -> Path:
    """The pinned chart's folder under ``charts_dir``; ConfigError if absent or another version."""
    folder = Path(charts_dir).expanduser() / chart.name
    manifest = folder / "Chart.yaml"
    if not manifest.is_file():
        raise ConfigError(
            f"the charts directory {charts_dir} has no {chart.name}/Chart.yaml",
            hint=f"put the {chart.name} chart {chart.version} there (for example `helm pull "
            f"{chart.name} --repo {chart.repository} --version {chart.version} --untar`), "
            "or unset it to install from the chart repository",
        )
    found = re.search(r"^version:\s*['\"]?([^'\"\s]+)", manifest.read_text(), re.MULTILINE)
    if not found or found.group(1) != chart.version:
        raise ConfigError(
            f"{manifest} is version {found.group(1) if found else '(none)'}, "
            f"the version matrix pins {chart.version}",
            hint=f"replace the folder with the {chart.name} chart {chart.version}",
        )
    return folder


def chart_source(chart: HelmChart, charts_dir: str | None) -> dict[str, Any]:
    """The Release arguments that name the chart: a local folder, or the pinned repository."""
    charts_dir = charts_dir or os.environ.get(CHARTS_DIR_ENV) or None
    if charts_dir:
        return {"chart": str(local_chart(charts_dir, chart))}
    return {
        "chart": chart.name,
        "version": chart.version,
        "repository_opts": {"repo": chart.repository},
    }


def release(
    resource_name: str,
    chart: HelmChart,
    *,
    release_name: str,
    namespace: str,
    environment: str,
    charts_dir: str | None,
    values: dict[str, Any],
    opts: pulumi.ResourceOptions,
) -> k8s.helm.v3.Release:
    labelled = {**values, "commonLabels": {"app.kubernetes.io/part-of": PART_OF}}
    return k8s.helm.v3.Release(
        resource_name,
        name=release_name,
        namespace=namespace,
        value_yaml_files=values_files(chart.name, environment),
        values=labelled,
        timeout=INSTALL_TIMEOUT_SECONDS,
        opts=opts,
        **chart_source(chart, charts_dir),
    )
