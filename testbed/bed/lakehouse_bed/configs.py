"""The local node's configuration files: containerd, CNI, kubelet, kube-proxy, kubeconfigs.

Each setting that this machine needs and a default would not give is explained where it
is set. Every path points into the node's own folder: nothing is written to /etc, /var or
/run of the host.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import yaml

from lakehouse_bed import layout as L
from lakehouse_bed.layout import Layout

PAUSE_IMAGE = "registry.k8s.io/pause:3.10"

# One identity per component: (kubeconfig/cert name, common name, organization).
COMPONENTS = {
    "admin": ("kubernetes-admin", "system:masters"),
    "controller-manager": ("system:kube-controller-manager", None),
    "scheduler": ("system:kube-scheduler", None),
    "kubelet": (f"system:node:{L.NODE_NAME}", "system:nodes"),
    "kube-proxy": ("system:kube-proxy", None),
    "kube-router": ("system:kube-router", None),  # the NetworkPolicy engine (addons' RBAC)
    # The API server's identity towards kubelets (logs, exec, port-forward).
    "apiserver-kubelet-client": ("kube-apiserver-kubelet-client", "system:masters"),
}

# Below this share of free disk the kubelet taints the node (disk-pressure): no pod starts.
EVICTION_FREE_PERCENT = 2


def containerd_toml(lay: Layout) -> str:
    return f"""\
# containerd of the lakehouse local cluster: state and socket in the node's folder.
version = 2
root = "{lay.containerd / "root"}"
state = "{lay.containerd / "state"}"
disabled_plugins = [
  "io.containerd.internal.v1.opt",
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.tracing.processor.v1.otlp",
]

[grpc]
  address = "{lay.containerd_socket}"

[ttrpc]
  address = "{lay.containerd / "containerd.sock.ttrpc"}"

