"""The ingress controller (Traefik; ingress-nginx is retired) and the Ingress objects.

Traefik comes from its maintained Helm chart through ``helm.v3.Release`` with values from
charts-values/traefik/ (a base file plus one per stack). On kind it binds host ports 80
and 443 on the node labelled ``ingress-ready=true`` and publishes 127.0.0.1 as every
Ingress's address (there is no load balancer to publish); in prod every host gets TLS.
Each route is an Ingress owned by this component.

Its permissions are the component's own, not the chart's: the chart's ClusterRole reads
every Secret of the cluster (MinIO's root, Dremio's admin, the Spark keys). Traefik here
reads IngressClasses and nodes cluster-wide, everything else (Ingresses, Services, endpoints,
the TLS Secrets) only in the namespaces that hold routes; its Kubernetes CRD provider is
on only when a route has an allowlist (a Middleware).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from lakehouse_core import names, versions
from lakehouse_core import network as flows
from lakehouse_core.stack_config import IngressConfig
from lakehouse_infra import helm
from lakehouse_infra import k8s as kube
from lakehouse_infra.network import Network
from lakehouse_infra.tls import InternalTls

# The chart's service account (its fullname: the release's name); the component binds it.
TRAEFIK_ACCOUNT = "traefik"


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
    allowlist: tuple[str, ...] = ()  # source CIDRs; empty: anyone who reaches the ingress


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
        route_namespaces: list[str],
        tls: InternalTls | None = None,
        metrics: bool = True,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("lakehouse:ingress:IngressController", name, None, opts)
        self.cfg = cfg
        self.middlewares = cfg.allowlists.any()
        # hostPort is outside the baseline Pod Security level, so only kind relaxes it.
        enforce = "privileged" if cfg.host_ports else "baseline"
        self.namespace = kube.namespace(
            cfg.namespace, "ingress", enforce, pulumi.ResourceOptions(parent=self)
        )
        in_ns = pulumi.ResourceOptions(parent=self, depends_on=[self.namespace])
        network.default_deny(flows.INGRESS, "ingress", in_ns)
        network.allow(flows.TRAEFIK, "ingress", in_ns)
        rbac = self._rbac(cfg.namespace, route_namespaces, in_ns)
        backend_tls: dict[str, Any] = {}
        file_provider: dict[str, Any] = {}
        if tls is not None:
            # Traefik reaches MinIO over TLS and trusts the stack's CA for it. It dials the
            # pods' IPs, which MinIO's certificate does not name: the servers transport the
            # MinIO Services name checks the certificate for the Service's DNS name instead.
            rbac += tls.trust(cfg.namespace, in_ns).resources
            ca_file = f"{names.CA_DIR}/ca.crt"
            backend_tls = {
                "volumes": [
                    {"name": names.CA_BUNDLE, "mountPath": names.CA_DIR, "type": "configMap"}
                ],
                "additionalArguments": [f"--serversTransport.rootCAs={ca_file}"],
            }
            minio = tls.addresses.service(names.MINIO, names.STORAGE_NAMESPACE)
            transport = {"serverName": minio, "rootCAs": [ca_file]}
            file_provider = {
                "file": {
                    "enabled": True,
                    "content": {
                        "http": {"serversTransports": {names.MINIO_SERVERS_TRANSPORT: transport}}
                    },
                }
            }
        self.release = helm.release(
            name,
            versions.TRAEFIK_CHART,
            release_name="traefik",
            namespace=cfg.namespace,
            environment=environment,
            charts_dir=charts_dir,
            values={
                "ingressClass": {"enabled": True, "isDefaultClass": True, "name": cfg.class_name},
                "rbac": {"enabled": False},
                "providers": {
                    "kubernetesIngress": {"namespaces": route_namespaces},
                    "kubernetesCRD": {
                        "enabled": self.middlewares,
                        "namespaces": route_namespaces,
                    },
                    **file_provider,
                },
                # Prometheus metrics on the chart's "metrics" entry point (port 9100, not on
                # the Service): requests per entry point and per backend service.
                "metrics": {
                    "prometheus": {"entryPoint": "metrics", "addServicesLabels": True}
                    if metrics
                    else None
                },
                **backend_tls,
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.namespace, *rbac]),
        )
        self.register_outputs({"namespace": cfg.namespace, "className": cfg.class_name})

    def _rbac(
        self, namespace: str, route_namespaces: list[str], opts: pulumi.ResourceOptions
    ) -> list[pulumi.Resource]:
        """IngressClasses and nodes cluster-wide; the rest in the namespaces that hold routes."""
        subject = {"kind": "ServiceAccount", "name": TRAEFIK_ACCOUNT, "namespace": namespace}
        read = ["get", "list", "watch"]
        made: list[pulumi.Resource] = []
        cluster_name = f"{namespace}-traefik-ingressclasses"
        made.append(
            k8s.rbac.v1.ClusterRole(
                cluster_name,
                metadata={"name": cluster_name, "labels": kube.labels("traefik", "ingress")},
                rules=[
                    {
                        "apiGroups": ["networking.k8s.io"],
                        "resources": ["ingressclasses"],
                        "verbs": read,
                    },
                    # Traefik's ingress provider watches nodes (cluster-scoped; no secrets),
                    # and waits for that watch before it serves any route.
                    {"apiGroups": [""], "resources": ["nodes"], "verbs": read},
                ],
                opts=opts,
            )
        )
        made.append(
            k8s.rbac.v1.ClusterRoleBinding(
                cluster_name,
                metadata={"name": cluster_name, "labels": kube.labels("traefik", "ingress")},
                role_ref={
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "ClusterRole",
                    "name": cluster_name,
                },
                subjects=[subject],
                opts=opts,
            )
        )
        rules: list[dict[str, Any]] = [
            {"apiGroups": [""], "resources": ["services", "secrets"], "verbs": read},
            {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": read},
            {"apiGroups": ["networking.k8s.io"], "resources": ["ingresses"], "verbs": read},
            {
                "apiGroups": ["networking.k8s.io"],
                "resources": ["ingresses/status"],
                "verbs": ["update"],
            },
        ]
        if self.middlewares:
            rules.append(
                {
                    "apiGroups": ["traefik.io"],
                    "resources": [
                        "middlewares",
                        "middlewaretcps",
                        "ingressroutes",
                        "ingressroutetcps",
                        "ingressrouteudps",
                        "tlsoptions",
                        "tlsstores",
                        "traefikservices",
                        "serverstransports",
                        "serverstransporttcps",
                    ],
                    "verbs": read,
                }
            )
        for watched in route_namespaces:
            role = f"{watched}-traefik"
            labels = kube.labels("traefik", "ingress")
            made.append(
                k8s.rbac.v1.Role(
                    role,
                    metadata=kube.metadata("traefik", watched, labels),
                    rules=rules,
                    opts=opts,
                )
            )
            made.append(
                k8s.rbac.v1.RoleBinding(
                    role,
                    metadata=kube.metadata("traefik", watched, labels),
                    role_ref={
                        "apiGroup": "rbac.authorization.k8s.io",
                        "kind": "Role",
                        "name": "traefik",
                    },
                    subjects=[subject],
                    opts=opts,
                )
            )
        return made

    def url(self, host: str) -> str:
        return self.cfg.url(host)

    def allowlist(
        self,
        name: str,
        namespace: str,
        cidrs: tuple[str, ...],
        component: str,
        depends_on: list[pulumi.Resource],
    ) -> pulumi.Resource:
        """A Traefik ipAllowList middleware, ``<namespace>-<name>-allowlist@kubernetescrd``
        for the Ingresses that name it (a route's own, or the operator's live UI routes)."""
        middleware: pulumi.Resource = k8s.apiextensions.CustomResource(
            f"{name}-allowlist",
            api_version="traefik.io/v1alpha1",
            kind="Middleware",
            metadata=kube.metadata(f"{name}-allowlist", namespace, kube.labels(name, component)),
            spec={"ipAllowList": {"sourceRange": list(cidrs)}},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.release, *depends_on]),
        )
        return middleware

    def route(self, route: Route) -> k8s.networking.v1.Ingress:
        """An Ingress for one host, with TLS when the stack asks for it, and its allowlist
        (a Traefik ipAllowList middleware) when the stack gives one."""
        tls = self.cfg.tls
        annotations = dict(route.annotations)
        depends_on = [self.release, *route.depends_on]
        if route.allowlist:
            middleware = self.allowlist(
                route.name, route.namespace, route.allowlist, route.component, depends_on
            )
            depends_on.append(middleware)
            annotations["traefik.ingress.kubernetes.io/router.middlewares"] = (
                f"{route.namespace}-{route.name}-allowlist@kubernetescrd"
            )
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
            opts=pulumi.ResourceOptions(parent=self, depends_on=depends_on),
        )
