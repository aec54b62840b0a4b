"""One Kubernetes node on this machine: etcd, the control plane, containerd, kubelet and
kube-proxy, each a process inside the local cluster's network namespace.

``create`` brings them up in order and waits for each to answer; ``delete`` stops every
process it started (by pid), every container (through containerd, then any process left in
the node's own cgroups), unmounts what they mounted, and removes the namespace, the cgroups
and the node's folder. Nothing of the host's own configuration is changed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import ssl
import subprocess
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from lakehouse import gobuild
from lakehouse_bed import configs, netns, programs
from lakehouse_bed import layout as L
from lakehouse_bed.daemons import Daemon, cmdline
from lakehouse_bed.layout import Layout
from lakehouse_bed.pki import ClusterPki, Identity
from lakehouse_core.errors import LakehouseError

Log = Callable[[str], None]
DEBIAN_PACKAGES = (
    "containerd",
    "runc",
    "containernetworking-plugins",
    "iptables",
    "conntrack",
    "ipset",  # kube-router's NetworkPolicy engine keeps its peer sets in ipsets
)


# Started once the addons (their RBAC) are applied.
STARTED_AFTER_ADDONS = ("kube-router",)


class NodeError(LakehouseError):
    """The local node could not be created, or a part of it did not come up."""


def k8s_binary(name: str) -> str:
    return str(gobuild.binary(programs.KUBERNETES, name))


def kubectl_path() -> str:
    return k8s_binary("kubectl")


class Node:
    def __init__(self, lay: Layout | None = None, log: Log = print) -> None:
        self.lay = lay or Layout.default()
        self.log = log

    # --- the daemons ----------------------------------------------------------------------
    def daemons(self) -> list[Daemon]:
        lay, pki, cfg = self.lay, self.lay.pki, self.lay.config
        etcd = str(gobuild.binary(programs.ETCD, "etcd"))

        def daemon(name: str, argv: list[str]) -> Daemon:
            return Daemon(name, argv, lay.pids, lay.logs)

        return [
            daemon(
                "etcd",
                [
                    etcd,
                    "--name=bed",
                    f"--data-dir={lay.etcd}",
                    "--listen-client-urls=http://127.0.0.1:2379",
                    "--advertise-client-urls=http://127.0.0.1:2379",
                    "--listen-peer-urls=http://127.0.0.1:2380",
                    "--initial-advertise-peer-urls=http://127.0.0.1:2380",
                    "--initial-cluster=bed=http://127.0.0.1:2380",
                    "--listen-metrics-urls=http://127.0.0.1:2381",
                    "--log-level=warn",
                ],
            ),
            daemon(
                "kube-apiserver",
                [
                    k8s_binary("kube-apiserver"),
                    "--etcd-servers=http://127.0.0.1:2379",
                    f"--advertise-address={L.NODE_IP}",
                    "--bind-address=0.0.0.0",
                    f"--secure-port={L.API_PORT}",
                    f"--service-cluster-ip-range={L.SERVICE_CIDR}",
                    f"--client-ca-file={pki / 'ca.crt'}",
                    f"--tls-cert-file={pki / 'apiserver.crt'}",
                    f"--tls-private-key-file={pki / 'apiserver.key'}",
                    f"--kubelet-client-certificate={pki / 'apiserver-kubelet-client.crt'}",
                    f"--kubelet-client-key={pki / 'apiserver-kubelet-client.key'}",
                    f"--kubelet-certificate-authority={pki / 'ca.crt'}",
                    # No DNS for the node's own name: reach kubelets by address.
                    "--kubelet-preferred-address-types=InternalIP",
                    f"--service-account-key-file={pki / 'sa.pub'}",
                    f"--service-account-signing-key-file={pki / 'sa.key'}",
                    "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                    "--authorization-mode=Node,RBAC",
                    "--enable-admission-plugins=NodeRestriction",
                    "--allow-privileged=true",
                    "--profiling=false",
                ],
            ),
            daemon(
                "kube-controller-manager",
                [
                    k8s_binary("kube-controller-manager"),
                    f"--kubeconfig={lay.kubeconfig('controller-manager')}",
                    f"--authentication-kubeconfig={lay.kubeconfig('controller-manager')}",
                    f"--authorization-kubeconfig={lay.kubeconfig('controller-manager')}",
                    f"--service-account-private-key-file={pki / 'sa.key'}",
                    f"--root-ca-file={pki / 'ca.crt'}",
                    f"--cluster-signing-cert-file={pki / 'ca.crt'}",
                    f"--cluster-signing-key-file={pki / 'ca.key'}",
                    "--use-service-account-credentials=true",
                    "--leader-elect=false",
                    "--bind-address=127.0.0.1",
                    "--profiling=false",
                ],
            ),
            daemon(
                "kube-scheduler",
                [
                    k8s_binary("kube-scheduler"),
                    f"--kubeconfig={lay.kubeconfig('scheduler')}",
                    f"--authentication-kubeconfig={lay.kubeconfig('scheduler')}",
                    f"--authorization-kubeconfig={lay.kubeconfig('scheduler')}",
                    "--leader-elect=false",
                    "--bind-address=127.0.0.1",
                    "--profiling=false",
                ],
            ),
            daemon(
                "containerd",
                [
                    shutil.which("containerd") or "/usr/bin/containerd",
                    f"--config={cfg / 'containerd.toml'}",
                ],
            ),
            daemon(
                "kubelet",
                [
                    k8s_binary("kubelet"),
                    f"--config={cfg / 'kubelet.yaml'}",
                    f"--kubeconfig={lay.kubeconfig('kubelet')}",
                    f"--root-dir={lay.kubelet}",
                    f"--node-ip={L.NODE_IP}",
                    f"--hostname-override={L.NODE_NAME}",
                    "--node-labels=ingress-ready=true",
                ],
            ),
            daemon(
                "kube-proxy",
                [k8s_binary("kube-proxy"), f"--config={cfg / 'kube-proxy.yaml'}"],
            ),
            # The NetworkPolicy engine: only kube-router's firewall (no routing, no service
            # proxy, no CNI of its own), so the stacks' policies are enforced here as kind's
            # kindnet enforces them on a user's laptop.
            daemon(
                "kube-router",
                [
                    str(gobuild.binary(programs.KUBE_ROUTER, "kube-router")),
                    f"--kubeconfig={lay.kubeconfig('kube-router')}",
                    f"--hostname-override={L.NODE_NAME}",
                    "--run-firewall=true",
                    "--run-router=false",
                    "--run-service-proxy=false",
                    "--run-loadbalancer=false",
                    "--enable-cni=false",
                    "--enable-ipv6=false",
                    f"--service-cluster-ip-range={L.SERVICE_CIDR}",
                    "--health-port=0",
                    "--metrics-port=0",
                    "--iptables-sync-period=1m",
                ],
            ),
        ]

    def daemon(self, name: str) -> Daemon:
        return next(d for d in self.daemons() if d.name == name)

    # --- create -----------------------------------------------------------------------------
    def create(self, ingress_hosts: list[str]) -> None:
        preflight()
        started = time.monotonic()
        netns.create()
        self.log(f"namespace {L.NETNS}: {', '.join(netns.check_isolated())}, no route out")
        ClusterPki(self.lay.pki).ensure(
            node_name=L.NODE_NAME,
            node_ip=L.NODE_IP,
            service_ip=L.API_SERVICE_IP,
            clients=[Identity(name, cn, org) for name, (cn, org) in configs.COMPONENTS.items()],
        )
        configs.write_all(self.lay, ingress_hosts)
        make_cgroups()
        waits = {
            "etcd": lambda: self._http_ok("http://127.0.0.1:2379/health"),
            "kube-apiserver": lambda: self._api_ok("/readyz"),
            "containerd": self.lay.containerd_socket.exists,
        }
        for daemon in self.daemons():
            if daemon.name in STARTED_AFTER_ADDONS:
                continue
            daemon.start()
            check = waits.get(daemon.name)
            if check is not None:
                self._wait(daemon, check)
            self.log(f"{daemon.name}: running ({time.monotonic() - started:.0f}s)")

    def start_after_addons(self) -> None:
        """The daemons that need the addons' RBAC first (kube-router reads as its own user)."""
        for name in STARTED_AFTER_ADDONS:
            daemon = self.daemon(name)
            daemon.start()
            time.sleep(2)
            if not daemon.running():
                raise NodeError(f"{name} stopped while starting:\n{daemon.log_tail()}")
            self.log(f"{name}: running")

    def _wait(self, daemon: Daemon, ready: Callable[[], bool], timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not daemon.running():
                raise NodeError(f"{daemon.name} stopped while starting:\n{daemon.log_tail()}")
            try:
                if ready():
                    return
            except OSError:
                pass
            time.sleep(0.5)
        raise NodeError(f"{daemon.name} did not answer within {timeout:.0f}s:\n{daemon.log_tail()}")

    def _http_ok(self, url: str) -> bool:
        def get() -> bool:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (loopback)
                return bool(response.status == 200)

        return netns.run_in(get)

    def _api_ok(self, path: str) -> bool:
        pki = self.lay.pki
        context = ssl.create_default_context(cafile=str(pki / "ca.crt"))
        context.load_cert_chain(str(pki / "admin.crt"), str(pki / "admin.key"))
        url = f"https://{L.NODE_IP}:{L.API_PORT}{path}"

        def get() -> bool:
            with urllib.request.urlopen(url, timeout=2, context=context) as response:
                return bool(response.status == 200)

        return netns.run_in(get)

    # --- status -----------------------------------------------------------------------------
    def status(self) -> dict[str, int | None]:
        return {d.name: d.recorded_pid() for d in self.daemons()}

    def running(self) -> bool:
        return netns.exists() and all(pid is not None for pid in self.status().values())

    # --- delete -----------------------------------------------------------------------------
    def delete(self) -> list[str]:
        """Stop and remove everything; the processes it had to stop, by name and pid."""
        stopped = []
        for daemon in reversed(self.daemons()):
            if daemon.name == "containerd":
                stopped += self._stop_containers()
            pid = daemon.recorded_pid()
            if daemon.stop():
                stopped.append(f"{daemon.name} ({pid})")
        stopped += self._kill_leftovers()
        unmount_below(self.lay.root)
        netns.delete()
        remove_cgroups()
        if self.lay.root.exists():
            shutil.rmtree(self.lay.root, ignore_errors=True)
        return stopped

    def _stop_containers(self) -> list[str]:
        """Every container of the node, through containerd, while it still runs."""
        if not self.daemon("containerd").running():
            return []
        ctr = ["ctr", "--address", str(self.lay.containerd_socket), "--namespace", "k8s.io"]
        tasks = subprocess.run(
            [*ctr, "tasks", "ls", "-q"], capture_output=True, text=True, check=False
        )
        ids = tasks.stdout.split()
        for task in ids:
            subprocess.run(
                [*ctr, "tasks", "kill", "--signal", "SIGKILL", task],
                capture_output=True,
                check=False,
            )
        time.sleep(1)
        for task in ids:
            subprocess.run(
                [*ctr, "tasks", "delete", "--force", task], capture_output=True, check=False
            )
        return [f"container {task[:12]}" for task in ids]

    def _kill_leftovers(self) -> list[str]:
        """Shims that name our containerd's socket, any process left in our cgroups, then
        any other process in the node's network namespace."""
        killed = []
        socket = str(self.lay.containerd_socket)
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            argv = cmdline(int(entry.name))
            if argv and "containerd-shim" in argv[0] and socket in argv:
                _kill(int(entry.name))
                killed.append(f"containerd-shim ({entry.name})")
        for pid in cgroup_pids():
            _kill(pid)
            killed.append(f"pod process ({pid})")
        for pid in netns.pids():  # started inside by hand or by a test, left running
            command = " ".join(cmdline(pid))[:80]
            _kill(pid)
            killed.append(f"process in the namespace ({pid}: {command})")
        return killed


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, 9)


