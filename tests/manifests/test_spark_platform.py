"""The Spark operator release, the jobs namespace, and what the jobs need there."""

from __future__ import annotations

from lakehouse.render import Rendering
from lakehouse_core import versions
from lakehouse_core.names import ACCESS_KEY_ENV, SECRET_KEY_ENV

from .conftest import values_of


def test_operator_release_is_pinned_and_watches_the_jobs_namespace(rendering: Rendering) -> None:
    release = rendering.release("spark-operator")
    assert (release["chart"], release["version"]) == (
        versions.SPARK_OPERATOR_CHART.name,
        versions.SPARK_OPERATOR_CHART.version,
    )
    assert release["repositoryOpts"]["repo"] == versions.SPARK_OPERATOR_CHART.repository
    values = values_of(release)
    assert values["spark"]["jobNamespaces"] == ["lakehouse-jobs"]
    assert values["webhook"]["enable"] is True  # env from Secrets needs it
    assert values["spark"]["serviceAccount"] == {"create": True, "name": "lakehouse-spark"}
    # A chart bump must bring its CRDs too: Helm installs crds/ only on first install.
    assert values["hook"]["upgradeCrd"] is True
    assert release["valueYamlFiles"] == [
        "charts-values/spark-operator/base.yaml",
        f"charts-values/spark-operator/{rendering.stack}.yaml",
    ]


def test_jobs_namespace_holds_the_s3_credentials(rendering: Rendering) -> None:
    secret = rendering.find("Secret", "lakehouse-spark-s3", "lakehouse-jobs")
    assert set(secret["stringData"]) == {ACCESS_KEY_ENV, SECRET_KEY_ENV}


def test_namespaces_enforce_pod_security(rendering: Rendering) -> None:
    levels = {
        n["metadata"]["name"]: n["metadata"]["labels"]["pod-security.kubernetes.io/enforce"]
        for n in rendering.of_kind("Namespace")
    }
    assert levels["lakehouse-storage"] == levels["lakehouse-dremio"] == "restricted"
    # The chart's CRD hook Job cannot meet "restricted" (no values for it): baseline + warn.
    assert levels["lakehouse-spark"] == "baseline"
    assert levels["lakehouse-jobs"] == "baseline"
    assert levels["lakehouse-ingress"] == ("privileged" if rendering.stack == "dev" else "baseline")


def test_operator_and_webhook_have_requests_and_limits(rendering: Rendering) -> None:
    values = values_of(rendering.release("spark-operator"))
    for part in ("controller", "webhook"):
        resources = values[part]["resources"]
        assert resources["requests"]["memory"] and resources["limits"]["memory"], part
