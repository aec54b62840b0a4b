"""The test bed as a whole: build what it needs, create the cluster, run commands in it,
delete it. ``lakehouse-bed`` and ``make cluster-test`` drive it.

A command run ``inside`` the bed joins its network namespace and gets a private mount
namespace whose /etc/hosts maps the stacks' ``*.localhost`` names to the node; it sees
the bed's kubeconfig (context ``kind-lakehouse``, as the dev stack pins), the built
``kubectl`` and ``pulumi``, a Pulumi home with the locally built kubernetes provider
registered, and plugin downloads turned off.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from lakehouse import gobuild
from lakehouse_bed import addons, images, netns, node, programs
from lakehouse_bed import layout as L
from lakehouse_bed.daemons import clean_env
from lakehouse_bed.layout import Layout
from lakehouse_core import versions
from lakehouse_core.errors import LakehouseError
from lakehouse_core.paths import cache_dir

Log = Callable[[str], None]


def _ingress_hosts() -> list[str]:
    """The dev stack's host names (a running application's UI is at <app>.<spark_ui>: a
    domain, which the cluster test reaches with a Host header)."""
    from lakehouse_core.stack_config import Hosts

    hosts = Hosts()
    return [getattr(hosts, f) for f in Hosts.model_fields if f != "spark_ui"]


INGRESS_HOSTS = _ingress_hosts()
CHARTS_DIR_ENV = "LAKEHOUSE_CHARTS_DIR"


class BedError(LakehouseError):
    pass


def install_debian_packages(log: Log) -> None:
    wanted = [*node.DEBIAN_PACKAGES, "buildah", "mmdebstrap", "gcc", "maven"]
    missing = []
    for package in wanted:
        status = subprocess.run(
            ["dpkg-query", "-W", "-f=${Status}", package],
            capture_output=True,
            text=True,
            check=False,
        )
        if "install ok installed" not in status.stdout:
            missing.append(package)
    if not missing:
        return
    log(f"installing Debian packages: {' '.join(missing)}")
    result = subprocess.run(
        ["apt-get", "install", "-y", "--no-install-recommends", *missing],
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise BedError(f"apt-get install failed:\n{result.stderr[-2000:]}")


def build(log: Log = print, *, with_images: bool = True) -> None:
    """Every program (once; cached) and every image (rebuilt when its inputs change)."""
    install_debian_packages(log)
    for target in programs.ALL_PROGRAMS:
        gobuild.build(target, log)
    if with_images:
        images.build_all(log)


def pulumi_home() -> Path:
    return cache_dir() / "localcluster" / "pulumi-home"


def register_provider(log: Log) -> None:
    """The locally built kubernetes provider, as the plugin the Pulumi engine looks for."""
    pulumi = gobuild.binary(programs.PULUMI_CLI, "pulumi")
    provider = gobuild.binary(programs.PULUMI_KUBERNETES_PROVIDER, "pulumi-resource-kubernetes")
    version = requested_provider_version()
    plugins = pulumi_home() / "plugins" / f"resource-kubernetes-v{version}"
    if (plugins / "pulumi-resource-kubernetes").is_file():
        return
    env = {**clean_env(), "PULUMI_HOME": str(pulumi_home()), "PULUMI_SKIP_UPDATE_CHECK": "true"}
    subprocess.run(
        [
            str(pulumi),
            "plugin",
            "install",
            "resource",
            "kubernetes",
            version,
            "--file",
            str(provider),
        ],
        env=env,
        check=True,
        capture_output=True,
    )
    log(
        f"registered the kubernetes provider built here (module version "
        f"{versions.PULUMI_KUBERNETES_PROVIDER_VERSION}) as {version}, the version the SDK asks for"
    )


def requested_provider_version() -> str:
    """The plugin version the installed pulumi-kubernetes SDK asks the engine for.

    The engine accepts only a plugin whose version equals the request, and the module proxy
    holds one build of the provider (older than the SDK), so that build is registered under the
    SDK's version. The stand-in is named in docs/test-bed.md; the resources this project uses are
    served identically by both.
    """
    import importlib.resources
    import json

    text = importlib.resources.files("pulumi_kubernetes").joinpath("pulumi-plugin.json").read_text()
    return str(json.loads(text)["version"])


def bin_path() -> str:
    folders = [
        gobuild.target_dir(programs.KUBERNETES),
        gobuild.target_dir(programs.PULUMI_CLI),
        gobuild.target_dir(programs.CRICTL),
    ]
    return os.pathsep.join([*map(str, folders), os.environ.get("PATH", "")])


def inside_env(lay: Layout, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = clean_env(
        {
            "KUBECONFIG": str(lay.admin_kubeconfig),
            "PATH": bin_path(),
            "PULUMI_HOME": str(pulumi_home()),
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
            "CONTAINER_RUNTIME_ENDPOINT": f"unix://{lay.containerd_socket}",
        }
    )
    env.update(extra or {})
    return env


def inside(command: Sequence[str], lay: Layout | None = None) -> list[str]:
    """``command`` run in the bed: its network namespace and a private /etc/hosts."""
    lay = lay or Layout.default()
    script = 'mount --bind "$1" /etc/hosts && shift && exec "$@"'
    return netns.nsenter(
        [
            "unshare",
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            script,
            "bed",
            str(lay.hosts_file),
            *command,
        ]
    )


def run_inside(
    command: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    check: bool = True,
    capture: bool = True,
    timeout: float | None = None,
    lay: Layout | None = None,
) -> subprocess.CompletedProcess[str]:
    lay = lay or Layout.default()
    result = subprocess.run(
        inside(command, lay),
        env=inside_env(lay, env),
        capture_output=capture,
        text=True,
        check=False,
        timeout=timeout,
    )
    if check and result.returncode != 0:
        raise BedError(
            f"`{' '.join(command)}` in the bed ended with {result.returncode}:\n"
            f"{(result.stderr or '')[-3000:]}{(result.stdout or '')[-2000:]}"
        )
    return result


def kubectl(*args: str, lay: Layout | None = None, check: bool = True) -> str:
    return run_inside([node.kubectl_path(), *args], lay=lay, check=check).stdout


# What a cluster-test run writes besides the images it imports (volumes, logs, layers).
RUN_HEADROOM_GIB = 10


def check_free_disk(where: Path) -> None:
    """Refuse to start a node that would come up tainted with disk pressure (every pod
    Pending, CoreDNS never ready) or get there during a run."""
    from lakehouse_bed.configs import EVICTION_FREE_PERCENT

    where.mkdir(parents=True, exist_ok=True)
    usage = shutil.disk_usage(where)
    floor = usage.total * EVICTION_FREE_PERCENT / 100
    need = floor + RUN_HEADROOM_GIB * 2**30
    if usage.free >= need:
        return
    archives = images.images_dir() / "archives"
    held = sum(p.stat().st_size for p in archives.glob("*.tar")) if archives.is_dir() else 0
    raise BedError(
        f"the disk of {where} has {usage.free / 2**30:.1f} GiB free; the bed's kubelet "
        f"stops scheduling pods below {EVICTION_FREE_PERCENT}% free "
        f"({floor / 2**30:.1f} GiB) and a run writes about {RUN_HEADROOM_GIB} GiB",
        hint=f"free {(need - usage.free) / 2**30:.1f} GiB or more: the image archives in "
        f"{archives} hold {held / 2**30:.1f} GiB (archives of this project's images that the "
        "stacks no longer name can go; they are rebuilt when needed), and Go's build cache "
        "(`go clean -cache`)",
    )


def create(log: Log = print, lay: Layout | None = None) -> Layout:
    """From built programs and images to a Ready node with DNS and a default StorageClass."""
    lay = lay or Layout.default()
    started = time.monotonic()
    the_node = node.Node(lay, log)
    if the_node.running():
        log("the local cluster is already running")
        return lay
    check_free_disk(lay.root)
    built = images.build_all(log)
    the_node.create(INGRESS_HOSTS)
    images.import_all(lay.containerd_socket, built, log)
    addon_file = lay.config / "addons.yaml"
    addon_file.write_text(addons.manifest(lay))
    _wait(lambda: _node_ready(lay), "the node to be Ready", 120)
    kubectl("apply", "-f", str(addon_file), lay=lay)
    the_node.start_after_addons()
    kubectl(
        "-n", "kube-system", "rollout", "status", "deployment/coredns", "--timeout=180s", lay=lay
    )
    kubectl(
        "-n",
        "local-path-storage",
        "rollout",
        "status",
        "deployment/local-path-provisioner",
        "--timeout=180s",
        lay=lay,
    )
    register_provider(log)
    log(f"local cluster ready in {time.monotonic() - started:.0f}s: context {L.CONTEXT}")
    return lay


def _node_ready(lay: Layout) -> bool:
    ready = "jsonpath={.status.conditions[?(@.type=='Ready')].status}"
    return kubectl("get", "node", L.NODE_NAME, "-o", ready, lay=lay, check=False).strip() == "True"


def _wait(ready: Callable[[], bool], what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(1)
    raise BedError(f"timed out after {timeout:.0f}s waiting for {what}")


def delete(log: Log = print, lay: Layout | None = None) -> list[str]:
    lay = lay or Layout.default()
    stopped = node.Node(lay, log).delete()
    for line in stopped:
        log(f"stopped {line}")
    leftovers = leftover_processes(lay)
    if leftovers:
        raise BedError(f"processes of the bed are still running: {leftovers}")
    log("local cluster deleted: no process, mount, namespace or cgroup of it is left")
    return stopped


def leftover_processes(lay: Layout) -> list[str]:
    """Processes whose command line names the node's folder, or that sit in its cgroups."""
    from lakehouse_bed.daemons import cmdline

    found = []
    root = str(lay.root)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            argv = cmdline(int(entry.name))
            if any(root in part for part in argv):
                found.append(f"{entry.name}: {' '.join(argv)[:120]}")
    found += [f"{pid}: in the node's cgroups" for pid in node.cgroup_pids()]
    return found


def charts_dir() -> str:
    value = os.environ.get(CHARTS_DIR_ENV)
    if not value or not Path(value).is_dir():
        raise BedError(
            f"${CHARTS_DIR_ENV} does not name a folder with the pinned charts",
            hint=f"put the spark-operator chart {versions.SPARK_OPERATOR_CHART.version} and the "
            f"traefik chart {versions.TRAEFIK_CHART.version} in one folder (for example with "
            "`helm pull <chart> --repo <repo> --version <v> --untar` on a machine that reaches "
            f"the chart repositories) and export {CHARTS_DIR_ENV} pointing at it",
        )
    return value
