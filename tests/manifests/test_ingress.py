"""Traefik (ingress-nginx is retired), the Ingress objects, and the kind cluster they assume."""

from __future__ import annotations

import pytest
import yaml

from lakehouse.render import Rendering, render_stack
from lakehouse_core import versions
from lakehouse_core.paths import REPO_ROOT
from lakehouse_core.stack_config import ConfigError

from .conftest import values_of

# The prod stack file's ingress section, which an override replaces whole.
PROD_INGRESS = yaml.safe_load((REPO_ROOT / "Pulumi.prod.yaml").read_text())["config"][
    "lakehouse:ingress"
]


def test_traefik_release_is_pinned(rendering: Rendering) -> None:
    release = rendering.release("traefik")
    assert (release["chart"], release["version"]) == (
        versions.TRAEFIK_CHART.name,
        versions.TRAEFIK_CHART.version,
    )


def test_dev_binds_host_ports_on_the_ingress_ready_node(dev: Rendering) -> None:
    values = values_of(dev.release("traefik"))
    assert (
        values["ports"]["web"]["hostPort"] == 80 and values["ports"]["websecure"]["hostPort"] == 443
    )
    assert values["nodeSelector"] == {"ingress-ready": "true"}
    assert values["service"]["spec"]["type"] == "ClusterIP"  # no LoadBalancer on kind
    assert values["updateStrategy"]["rollingUpdate"] == {"maxUnavailable": 1, "maxSurge": 0}


def test_prod_uses_a_load_balancer_and_redirects_to_https(prod: Rendering) -> None:
    values = values_of(prod.release("traefik"))
    assert values["service"]["spec"]["type"] == "LoadBalancer"
    assert values["ports"]["web"]["http"]["redirections"]["entryPoint"]["to"] == "websecure"


def test_ingress_hosts_come_from_config_and_prod_has_tls_everywhere(rendering: Rendering) -> None:
    ingresses = rendering.of_kind("Ingress")
    hosts = [i["spec"]["rules"][0]["host"] for i in ingresses]
    # MinIO's console (which accepts the root user), the history server and Prometheus
    # (no login of their own) and Spark Connect have routes in dev only, unless prod gives
    # allowlists.
    assert len(hosts) == len(set(hosts)) == (7 if rendering.stack == "dev" else 3)
    assert any(h.startswith("minio.") for h in hosts) == (rendering.stack == "dev")
    suffix = ".localhost" if rendering.stack == "dev" else ".example.com"
    assert all(h.endswith(suffix) for h in hosts)
    for ingress in ingresses:
        assert ingress["spec"]["ingressClassName"] == "traefik"
        if rendering.stack == "prod":
            assert ingress["spec"]["tls"][0]["hosts"] == [ingress["spec"]["rules"][0]["host"]]
            assert (
                ingress["metadata"]["annotations"]["cert-manager.io/cluster-issuer"]
                == "letsencrypt"
            )
        else:
            assert "tls" not in ingress["spec"]


def test_kind_cluster_config_matches_the_dev_stack() -> None:
    kind = yaml.safe_load((REPO_ROOT / "infra" / "kind-cluster.yaml").read_text())
    [node] = kind["nodes"]
    assert node["role"] == "control-plane" and node["labels"] == {"ingress-ready": "true"}
    assert {(m["containerPort"], m["hostPort"]) for m in node["extraPortMappings"]} == {
        (80, 80),
        (443, 443),
    }
    assert node["image"] == versions.KIND_NODE_IMAGE.ref
    stack = yaml.safe_load((REPO_ROOT / "Pulumi.dev.yaml").read_text())["config"]
    assert stack["lakehouse:kubeContext"] == f"kind-{kind['name']}"


def test_prod_console_route_needs_an_allowlist_and_gets_one() -> None:
    with pytest.raises(ConfigError, match="consoleRoute is on in prod without"):
        render_stack("prod", overrides={"ingress": {**PROD_INGRESS, "consoleRoute": True}})
    rendering = render_stack(
        "prod",
        overrides={
            "ingress": {
                **PROD_INGRESS,
                "consoleRoute": True,
                "allowlists": {"console": ["10.20.0.0/16"], "s3": ["10.0.0.0/8"]},
            }
        },
    )
    console = rendering.find("Ingress", "minio-console", "lakehouse-storage")
    assert console["metadata"]["annotations"][
        "traefik.ingress.kubernetes.io/router.middlewares"
    ] == ("lakehouse-storage-minio-console-allowlist@kubernetescrd")
    middleware = rendering.find("Middleware", "minio-console-allowlist", "lakehouse-storage")
    assert middleware["spec"] == {"ipAllowList": {"sourceRange": ["10.20.0.0/16"]}}
    s3 = rendering.find("Middleware", "minio-s3-allowlist", "lakehouse-storage")
    assert s3["spec"]["ipAllowList"]["sourceRange"] == ["10.0.0.0/8"]
    dremio = rendering.find("Ingress", "dremio", "lakehouse-dremio")
    assert "traefik.ingress.kubernetes.io/router.middlewares" not in dremio["metadata"].get(
        "annotations", {}
    )
    # The CRD provider (Middlewares) is on only now, in the routed namespaces only.
    values = values_of(rendering.release("traefik"))
    assert values["providers"]["kubernetesCRD"] == {
        "enabled": True,
        "namespaces": ["lakehouse-storage", "lakehouse-dremio"],
    }


def test_traefik_reads_secrets_only_where_routes_are(rendering: Rendering) -> None:
    values = values_of(rendering.release("traefik"))
    assert values["rbac"] == {"enabled": False}  # not the chart's cluster-wide ClusterRole
    # In dev the history server, the live UIs (jobs) and Prometheus (monitoring) have routes.
    observability = ["lakehouse-jobs", "lakehouse-monitoring"] if rendering.stack == "dev" else []
    route_namespaces = ["lakehouse-storage", "lakehouse-dremio", *observability]
    assert values["providers"]["kubernetesIngress"]["namespaces"] == route_namespaces
    cluster_rules = [
        rule
        for role in rendering.of_kind("ClusterRole")
        if "traefik" in role["metadata"]["name"]
        for rule in role["rules"]
    ]
    assert cluster_rules == [
        {"apiGroups": ["networking.k8s.io"], "resources": ["ingressclasses"],
         "verbs": ["get", "list", "watch"]},
        {"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "list", "watch"]},
    ]  # fmt: skip
    roles = {
        r["metadata"]["namespace"]: r
        for r in rendering.of_kind("Role")
        if r["metadata"]["name"] == "traefik"
    }
    assert set(roles) == set(route_namespaces)
    bindings = [
        b
        for b in [*rendering.of_kind("ClusterRoleBinding"), *rendering.of_kind("RoleBinding")]
        if "traefik" in b["metadata"]["name"]
    ]
    assert {s["name"] for b in bindings for s in b["subjects"]} == {"traefik"}
