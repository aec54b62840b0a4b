"""Every declared object validates strictly against Kubernetes' and the operator's schemas."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest

from lakehouse.render import Rendering
from lakehouse_core import versions

from .conftest import checked_in_manifests, crd_dir, crd_schema

CUSTOM_KINDS = ("SparkApplication", "ScheduledSparkApplication")
# Kinds of other projects' CRDs: the Prometheus operator's (checked below), Traefik's.
OTHER_CUSTOM_KINDS = ("PodMonitor", "Middleware")
# kind's default node (v0.32: 1.36) and the oldest Kubernetes the stacks support.
KUBERNETES_VERSIONS = tuple(f"{v}.0" for v in versions.KUBERNETES_VERSIONS_SUPPORTED)


@pytest.mark.parametrize("k8s_version", KUBERNETES_VERSIONS)
def test_every_builtin_object_validates_strictly(rendering: Rendering, k8s_version: str) -> None:
    checked = 0
    for obj in rendering.objects:
        if obj["kind"] in CUSTOM_KINDS + OTHER_CUSTOM_KINDS:
            continue
        try:
            kubernetes_validate.validate(obj, k8s_version, strict=True)
        except kubernetes_validate.ValidationError as err:
            pytest.fail(
                f"{obj['kind']} {obj['metadata']['name']} is invalid on {k8s_version}: "
                f"{err.message}"
            )
        checked += 1
    assert checked >= 25, f"only {checked} objects rendered: did the program stop early?"


def _validate_custom(obj: dict[str, Any]) -> None:
    jsonschema.Draft7Validator(crd_schema(obj["kind"])).validate(obj)


@pytest.fixture
def crds_available() -> None:
    found = crd_dir()
    if not isinstance(found, Path):
        pytest.skip(f"the operator's CRD schemas are not available: {found}")


def test_rendered_spark_applications_match_the_operator_crds(
    rendering: Rendering, crds_available: None
) -> None:
    custom = [o for o in rendering.objects if o["kind"] in CUSTOM_KINDS]
    assert custom, "the stack declares no SparkApplication or ScheduledSparkApplication"
    for obj in custom:
        _validate_custom(obj)


def test_checked_in_manifests_match_the_operator_crds(crds_available: None) -> None:
    manifests = checked_in_manifests()
    # The pipeline, its three layers, the maintenance, the backup, and three schedules.
    assert len(manifests) == 9, sorted(manifests)
    for name, obj in manifests.items():
        try:
            _validate_custom(obj)
        except jsonschema.ValidationError as err:
            pytest.fail(f"{name}: {err.message} at {list(err.absolute_path)}")


def test_a_bad_spark_application_is_caught(crds_available: None) -> None:
    """The CRD check is real: a wrong type fails it."""
    bad = next(iter(checked_in_manifests().values()))
    bad = {**bad, "spec": {**bad["spec"], "type": "Rust"}}
    with pytest.raises(jsonschema.ValidationError, match="Rust"):
        _validate_custom(bad)


def test_lakehouse_render_writes_files_that_validate(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`lakehouse render --stack dev --out DIR` output passes the same strict validation."""
    import yaml
    from typer.testing import CliRunner

    from lakehouse.cli.app import app

    result = CliRunner().invoke(app, ["render", "--stack", "dev", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    files = [p for p in tmp_path.rglob("*.yaml") if p.parent.name != "helm"]
    assert len(files) >= 30
    for path in files:
        obj = yaml.safe_load(path.read_text())
        if obj["kind"] in CUSTOM_KINDS:
            if isinstance(crd_dir(), Path):
                _validate_custom(obj)
            continue
        if obj["kind"] in OTHER_CUSTOM_KINDS:
            continue
        kubernetes_validate.validate(obj, KUBERNETES_VERSIONS[-1], strict=True)
        assert "mock-" not in path.read_text(), f"{path} holds a secret value"


def podmonitor_schema() -> dict[str, Any] | str:
    """The PodMonitor CRD's schema from the Prometheus operator's Go module, or why not."""
    import json
    import shutil
    import subprocess

    import yaml

    go = shutil.which("go")
    if go is None:
        return "no Go toolchain to fetch the Prometheus operator's module"
    module = "github.com/prometheus-operator/prometheus-operator@" + (
        versions.PROMETHEUS_OPERATOR_GO_VERSION
    )
    done = subprocess.run(
        [go, "mod", "download", "-json", module], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        return f"go mod download {module}: {done.stderr.strip()[-300:]}"
    crd = Path(json.loads(done.stdout)["Dir"]) / "example" / "prometheus-operator-crd"
    doc = yaml.safe_load((crd / "monitoring.coreos.com_podmonitors.yaml").read_text())
    [version] = [v for v in doc["spec"]["versions"] if v["name"] == "v1"]
    return dict(version["schema"]["openAPIV3Schema"])


def test_pod_monitors_match_the_prometheus_operator_crd(prod: Rendering) -> None:
    schema = podmonitor_schema()
    if isinstance(schema, str):
        pytest.skip(schema)
    monitors = prod.of_kind("PodMonitor")
    assert monitors
    for monitor in monitors:
        jsonschema.Draft7Validator(schema).validate(monitor)
