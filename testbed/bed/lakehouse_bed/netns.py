"""The local cluster's network namespace: created, checked, entered, and removed.

The namespace holds its loopback, the CNI bridge (whose address is the node's) and the
pods' veths on that bridge; there is no link to the host's network and no default route,
so no packet of the cluster can leave the machine. ``check_isolated`` verifies that before
anything starts, and the tests call it again at the end.

Daemons are started with ``nsenter --net`` (``ip netns exec`` would also give each its own
mount namespace, hiding the kubelet's volume mounts from containerd). Python code talks to
the cluster from a thread that has joined the namespace (``run_in``).
"""

from __future__ import annotations

import ctypes
import json
import os
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from lakehouse_bed import layout as L
from lakehouse_core.errors import LakehouseError

T = TypeVar("T")
CLONE_NEWNET = 0x40000000
NETNS_DIR = Path("/run/netns")


class NamespaceError(LakehouseError):
    """The namespace is missing, or is not isolated as it must be."""


def path(name: str = L.NETNS) -> Path:
    return NETNS_DIR / name


def exists(name: str = L.NETNS) -> bool:
    return path(name).exists()


def _ip(*args: str) -> str:
    result = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise NamespaceError(f"`ip {' '.join(args)}` failed: {result.stderr.strip()}")
    return result.stdout


def create(name: str = L.NETNS) -> None:
    """The namespace with its loopback up and the bridge carrying the node's address."""
    if not exists(name):
        _ip("netns", "add", name)
    _ip("-n", name, "link", "set", "lo", "up")
    links = {link["ifname"] for link in json.loads(_ip("-n", name, "-j", "link", "show"))}
    if L.BRIDGE not in links:
        _ip("-n", name, "link", "add", L.BRIDGE, "type", "bridge")
        _ip("-n", name, "addr", "add", f"{L.NODE_IP}/24", "dev", L.BRIDGE)
    _ip("-n", name, "link", "set", L.BRIDGE, "up")
    # Service IPs from the node itself (the API server calling a webhook, for one): without
    # a route the kernel refuses the connect before kube-proxy's DNAT could rewrite it to a
    # pod. The route points at the bridge, so it stays inside the namespace.
    _ip("-n", name, "route", "replace", L.SERVICE_CIDR, "dev", L.BRIDGE, "src", L.NODE_IP)
    # The namespace's own settings (not the host's): route between the bridge's pods and
    # services, and let the node's 127.0.0.1 reach host ports.
    for key in ("net/ipv4/ip_forward", "net/ipv4/conf/all/route_localnet"):
        subprocess.run(
            ["nsenter", f"--net={path(name)}", "sh", "-c", f"echo 1 > /proc/sys/{key}"],
            check=True,
        )
    check_isolated(name)


def check_isolated(name: str = L.NETNS) -> list[str]:
    """Refuse any link that is not loopback, the bridge or a pod's veth on it, and any
    default route; the links found, otherwise."""
    links = json.loads(_ip("-n", name, "-j", "link", "show"))
    found = []
    for link in links:
        ifname, kind = link["ifname"], link.get("link_type")
        found.append(ifname)
        if ifname in ("lo", L.BRIDGE):
            continue
        if ifname.startswith("veth") and link.get("master") == L.BRIDGE:
            continue
        raise NamespaceError(
            f"namespace {name} holds link {ifname} ({kind}), which could reach the host's "
            "network: refusing to go on",
            hint="`lakehouse-bed delete` removes the namespace",
        )
    routes = json.loads(_ip("-n", name, "-j", "route", "show"))
    outside = [
        r for r in routes if r.get("dst") == "default" or r.get("dev") not in ("lo", L.BRIDGE)
    ]
    if outside:
        raise NamespaceError(f"namespace {name} has a route that could leave it: {outside}")
    return found


def pids(name: str = L.NETNS) -> list[int]:
    """Every process on the machine whose network namespace is the bed's (by its inode):
    the daemons, and whatever was started inside (`lakehouse-bed exec`, the cluster
    test's commands), which outlive the namespace's name if nobody stops them."""
    if not exists(name):
        return []
    inode = os.stat(path(name)).st_ino
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if os.stat(entry / "ns" / "net").st_ino == inode:
                    found.append(int(entry.name))
            except OSError:  # gone meanwhile, or a kernel thread
                continue
    return found


def delete(name: str = L.NETNS) -> None:
    if exists(name):
        _ip("netns", "delete", name)


def nsenter(command: list[str], name: str = L.NETNS) -> list[str]:
    return ["nsenter", f"--net={path(name)}", "--", *command]


def run_in(fn: Callable[[], T], name: str = L.NETNS) -> T:
    """Call ``fn`` in a thread that has joined the namespace (sockets it opens live there)."""
    result: dict[str, T] = {}
    error: list[BaseException] = []

    def target() -> None:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        fd = os.open(path(name), os.O_RDONLY)
        try:
            if libc.setns(fd, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns failed")
        finally:
            os.close(fd)
        try:
            result["value"] = fn()
        except BaseException as err:  # re-raised in the caller
            error.append(err)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join()
    if error:
        raise error[0]
    return result["value"]
