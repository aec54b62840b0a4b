"""NetworkPolicies from the flow table (``lakehouse_core.network``).

Each namespace the stack owns gets a default deny of ingress and egress, declared with the
namespace; each component declares, beside its pods, the one policy of each of its roles:
an ingress rule per flow into the role and an egress rule per flow out of it, each naming
the exact peer pods (namespace and labels) or CIDRs and the exact ports. Only standard
NetworkPolicy semantics are used, so kindnet on kind, kube-router on the test bed and any
other engine read them alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from lakehouse_core import network as flows
from lakehouse_core.network import Flow, Role
from lakehouse_core.stack_config import StackConfig
from lakehouse_infra import k8s as kube

NAMESPACE_LABEL = "kubernetes.io/metadata.name"  # set by the API server on every namespace


@dataclass(frozen=True)
class Network:
    """What a component needs to write its pods' policies: where each role's namespace is,
    the CIDRs of the outside peers, and whether policies are on."""

    enabled: bool
    namespaces: Mapping[str, str]
    cidrs: Mapping[str, tuple[str, ...]]

    @classmethod
    def of(cls, cfg: StackConfig) -> Network:
        return cls(
            enabled=cfg.network.policies,
            namespaces=cfg.role_namespaces,
            cidrs={
                "apiServerCidrs": tuple(cfg.network.api_server_cidrs),
                "ingressClientCidrs": tuple(cfg.network.ingress_client_cidrs),
            },
        )

    def namespace_of(self, role: Role) -> str:
        assert role.namespace is not None, role
        return self.namespaces[role.namespace]

    def peers(self, role: Role) -> list[dict[str, Any]]:
        if not role.is_pods:
            assert role.cidr_setting is not None
            return [{"ipBlock": {"cidr": cidr}} for cidr in self.cidrs[role.cidr_setting]]
        return [
            {
                "namespaceSelector": {"matchLabels": {NAMESPACE_LABEL: self.namespace_of(role)}},
                "podSelector": {"matchLabels": role.selector},
            }
        ]

    @staticmethod
    def ports(flow: Flow) -> list[dict[str, Any]]:
        return [{"protocol": p.protocol, "port": p.number} for p in flow.ports]

    def default_deny(
        self, key: str, component: str, opts: pulumi.ResourceOptions
    ) -> k8s.networking.v1.NetworkPolicy | None:
        """Nothing in or out of the namespace but what a role's own policy allows."""
        if not self.enabled:
            return None
        namespace = self.namespaces[key]
        return k8s.networking.v1.NetworkPolicy(
            f"{namespace}-default-deny",
            metadata=kube.metadata(
                "default-deny", namespace, kube.labels("default-deny", component)
            ),
            spec={"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
            opts=opts,
        )

    def policy_spec(self, role: Role) -> dict[str, Any]:
        """The role's policy: one ingress rule per flow into it, one egress rule per flow out."""
        return {
            "podSelector": {"matchLabels": role.selector} if role.selector else {},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [
                {"from": self.peers(f.source), "ports": self.ports(f)}
                for f in flows.flows_into(role)
            ],
            "egress": [
                {"to": self.peers(f.destination), "ports": self.ports(f)}
                for f in flows.flows_out_of(role)
            ],
        }

    def allow(
        self, role: Role, component: str, opts: pulumi.ResourceOptions
    ) -> k8s.networking.v1.NetworkPolicy | None:
        if not self.enabled:
            return None
        namespace = self.namespace_of(role)
        return k8s.networking.v1.NetworkPolicy(
            f"{namespace}-{role.name}",
            metadata=kube.metadata(role.name, namespace, kube.labels(role.name, component)),
            spec=self.policy_spec(role),
            opts=opts,
        )
