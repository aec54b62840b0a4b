"""Where the local cluster keeps everything, and the addresses inside its network namespace.

All state lives under one folder of the project cache (``<cache>/localcluster/node``):
certificates, configuration, etcd's data, containerd's images and containers, the
kubelet's volumes, logs and pid files. ``delete`` removes that folder, the namespace and
the cgroups, and nothing else on the machine is touched.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lakehouse_core.paths import cache_dir

NETNS = "lakehouse-bed"
NODE_NAME = "lakehouse-bed"
# The kubeconfig context the dev stack pins (lakehouse:kubeContext): kind's name for it.
CONTEXT = "kind-lakehouse"
BRIDGE = "cni0"
POD_CIDR = "10.244.0.0/24"
NODE_IP = "10.244.0.1"  # the bridge's own address: the node, as pods and the host see it
SERVICE_CIDR = "10.96.0.0/16"
API_SERVICE_IP = "10.96.0.1"
DNS_SERVICE_IP = "10.96.0.10"
API_PORT = 6443
# Nothing answers here: CoreDNS and pods with dnsPolicy Default resolve nothing outside.
UNREACHABLE_NAMESERVER = "10.255.255.254"
CGROUP_PARENT = "lakehouse-bed"
CGROUP_V1_ROOT = Path("/sys/fs/cgroup")


@dataclass(frozen=True)
class Layout:
    root: Path

    @classmethod
    def default(cls) -> Layout:
        return cls(cache_dir() / "localcluster" / "node")

    @property
    def pki(self) -> Path:
        return self.root / "pki"

    @property
    def config(self) -> Path:
        return self.root / "config"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def pids(self) -> Path:
        return self.root / "pids"

    @property
    def etcd(self) -> Path:
        return self.root / "etcd"

    @property
    def containerd(self) -> Path:
        return self.root / "containerd"

    @property
    def containerd_socket(self) -> Path:
        return self.containerd / "containerd.sock"

    @property
    def kubelet(self) -> Path:
        return self.root / "kubelet"

    @property
    def cni_conf(self) -> Path:
        return self.root / "cni" / "net.d"

    @property
    def cni_state(self) -> Path:
        return self.root / "cni" / "state"

    @property
    def volumes(self) -> Path:
        return self.root / "local-path"

    @property
    def admin_kubeconfig(self) -> Path:
        return self.config / "admin.kubeconfig"

    @property
    def hosts_file(self) -> Path:
        return self.config / "hosts"

    @property
    def resolv_conf(self) -> Path:
        return self.config / "resolv.conf"

    def kubeconfig(self, component: str) -> Path:
        return self.config / f"{component}.kubeconfig"