[plugins."io.containerd.grpc.v1.cri"]
  # A locally built pause image; there is no registry to pull one from.
  sandbox_image = "{PAUSE_IMAGE}"
  # This machine lacks CAP_SYS_RESOURCE: without this every sandbox fails to start.
  restrict_oom_score_adj = true
  enable_selinux = false
  # Pods' network namespaces under containerd's state folder, not the host's /run/netns.
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "{lay.containerd / "runc"}"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "{lay.cni_conf}"
"""


def cni_conflist(lay: Layout) -> str:
    return json.dumps(
        {
            "cniVersion": "1.0.0",
            "name": "lakehouse-bed",
            "plugins": [
                {
                    "type": "bridge",
                    "bridge": L.BRIDGE,
                    "isGateway": True,
                    "ipMasq": False,
                    "hairpinMode": True,
                    "ipam": {
                        "type": "host-local",
                        "ranges": [[{"subnet": L.POD_CIDR, "gateway": L.NODE_IP}]],
                        "routes": [{"dst": "0.0.0.0/0"}],
                        "dataDir": str(lay.cni_state),
                    },
                },
                {"type": "portmap", "capabilities": {"portMappings": True}, "snat": True},
            ],
        },
        indent=2,
    )


def kubelet_config(lay: Layout) -> str:
    pki = lay.pki
    return yaml.safe_dump(
        {
            "apiVersion": "kubelet.config.k8s.io/v1beta1",
            "kind": "KubeletConfiguration",
            # This host has cgroup v1 hierarchies, which kubelet 1.36 refuses by default.
            "failCgroupV1": False,
            "cgroupDriver": "cgroupfs",
            # Pods and the node's own cgroups live under one parent, removed on delete.
            "cgroupRoot": f"/{L.CGROUP_PARENT}",
            "failSwapOn": False,
            "containerRuntimeEndpoint": f"unix://{lay.containerd_socket}",
            "authentication": {
                "anonymous": {"enabled": False},
                "webhook": {"enabled": True},
                "x509": {"clientCAFile": str(pki / "ca.crt")},
            },
            "authorization": {"mode": "Webhook"},
            "tlsCertFile": str(pki / "kubelet-serving.crt"),
            "tlsPrivateKeyFile": str(pki / "kubelet-serving.key"),
            "clusterDomain": "cluster.local",
            "clusterDNS": [L.DNS_SERVICE_IP],
            "resolvConf": str(lay.resolv_conf),
            # Images cannot be pulled again here (no registry): never collect them.
            "imageGCHighThresholdPercent": 100,
            "imageGCLowThresholdPercent": 99,
            "evictionHard": {
                "memory.available": "200Mi",
                "nodefs.available": f"{EVICTION_FREE_PERCENT}%",
                "imagefs.available": f"{EVICTION_FREE_PERCENT}%",
                "nodefs.inodesFree": f"{EVICTION_FREE_PERCENT}%",
            },
            "serializeImagePulls": False,
            "maxPods": 110,
            "healthzBindAddress": "127.0.0.1",
            "readOnlyPort": 0,
        },
        sort_keys=False,
    )


def kube_proxy_config(lay: Layout) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
            "kind": "KubeProxyConfiguration",
            "clientConnection": {"kubeconfig": str(lay.kubeconfig("kube-proxy"))},
            "mode": "iptables",
            "clusterCIDR": L.POD_CIDR,
            "hostnameOverride": L.NODE_NAME,
            # Conntrack limits are host-wide settings: leave them alone.
            "conntrack": {
                "maxPerCore": 0,
                "min": 0,
                "tcpEstablishedTimeout": "0s",
                "tcpCloseWaitTimeout": "0s",
            },
            # Pods on one bridge reach each other without the host's iptables (no
            # br_netfilter here): masquerading service traffic routes replies back.
            "iptables": {"masqueradeAll": True},
            "metricsBindAddress": "127.0.0.1:10249",
            "healthzBindAddress": "127.0.0.1:10256",
        },
        sort_keys=False,
    )


def kubeconfig(lay: Layout, user: str, *, context: str = L.CONTEXT) -> str:
    def b64(path: Path) -> str:
        return base64.b64encode(path.read_bytes()).decode()

    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": L.CONTEXT,
                    "cluster": {
                        "server": f"https://{L.NODE_IP}:{L.API_PORT}",
                        "certificate-authority-data": b64(lay.pki / "ca.crt"),
                    },
                }
            ],
            "users": [
                {
                    "name": user,
                    "user": {
                        "client-certificate-data": b64(lay.pki / f"{user}.crt"),
                        "client-key-data": b64(lay.pki / f"{user}.key"),
                    },
                }
            ],
            "contexts": [{"name": context, "context": {"cluster": L.CONTEXT, "user": user}}],
            "current-context": context,
        },
        sort_keys=False,
    )


def hosts_file(names: list[str]) -> str:
    """The namespace's /etc/hosts: the stacks' *.localhost names go to the node's ports."""
    return (
        "# /etc/hosts inside the lakehouse local cluster's network namespace\n"
        f"127.0.0.1 localhost\n{L.NODE_IP} {' '.join(names)}\n"
    )


def write_all(lay: Layout, ingress_hosts: list[str]) -> None:
    for folder in (lay.config, lay.logs, lay.pids, lay.cni_conf, lay.cni_state, lay.volumes):
        folder.mkdir(parents=True, exist_ok=True)
    (lay.config / "containerd.toml").write_text(containerd_toml(lay))
    (lay.cni_conf / "10-lakehouse-bed.conflist").write_text(cni_conflist(lay))
    (lay.config / "kubelet.yaml").write_text(kubelet_config(lay))
    (lay.config / "kube-proxy.yaml").write_text(kube_proxy_config(lay))
    lay.resolv_conf.write_text(f"nameserver {L.UNREACHABLE_NAMESERVER}\noptions timeout:1\n")
    lay.hosts_file.write_text(hosts_file(ingress_hosts))
    for name in (
        "admin",
        "controller-manager",
        "scheduler",
        "kubelet",
        "kube-proxy",
        "kube-router",
    ):
        lay.kubeconfig(name).write_text(kubeconfig(lay, name))
        lay.kubeconfig(name).chmod(0o600)
