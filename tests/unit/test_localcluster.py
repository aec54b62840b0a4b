"""The local cluster's building blocks that need no root: wrapper modules, configuration,
the add-ons, image names and pins. `make cluster-test` runs the real thing."""

from __future__ import annotations

from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from lakehouse import gobuild
from lakehouse_bed import addons, configs, images, programs
from lakehouse_bed import layout as L
from lakehouse_bed.layout import Layout

K8S_GO_MOD = """\
module k8s.io/kubernetes

go 1.26.0

require (
\tk8s.io/api v0.0.0
)

replace (
\tk8s.io/api => ./staging/src/k8s.io/api
\tk8s.io/client-go => ./staging/src/k8s.io/client-go // a comment
\tgithub.com/x/y v1.0.0 => github.com/z/y v1.2.0
)

replace go.etcd.io/etcd => ./FORBIDDEN_DEPENDENCY
"""


def test_replace_directives_of_a_go_mod() -> None:
    assert gobuild.replace_directives(K8S_GO_MOD) == [
        ("k8s.io/api", "./staging/src/k8s.io/api", None),
        ("k8s.io/client-go", "./staging/src/k8s.io/client-go", None),
        ("github.com/x/y", "github.com/z/y", "v1.2.0"),
        ("go.etcd.io/etcd", "./FORBIDDEN_DEPENDENCY", None),
    ]


def test_the_kubernetes_wrapper_maps_staging_folders_to_published_modules() -> None:
    replaces = gobuild.wrapper_replaces(programs.KUBERNETES, K8S_GO_MOD)
    minor = programs.KUBERNETES.version.removeprefix("v1")
    assert replaces["k8s.io/api"] == f"k8s.io/api v0{minor}"
    assert replaces["k8s.io/client-go"] == f"k8s.io/client-go v0{minor}"
    assert replaces["github.com/x/y"] == "github.com/z/y v1.2.0"
    assert "go.etcd.io/etcd" not in replaces  # a local folder with no published version


def test_traefik_is_built_with_the_served_auth_module_and_its_own_ext_stub() -> None:
    replaces = programs.TRAEFIK.extra_replaces
    assert replaces["github.com/traefik/traefik/dynamic/ext"] == "./traefik-dynamic-ext"
    assert "type HTTP struct{}" in programs.TRAEFIK.extra_files["traefik-dynamic-ext/ext.go"]


def test_a_target_fingerprint_changes_with_what_it_builds() -> None:
    changed = gobuild.GoTarget(**{**programs.ETCD.__dict__, "version": "v3.6.99"})
    assert changed.fingerprint() != programs.ETCD.fingerprint()


def test_node_configuration_points_into_the_node_folder(tmp_path: Path) -> None:
    lay = Layout(tmp_path / "node")
    containerd = configs.containerd_toml(lay)
    assert "restrict_oom_score_adj = true" in containerd
    assert f'conf_dir = "{lay.cni_conf}"' in containerd
    assert "netns_mounts_under_state_dir = true" in containerd
    kubelet = yaml.safe_load(configs.kubelet_config(lay))
    assert kubelet["failCgroupV1"] is False and kubelet["cgroupDriver"] == "cgroupfs"
    assert kubelet["resolvConf"] == str(lay.resolv_conf)
    assert kubelet["imageGCHighThresholdPercent"] == 100  # images cannot be pulled again
    proxy = yaml.safe_load(configs.kube_proxy_config(lay))
    assert proxy["conntrack"]["maxPerCore"] == 0  # host-wide settings stay untouched
    hosts = configs.hosts_file(["dremio.localhost", "s3.localhost"])
    assert f"{L.NODE_IP} dremio.localhost s3.localhost" in hosts


@pytest.mark.parametrize(
    "obj",
    addons.coredns() + addons.local_path(Layout(Path("/x"))),
    ids=lambda o: f"{o['kind']}/{o['metadata']['name']}",
)
def test_addons_are_valid_kubernetes_objects(obj: dict[str, object]) -> None:
    kubernetes_validate.validate(obj, "1.36", strict=True)


def test_coredns_has_no_upstream() -> None:
    assert "forward" not in addons.COREFILE


def test_image_names_are_what_containerd_looks_up() -> None:
    assert images.normalise("busybox:1.37.0") == "docker.io/library/busybox:1.37.0"
    assert images.normalise("apache/spark:4.0.3") == "docker.io/apache/spark:4.0.3"
    assert images.normalise("quay.io/minio/mc:R") == "quay.io/minio/mc:R"
    assert images.normalise("localhost/x/y:z") == "localhost/x/y:z"


