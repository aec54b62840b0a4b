"""Traefik (ingress-nginx is retired), the Ingress objects, and the kind cluster they assume."""

from __future__ import annotations

import yaml

from lakehouse.render import Rendering
from lakehouse_core import versions
from lakehouse_core.paths import REPO_ROOT

from .conftest import values_of


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
    assert len(hosts) == len(set(hosts)) == 4
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