def preflight() -> None:
    if os.geteuid() != 0:
        raise NodeError(
            "the local cluster needs root (namespaces, mounts, cgroups)",
            hint="run it as root, as CI and this project's test machine do",
        )
    missing = [p for p in (*programs.NODE_PROGRAMS,) if not gobuild.is_built(p)]
    if missing:
        raise NodeError(
            f"not built yet: {', '.join(p.name for p in missing)}",
            hint="`lakehouse-bed build` builds them once (about 35 minutes)",
        )
    tools = [t for t in ("containerd", "runc", "iptables", "ctr") if shutil.which(t) is None]
    if tools or not Path("/usr/lib/cni/bridge").is_file():
        raise NodeError(
            f"missing Debian packages for the node ({', '.join(tools) or 'CNI plugins'})",
            hint="`lakehouse-bed build` installs " + " ".join(DEBIAN_PACKAGES),
        )


# --- cgroups (v1 hierarchies here; one parent for everything the node runs) ----------------


def _hierarchies() -> list[Path]:
    root = L.CGROUP_V1_ROOT
    if not root.is_dir():
        return []
    return [
        p
        for p in root.iterdir()
        if p.is_dir() and not p.is_symlink() and (p / "cgroup.procs").exists()
    ]


def make_cgroups() -> None:
    for hierarchy in _hierarchies():
        parent = hierarchy / L.CGROUP_PARENT
        parent.mkdir(exist_ok=True)
        if hierarchy.name == "cpuset":
            for key in ("cpuset.cpus", "cpuset.mems"):
                (parent / key).write_text((hierarchy / key).read_text())


def cgroup_pids() -> list[int]:
    """Every process in the bed's cgroups. Pods' cgroups come and go while this walks: a
    folder or file that vanished on the way is skipped (its processes went with it)."""
    pids: set[int] = set()
    for hierarchy in _hierarchies():
        for folder, _subfolders, files in os.walk(hierarchy / L.CGROUP_PARENT):
            if "cgroup.procs" not in files:
                continue
            try:
                pids |= {int(p) for p in (Path(folder) / "cgroup.procs").read_text().split()}
            except OSError:
                continue
    return sorted(pids)


def remove_cgroups() -> None:
    for hierarchy in _hierarchies():
        parent = hierarchy / L.CGROUP_PARENT
        if not parent.is_dir():
            continue
        for folder in sorted(
            (p for p in parent.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)
        ):
            folder.rmdir()
        parent.rmdir()


# --- mounts --------------------------------------------------------------------------------


def mounts_below(root: Path) -> list[str]:
    found = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].replace("\\040", " ")
        if point == str(root) or point.startswith(f"{root}/"):
            found.append(point)
    return found


def unmount_below(root: Path) -> None:
    for point in sorted(mounts_below(root), key=lambda p: -len(p)):
        subprocess.run(["umount", "-l", point], capture_output=True, check=False)