def test_every_image_the_stacks_name_has_a_recipe() -> None:
    from lakehouse_core import versions

    built = {image.name for image in images.catalogue()}
    for ref in (
        versions.MINIO_IMAGE,
        versions.MC_IMAGE,
        versions.ZOOKEEPER_IMAGE,
        versions.DREMIO_IMAGE,
        versions.BUSYBOX_IMAGE,
        versions.SPARK_BASE_IMAGE,
    ):
        assert images.normalise(ref.ref) in built
    for image in images.catalogue():
        assert image.dockerfile.is_file(), image.dockerfile


def test_locked_requirements_pin_the_closure_with_hashes() -> None:
    text = images.locked_requirements(["httpx"])
    names = {line.split("==")[0] for line in text.splitlines()}
    assert {"httpx", "httpcore", "h11", "anyio", "idna", "certifi"} <= names
    assert all("--hash=sha256:" in line for line in text.splitlines())


def test_an_image_built_on_another_of_ours_is_rebuilt_when_that_one_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lakehouse_bed import images

    monkeypatch.setattr(images, "images_dir", lambda: tmp_path)
    busybox = next(i for i in images.catalogue() if "busybox" in i.name)
    marker = images.archive(busybox).with_suffix(".fingerprint")
    marker.parent.mkdir(parents=True)
    base_arg = images.normalise(busybox.name)
    assert images._stamp_of(base_arg) == "unbuilt"
    marker.write_text("context:recipe-1")
    first = images._stamp_of(base_arg)
    marker.write_text("context:recipe-2")  # only the recipe changed
    assert images._stamp_of(base_arg) not in ("", first)
    assert images._stamp_of("docker.io/library/debian:bookworm") == ""


def test_the_beds_dns_pods_are_what_the_stacks_policies_let_pods_reach() -> None:
    from lakehouse_core.network import CLUSTER_DNS

    [deployment] = [o for o in addons.coredns() if o["kind"] == "Deployment"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert CLUSTER_DNS.selector.items() <= labels.items()
    assert CLUSTER_DNS.namespace == "dns" and deployment["metadata"]["namespace"] == "kube-system"


def test_the_beds_dns_serves_on_the_port_the_stacks_policies_allow() -> None:
    from lakehouse_core.network import DNS_PORTS

    [deployment] = [o for o in addons.coredns() if o["kind"] == "Deployment"]
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    assert {(p["containerPort"], p["protocol"]) for p in container["ports"]} == {
        (p.number, p.protocol) for p in DNS_PORTS
    }
    assert addons.COREFILE.startswith(".:53 {")


def test_a_disk_the_kubelet_would_call_full_stops_the_bed_before_it_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The node would come up tainted (disk-pressure): every pod Pending. Refused first,
    with what to free; a disk with room passes."""
    import shutil
    from collections import namedtuple

    from lakehouse_bed import bed

    usage = namedtuple("usage", "total used free")
    total = 250 * 2**30
    monkeypatch.setattr(shutil, "disk_usage", lambda _p: usage(total, 0, 5 * 2**30))
    with pytest.raises(bed.BedError, match=r"5\.0 GiB free.*below 2% free") as err:
        bed.check_free_disk(tmp_path)
    assert "image archives" in (err.value.hint or "") and "go clean -cache" in (
        err.value.hint or ""
    )
    monkeypatch.setattr(shutil, "disk_usage", lambda _p: usage(total, 0, 16 * 2**30))
    bed.check_free_disk(tmp_path)  # 16 GiB: 5 for the kubelet's floor, 10 for the run


def test_the_beds_processes_are_found_in_its_cgroups_even_as_pods_come_and_go(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every process of every cgroup below the bed's parent, in every hierarchy; a pod's
    cgroup removed while the walk runs (here: a procs file that cannot be read, a parent
    that is not there) is skipped, not fatal (the memory sampler died of it once)."""
    from lakehouse_bed import node

    memory, cpu, gone = tmp_path / "memory", tmp_path / "cpu", tmp_path / "pids"
    for folder, pids in [
        (memory / L.CGROUP_PARENT / "kubepods" / "pod1", "11\n12\n"),
        (memory / L.CGROUP_PARENT, "7\n"),
        (cpu / L.CGROUP_PARENT, "7\n13\n"),
    ]:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "cgroup.procs").write_text(pids)
    (memory / L.CGROUP_PARENT / "kubepods" / "cgroup.procs").mkdir()  # unreadable as a file
    gone.mkdir()
    monkeypatch.setattr(node, "_hierarchies", lambda: [memory, cpu, gone])
    assert node.cgroup_pids() == [7, 11, 12, 13]
