"""The ingress controller (Traefik; ingress-nginx is retired) and the Ingress objects.

Traefik comes from its maintained Helm chart through ``helm.v3.Release`` with values from
charts-values/traefik/ (a base file plus one per stack). On kind it binds host ports 80
and 443 on the node labelled ``ingress-ready=true`` and publishes 127.0.0.1 as every
Ingress's address (there is no load balancer to publish); in prod every host gets TLS.
Each route is an Ingress owned by this component.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from lakehouse_core import network as flows
from lakehouse_core import versions
from lakehouse_core.stack_config import IngressConfig
from lakehouse_infra import helm
from lakehouse_infra import k8s as kube
from lakehouse_infra.network import Network


@dataclass(frozen=True)
class Route:
    """One host of the lakehouse, served by a Service in some namespace."""

    name: str
    namespace: str
    host: str
    service: str
    port: int
    component: str
    depends_on: list[pulumi.Resource] = field(default_factory=list)
    annotations: dict[str, str] = field(default_factory=dict)


class IngressController(pulumi.ComponentResource):
    """Traefik, serving standard networking.k8s.io/v1 Ingress objects."""

    def __init__(
        self,
        name: str,
        *,
        cfg: IngressConfig,
        environment: str,
        charts_dir: str | None,
        network: Network,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("lakehouse:ingress:IngressController", name, None, opts)
        self.cfg = cfg
        # hostPort is outside the baseline Pod Security level, so only kind relaxes it.
        enforce = "privileged" if cfg.host_ports else "baseline"
        self.namespace = kube.namespace(
            cfg.namespace, "ingress", enforce, pulumi.ResourceOptions(parent=self)
        )
        in_ns = pulumi.ResourceOptions(parent=self, depends_on=[self.namespace])
        network.default_deny(flows.INGRESS, "ingress", in_ns)
        network.allow(flows.TRAEFIK, "ingress", in_ns)
        self.release = helm.release(
            name,
            versions.TRAEFIK_CHART,
            release_name="traefik",
            namespace=cfg.namespace,
            environment=environment,
            charts_dir=charts_dir,
            values={
                "ingressClass": {"enabled": True, "isDefaultClass": True, "name": cfg.class_name},
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.namespace]),
        )
        self.register_outputs({"namespace": cfg.namespace, "className": cfg.class_name})

    def url(self, host: str) -> str:
        return self.cfg.url(host)

    def route(self, route: Route) -> k8s.networking.v1.Ingress:
        """An Ingress for one host, with TLS when the stack asks for it."""
        tls = self.cfg.tls
        annotations = dict(route.annotations)
        # Any: a plain dict in the Ingress API's shape (the typed Args would add nothing).
        spec: Any = {
            "ingressClassName": self.cfg.class_name,
            "rules": [
                {
                    "host": route.host,
                    "http": {
                        "paths": [
                            {
                                "path": "/",
                                "pathType": "Prefix",
                                "backend": {
                                    "service": {
                                        "name": route.service,
                                        "port": {"number": route.port},
                                    }
                                },
                            }
                        ]
                    },
                }
            ],
        }
        if tls.enabled:
            secret = tls.secret_name or f"{route.name}-tls"
            spec["tls"] = [{"hosts": [route.host], "secretName": secret}]
            if tls.cluster_issuer:
                annotations["cert-manager.io/cluster-issuer"] = tls.cluster_issuer
            annotations["traefik.ingress.kubernetes.io/router.tls"] = "true"
        return k8s.networking.v1.Ingress(
            route.name,
            metadata=kube.metadata(
                route.name,
                route.namespace,
                kube.labels(route.name, route.component),
                annotations=annotations,
            ),
            spec=spec,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.release, *route.depends_on]),
        )
