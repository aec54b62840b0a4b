"""Both stacks rendered once per session under Pulumi's mocks (no cluster, no CLI)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pytest
import yaml

from lakehouse.render import Rendering, render_stack
from lakehouse_core.errors import LakehouseError
from lakehouse_core.paths import REPO_ROOT

pytestmark = pytest.mark.manifests

STACKS = ("dev", "prod")
# Where the steering repository keeps the operator's CRDs (never copied into the project).
GIVEN_CRD_DIR = REPO_ROOT.parent / "shared" / "schemas" / "spark-operator-v2.5.2"


@functools.cache
def crd_dir() -> Path | str:
    """The operator's CRDs at the pinned version, or why they cannot be had.

    The folder given beside the repository, else the operator's own Go module at the
    chart's appVersion, as the cluster test bed's image build reads it. Nothing is copied
    into the project.
    """
    if GIVEN_CRD_DIR.is_dir():
        return GIVEN_CRD_DIR
    from lakehouse_bed.images import operator_crd_dir

    try:
        folder = operator_crd_dir()
    except LakehouseError as err:
        return f"no CRD folder at {GIVEN_CRD_DIR}, and the operator's module: {err}"
    return folder if folder.is_dir() else f"the operator's module has no {folder}"


WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job")


@pytest.fixture(scope="session")
def renderings() -> dict[str, Rendering]:
    return {stack: render_stack(stack) for stack in STACKS}


@pytest.fixture(scope="session", params=STACKS)
def rendering(request: pytest.FixtureRequest, renderings: dict[str, Rendering]) -> Rendering:
    return renderings[request.param]


@pytest.fixture(scope="session")
def dev(renderings: dict[str, Rendering]) -> Rendering:
    return renderings["dev"]


@pytest.fixture(scope="session")
def prod(renderings: dict[str, Rendering]) -> Rendering:
    return renderings["prod"]


def pod_templates(obj: dict[str, Any]) -> list[dict[str, Any]]:
    """The pod spec(s) a workload object runs."""
    if obj["kind"] in WORKLOAD_KINDS:
        return [obj["spec"]["template"]]
    return []


def containers(pod_template: dict[str, Any]) -> list[dict[str, Any]]:
    spec = pod_template["spec"]
    return [*spec.get("initContainers", []), *spec["containers"]]


def checked_in_manifests() -> dict[str, dict[str, Any]]:
    root = REPO_ROOT / "spark-apps" / "manifests"
    return {
        p.relative_to(root).as_posix(): yaml.safe_load(p.read_text())
        for p in sorted(root.rglob("*.yaml"))
    }


def crd_schema(kind: str) -> dict[str, Any]:
    plural = {
        "SparkApplication": "sparkapplications",
        "ScheduledSparkApplication": "scheduledsparkapplications",
    }[kind]
    folder = crd_dir()
    assert isinstance(folder, Path), folder
    crd = yaml.safe_load((folder / f"sparkoperator.k8s.io_{plural}.yaml").read_text())
    [version] = [v for v in crd["spec"]["versions"] if v["name"] == "v1beta2"]
    return dict(version["schema"]["openAPIV3Schema"])


def values_of(release: dict[str, Any]) -> dict[str, Any]:
    """A release's effective values: its values files in order, then its inline values."""
    merged: dict[str, Any] = {}
    for path in release.get("valueYamlFiles", []):
        merged = deep_merge(merged, yaml.safe_load((REPO_ROOT / Path(path)).read_text()) or {})
    return deep_merge(merged, release.get("values") or {})


def deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in top.items():
        out[key] = (
            deep_merge(out[key], value)
            if isinstance(value, dict) and isinstance(out.get(key), dict)
            else value
        )
    return out
