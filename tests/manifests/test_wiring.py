"""Objects that refer to each other agree: selectors, Secrets, ConfigMaps, headless Services."""

from __future__ import annotations

from typing import Any

from lakehouse.render import Rendering

from .conftest import containers, pod_templates


def _in(rendering: Rendering, kind: str, namespace: str) -> dict[str, dict[str, Any]]:
    return {
        o["metadata"]["name"]: o
        for o in rendering.of_kind(kind)
        if o["metadata"].get("namespace") == namespace
    }


def test_every_service_selects_pods_of_a_workload(rendering: Rendering) -> None:
    for service in rendering.of_kind("Service"):
        namespace = service["metadata"]["namespace"]
        selector = service["spec"]["selector"]
        matches = [
            o["metadata"]["name"]
            for o in rendering.objects
            if o["metadata"].get("namespace") == namespace
            for t in pod_templates(o)
            if selector.items() <= t["metadata"]["labels"].items() and o["kind"] != "Job"
        ]
        assert matches, f"Service {namespace}/{service['metadata']['name']} selects no pods"
        ports = {
            p["name"]
            for o in rendering.objects
            if o["metadata"]["name"] in matches and o["metadata"].get("namespace") == namespace
            for t in pod_templates(o)
            for c in t["spec"]["containers"]
            for p in c.get("ports", [])
        }
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in ports, (
                f"{service['metadata']['name']}: no port {port['targetPort']}"
            )


def test_referenced_secrets_and_config_maps_exist_with_their_keys(rendering: Rendering) -> None:
    for obj in rendering.objects:
        namespace = obj["metadata"].get("namespace")
        secrets, config_maps = (
            _in(rendering, "Secret", namespace),
            _in(rendering, "ConfigMap", namespace),
        )
        for template in pod_templates(obj):
            for volume in template["spec"].get("volumes", []):
                if "secret" in volume:
                    assert volume["secret"]["secretName"] in secrets, volume
                if "configMap" in volume:
                    assert volume["configMap"]["name"] in config_maps, volume
            for c in containers(template):
                for env in c.get("env", []):
                    ref = env.get("valueFrom", {}).get("secretKeyRef")
                    if ref:
                        secret = secrets.get(ref["name"])
                        assert secret is not None, (
                            f"{obj['metadata']['name']}: no Secret {ref['name']}"
                        )
                        assert ref["key"] in secret["stringData"], (
                            f"Secret {ref['name']} has no key {ref['key']}"
                        )


def test_statefulsets_name_existing_headless_services(rendering: Rendering) -> None:
    for sts in rendering.of_kind("StatefulSet"):
        services = _in(rendering, "Service", sts["metadata"]["namespace"])
        service = services.get(sts["spec"]["serviceName"])
        assert service is not None and service["spec"].get("clusterIP") == "None", sts["metadata"][
            "name"
        ]
        assert service["spec"].get("publishNotReadyAddresses") is True


def test_selectors_match_their_own_pod_templates(rendering: Rendering) -> None:
    for obj in rendering.objects:
        for template in pod_templates(obj):
            selector = obj["spec"].get("selector", {}).get("matchLabels")
            if selector:
                assert selector.items() <= template["metadata"]["labels"].items(), obj["metadata"][
                    "name"
                ]


def test_ingress_backends_exist(rendering: Rendering) -> None:
    for ingress in rendering.of_kind("Ingress"):
        services = _in(rendering, "Service", ingress["metadata"]["namespace"])
        for rule in ingress["spec"]["rules"]:
            backend = rule["http"]["paths"][0]["backend"]["service"]
            service = services.get(backend["name"])
            assert service is not None, (
                f"Ingress {ingress['metadata']['name']}: no {backend['name']}"
            )
            assert backend["port"]["number"] in {p["port"] for p in service["spec"]["ports"]}


def test_workloads_live_in_declared_namespaces(rendering: Rendering) -> None:
    namespaces = {o["metadata"]["name"] for o in rendering.of_kind("Namespace")}
    for obj in rendering.objects:
        namespace = obj["metadata"].get("namespace")
        if namespace:
            assert namespace in namespaces, (
                f"{obj['kind']} {obj['metadata']['name']} in {namespace}"
            )
    for release in rendering.releases:
        assert release["namespace"] in namespaces
