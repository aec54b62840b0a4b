"""The ingress controller (Traefik; ingress-nginx is retired) and the Ingress objects.

Traefik comes from its maintained Helm chart through ``helm.v3.Release`` with values from
charts-values/traefik/ (a base file plus one per stack). On kind it binds host ports 80
and 443 on the node labelled ``ingress-ready=true``; in prod every host gets TLS.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from lakehouse import versions
from lakehouse_infra import helm
from lakehouse_infra import k8s as kube
from lakehouse_infra.config import StackConfig


class IngressController(pulumi.ComponentResource):
    """Traefik, serving standard networking.k8s.io/v1 Ingress objects."""

    def __init__(
        self, name: str, cfg: StackConfig, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("lakehouse:ingress:IngressController", name, None, opts)
        self.cfg = cfg.ingress
        child = pulumi.ResourceOptions(parent=self)
        # hostPort is outside the baseline Pod Security level, so only kind relaxes it.
        enforce = "privileged" if self.cfg.host_ports else "baseline"
        self.namespace = kube.namespace(self.cfg.namespace, "ingress", enforce, child)
        self.release = helm.release(
            name,
            versions.TRAEFIK_CHART,
            release_name="traefik",
            namespace=self.cfg.namespace,
            environment=cfg.environment,
            values={
                "ingressClass": {
                    "enabled": True,
                    "isDefaultClass": True,
                    "name": self.cfg.class_name,
                },
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.namespace]),
        )
        self.register_outputs({"namespace": self.cfg.namespace, "className": self.cfg.class_name})

    def url(self, host: str) -> str:
        scheme = "https" if self.cfg.tls.enabled else "http"
        return f"{scheme}://{host}"

    def route(
        self,
        name: str,
        *,
        namespace: str,
        host: str,
        service: str,
        port: int,
        component: str,
        opts: pulumi.ResourceOptions,
        annotations: dict[str, str] | None = None,
    ) -> k8s.networking.v1.Ingress:
        """An Ingress for one host, with TLS when the stack asks for it."""
        tls = self.cfg.tls
        meta_annotations = dict(annotations or {})
        # Any: a plain dict in the Ingress API's shape (the typed Args would add nothing).
        spec: Any = {
            "ingressClassName": self.cfg.class_name,
            "rules": [
                {
                    "host": host,
                    "http": {
                        "paths": [
                            {
                                "path": "/",
                                "pathType": "Prefix",
                                "backend": {"service": {"name": service, "port": {"number": port}}},
                            }
                        ]
                    },
                }
            ],
        }
        if tls.enabled:
            secret = tls.secret_name or f"{name}-tls"
            spec["tls"] = [{"hosts": [host], "secretName": secret}]
            if tls.cluster_issuer:
                meta_annotations["cert-manager.io/cluster-issuer"] = tls.cluster_issuer
            meta_annotations["traefik.ingress.kubernetes.io/router.tls"] = "true"
        return k8s.networking.v1.Ingress(
            name,
            metadata=kube.metadata(
                name, namespace, kube.labels(name, component), annotations=meta_annotations
            ),
            spec=spec,
            opts=pulumi.ResourceOptions.merge(
                opts, pulumi.ResourceOptions(depends_on=[self.release])
            ),
        )
