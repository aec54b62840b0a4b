"""Every image the stacks use, built here without a registry, tagged as the stacks name them.

Recipes are Dockerfiles under testbed/images/ (stand-ins: how each differs from the
published image is in its header) plus the project's own spark-apps/Dockerfile and
dremio-client/Dockerfile, built as they are. buildah builds them without a daemon; each
image is saved as a docker-archive in the cache (rebuilt only when its inputs change) and
imported into the node's containerd.

Inputs come from registries this machine reaches: Go binaries from the module proxy
(``programs``), Debian's packages (mmdebstrap), PyPI (pins and hashes from uv.lock), Maven
Central (ZooKeeper's jars) and the pyspark wheel in this project's environment.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lakehouse import gobuild
from lakehouse_bed import programs
from lakehouse_bed.addons import COREDNS_IMAGE, LOCAL_PATH_IMAGE
from lakehouse_bed.configs import PAUSE_IMAGE
from lakehouse_core import images as project_images
from lakehouse_core import versions
from lakehouse_core.errors import LakehouseError
from lakehouse_core.paths import REPO_ROOT, cache_dir

Log = Callable[[str], None]
RECIPES = REPO_ROOT / "testbed" / "images"
DEBIAN_SUITE = "bookworm"
DEBIAN_BASE = "localhost/lakehouse-standins/debian-base:bookworm"
BASE_PACKAGES = (
    "openjdk-17-jre-headless",
    "python3",
    "python3-pip",
    "tini",
    "bash",
    "procps",
    "ca-certificates",
    "wget",
    "netbase",
    "util-linux",
    "libnss-wrapper",
)
ZOOKEEPER_VERSION = versions.ZOOKEEPER_IMAGE.tag.split("-")[0]
SPARK_OPERATOR_IMAGE = (
    f"ghcr.io/kubeflow/spark-operator/controller:{versions.SPARK_OPERATOR_CHART.version}"
)
SPARK_OPERATOR_HOOK_IMAGE = (
    f"ghcr.io/kubeflow/spark-operator/kubectl:{versions.SPARK_OPERATOR_CHART.version}"
)
TRAEFIK_IMAGE = f"docker.io/library/traefik:{versions.TRAEFIK_GO_VERSION}"


class ImageBuildError(LakehouseError):
    """An image of the test bed could not be built; the message ends with the build's output."""


def normalise(ref: str) -> str:
    """The fully qualified name containerd's CRI looks up (docker.io/library/busybox:1.37.0)."""
    first = ref.split("/", 1)[0]
    if "/" not in ref:
        return f"docker.io/library/{ref}"
    if "." not in first and ":" not in first and first != "localhost":
        return f"docker.io/{ref}"
    return ref


@dataclass(frozen=True)
class Image:
    """One image: its reference, its recipe, and what its build context needs besides."""

    ref: str
    dockerfile: Path
    prepare: Callable[[Path, Log], dict[str, str]] = field(default=lambda _c, _l: {})
    # Stand-ins build from their recipe folder; the project's images from what prepare copies.
    copy_recipe: bool = True

    @property
    def name(self) -> str:
        return normalise(self.ref)


# --- the build context of each image ---------------------------------------------------------


def _copy_binary(target: gobuild.GoTarget, name: str, context: Path) -> None:
    shutil.copy2(gobuild.binary(target, name), context / name)


def _binary(target: gobuild.GoTarget, name: str) -> Callable[[Path, Log], dict[str, str]]:
    def prepare(context: Path, _log: Log) -> dict[str, str]:
        _copy_binary(target, name, context)
        return {}

    return prepare


def _pause(context: Path, _log: Log) -> dict[str, str]:
    gcc = shutil.which("gcc")
    if gcc is None:
        raise ImageBuildError("gcc is needed to build the pause image", hint="apt-get install gcc")
    _run([gcc, "-static", "-Os", "-o", str(context / "pause"), str(context / "pause.c")])
    return {}


def _busybox(context: Path, _log: Log) -> dict[str, str]:
    with tempfile.TemporaryDirectory() as tmp:
        _run(["apt-get", "download", "busybox-static"], cwd=tmp)
        [deb] = Path(tmp).glob("busybox-static_*.deb")
        _run(["dpkg-deb", "-x", str(deb), f"{tmp}/x"])
        shutil.copy2(f"{tmp}/x/bin/busybox", context / "busybox")
    return {}


def _mc(context: Path, _log: Log) -> dict[str, str]:
    _copy_binary(programs.MC, "mc", context)
    return {"BUSYBOX_IMAGE": normalise(versions.BUSYBOX_IMAGE.ref)}


def _debian_rootfs(context: Path, log: Log) -> dict[str, str]:
    cached = cache_dir() / "localcluster" / "images" / f"debian-{DEBIAN_SUITE}-rootfs.tar"
    if not cached.is_file():
        log(f"making a Debian {DEBIAN_SUITE} root filesystem with mmdebstrap (about a minute)")
        cached.parent.mkdir(parents=True, exist_ok=True)
        partial = cached.with_suffix(".partial.tar")
        _run(
            [
                "mmdebstrap",
                "--variant=apt",
                f"--include={','.join(BASE_PACKAGES)}",
                "--dpkgopt=path-exclude=/usr/share/man/*",
                "--dpkgopt=path-exclude=/usr/share/doc/*",
                # The JRE's postinst registers alternatives under man1: keep the folder.
                "--essential-hook=mkdir -p $1/usr/share/man/man1",
                "--customize-hook=rm -rf $1/var/lib/apt/lists/* $1/var/cache/apt/*",
                DEBIAN_SUITE,
                str(partial),
            ]
        )
        partial.replace(cached)
    os.link(cached, context / "rootfs.tar")
    return {}


def _spark(context: Path, _log: Log) -> dict[str, str]:
    """The Spark distribution inside the pyspark wheel, laid out as /opt/spark."""
    import pyspark

    wheel = Path(pyspark.__file__).parent
    target = context / "spark"
    for part in ("jars", "bin", "sbin"):
        shutil.copytree(wheel / part, target / part, symlinks=True)
    (target / "python").mkdir(parents=True)
    shutil.copytree(wheel / "python" / "lib", target / "python" / "lib")
    for cmd in (target / "bin").glob("*.cmd"):
        cmd.unlink()
    return {"BASE_IMAGE": DEBIAN_BASE}


def _spark_operator(context: Path, _log: Log) -> dict[str, str]:
    _copy_binary(programs.SPARK_OPERATOR, "spark-operator", context)
    return {"SPARK_IMAGE": normalise(versions.SPARK_BASE_IMAGE.ref)}


def operator_crd_dir() -> Path:
    """The CRDs of the pinned operator, read where ``go mod download`` put its module (the
    repository at that tag, chart included; from the module proxy, once)."""
    info = gobuild.download(
        programs.SPARK_OPERATOR.module, programs.SPARK_OPERATOR.version, gobuild.go_env()
    )
    return Path(info["Dir"]) / "charts" / "spark-operator-chart" / "crds"


def _operator_crds(context: Path, _log: Log) -> dict[str, str]:
    """kubectl, and the CRDs of the operator's Go module (from the module proxy)."""
    shutil.copy2(gobuild.binary(programs.KUBERNETES, "kubectl"), context / "kubectl")
    shutil.copytree(operator_crd_dir(), context / "crds")
    for path in (context / "crds").rglob("*"):
        path.chmod(0o644 if path.is_file() else 0o755)
    return {}


# The release's lib/ ships zookeeper-prometheus-metrics 3.8.4, which Maven Central does not
# serve; 3.8.3's jar carries the same code.
ZOOKEEPER_PROMETHEUS_VERSION = "3.8.3"
ZOOKEEPER_DIST_POM = f"""<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>lakehouse.local</groupId><artifactId>zookeeper-standin</artifactId>
  <version>1</version><packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.zookeeper</groupId><artifactId>zookeeper</artifactId>
      <version>{ZOOKEEPER_VERSION}</version></dependency>
    <dependency><groupId>ch.qos.logback</groupId><artifactId>logback-classic</artifactId>
      <version>1.2.13</version></dependency>
    <dependency><groupId>io.dropwizard.metrics</groupId><artifactId>metrics-core</artifactId>
      <version>4.1.12.1</version></dependency>
    <dependency><groupId>commons-cli</groupId><artifactId>commons-cli</artifactId>
      <version>1.5.0</version></dependency>
    <dependency><groupId>jline</groupId><artifactId>jline</artifactId>
      <version>2.14.6</version></dependency>
    <dependency><groupId>org.xerial.snappy</groupId><artifactId>snappy-java</artifactId>
      <version>1.1.10.5</version></dependency>
    <dependency><groupId>org.apache.zookeeper</groupId>
      <artifactId>zookeeper-prometheus-metrics</artifactId>
      <version>{ZOOKEEPER_PROMETHEUS_VERSION}</version></dependency>
    <dependency><groupId>org.eclipse.jetty</groupId><artifactId>jetty-servlet</artifactId>
      <version>9.4.53.v20231009</version></dependency>
  </dependencies>
</project>
"""


def _zookeeper(context: Path, log: Log) -> dict[str, str]:
    """The jars of ZooKeeper's binary distribution (its lib/), from Maven Central through mvn.

    The zookeeper POM leaves out what the distribution ships beside it (metrics-core, which
    the server needs at start, the CLI's commons-cli and jline, snappy, the admin server's
    Jetty, and the Prometheus metrics provider), so those are named here at the
    distribution's versions.
    """
    pom = ZOOKEEPER_DIST_POM
    digest = hashlib.sha256(pom.encode()).hexdigest()[:8]
    lib = cache_dir() / "localcluster" / "images" / f"zookeeper-{ZOOKEEPER_VERSION}-lib-{digest}"
    if not lib.is_dir():
        log(f"resolving ZooKeeper {ZOOKEEPER_VERSION}'s jars from Maven Central")
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / "pom.xml").write_text(pom)
            _run(
                [
                    "mvn",
                    "-q",
                    "-B",
                    "dependency:copy-dependencies",
                    "-DincludeScope=runtime",
                    f"-DoutputDirectory={lib}.partial",
                ],
                cwd=tmp,
            )
        Path(f"{lib}.partial").replace(lib)
    shutil.copytree(lib, context / "lib")
    return {"BASE_IMAGE": DEBIAN_BASE}


def _dremio_double(context: Path, _log: Log) -> dict[str, str]:
    python = context / "python"
    core = python / "lakehouse_core"
    core.mkdir(parents=True)
    for module in project_images.IMAGE_CORE_MODULES:
        shutil.copy2(REPO_ROOT / module, core / Path(module).name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(
        REPO_ROOT / "dremio-client" / "lakehouse_dremio", python / "lakehouse_dremio", ignore=ignore
    )
    shutil.copytree(
        REPO_ROOT / "testbed" / "dremio-double" / "lakehouse_dremio_double",
        python / "lakehouse_dremio_double",
        ignore=ignore,
    )
    (context / "requirements.txt").write_text(
        locked_requirements(["pyarrow", "deltalake", "duckdb", "httpx", "tenacity"])
    )
    return {"BASE_IMAGE": DEBIAN_BASE}


def _project(image: project_images.ProjectImage) -> Callable[[Path, Log], dict[str, str]]:
    """A project image's own sources, and its build arguments with the stand-in base."""

    def prepare(context: Path, _log: Log) -> dict[str, str]:
        for source in (image.dockerfile, *image.sources):
            src, dst = REPO_ROOT / source, context / source
            dst.parent.mkdir(parents=True, exist_ok=True)
            if src.is_dir():
                shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            else:
                shutil.copy2(src, dst)
        args = image.build_args()
        args["SPARK_BASE_IMAGE"] = normalise(args["SPARK_BASE_IMAGE"])
        return args

    return prepare


def locked_requirements(roots: list[str], python: str = "3.11") -> str:
    """``name==version --hash=...`` for ``roots`` and all they depend on, as uv.lock pins them."""
    import tomllib  # the application runs on Python 3.11+ (the jobs on 3.10)
    from packaging.markers import Marker

    lock = tomllib.loads((REPO_ROOT / "uv.lock").read_text())
    packages: dict[str, list[dict[str, Any]]] = {}
    for package in lock["package"]:
        packages.setdefault(str(package["name"]), []).append(package)
    env = {
        "python_version": python,
        "python_full_version": f"{python}.2",
        "sys_platform": "linux",
        "platform_machine": "x86_64",
        "implementation_name": "cpython",
        "platform_system": "Linux",
        "platform_python_implementation": "CPython",
        "extra": "",
    }
    chosen: dict[str, dict[str, Any]] = {}
    pending = list(roots)
    while pending:
        name = pending.pop()
        if name in chosen:
            continue
        candidates = packages[name]
        chosen[name] = candidates[0]
        for dep in chosen[name].get("dependencies", []):
            marker = dep.get("marker")
            if marker and not Marker(marker).evaluate(env):
                continue
            if "version" in dep:
                chosen_version = [
                    p for p in packages[dep["name"]] if p["version"] == dep["version"]
                ]
                chosen[dep["name"]] = chosen_version[0]
            else:
                pending.append(dep["name"])
    lines = []
    for name in sorted(chosen):
        package = chosen[name]
        hashes = [w["hash"] for w in package.get("wheels", [])]
        lines.append(f"{name}=={package['version']} " + " ".join(f"--hash={h}" for h in hashes))
    return "\n".join(lines) + "\n"


def _recipe(name: str) -> Path:
    return RECIPES / name / "Dockerfile"


def catalogue() -> list[Image]:
    """Every image, in build order (a base before what is built on it)."""
    return [
        Image(PAUSE_IMAGE, _recipe("pause"), _pause),
        Image(COREDNS_IMAGE, _recipe("coredns"), _binary(programs.COREDNS, "coredns")),
        Image(
            LOCAL_PATH_IMAGE,
            _recipe("local-path-provisioner"),
            _binary(programs.LOCAL_PATH_PROVISIONER, "local-path-provisioner"),
        ),
        Image(versions.BUSYBOX_IMAGE.ref, _recipe("busybox"), _busybox),
        Image(versions.MINIO_IMAGE.ref, _recipe("minio"), _binary(programs.MINIO_SERVER, "minio")),
        Image(versions.MC_IMAGE.ref, _recipe("mc"), _mc),
        Image(TRAEFIK_IMAGE, _recipe("traefik"), _binary(programs.TRAEFIK, "traefik")),
        Image(
            versions.PROMETHEUS_IMAGE.ref,
            _recipe("prometheus"),
            _binary(programs.PROMETHEUS, "prometheus"),
        ),
        Image(
            versions.PUSHGATEWAY_IMAGE.ref,
            _recipe("pushgateway"),
            _binary(programs.PUSHGATEWAY, "pushgateway"),
        ),
        Image(SPARK_OPERATOR_HOOK_IMAGE, _recipe("spark-operator-kubectl"), _operator_crds),
        Image(DEBIAN_BASE, _recipe("debian-base"), _debian_rootfs),
        Image(versions.SPARK_BASE_IMAGE.ref, _recipe("spark"), _spark),
        Image(SPARK_OPERATOR_IMAGE, _recipe("spark-operator"), _spark_operator),
        Image(versions.ZOOKEEPER_IMAGE.ref, _recipe("zookeeper"), _zookeeper),
        Image(versions.DREMIO_IMAGE.ref, _recipe("dremio-double"), _dremio_double),
        Image(
            project_images.JOB_IMAGE.ref(),
            REPO_ROOT / project_images.JOB_IMAGE.dockerfile,
            _project(project_images.JOB_IMAGE),
            copy_recipe=False,
        ),
        Image(
            project_images.DREMIO_BOOTSTRAP_IMAGE.ref(),
            REPO_ROOT / project_images.DREMIO_BOOTSTRAP_IMAGE.dockerfile,
            _project(project_images.DREMIO_BOOTSTRAP_IMAGE),
            copy_recipe=False,
        ),
    ]


# --- building ---------------------------------------------------------------------------------


def images_dir() -> Path:
    return cache_dir() / "localcluster" / "images"


def archive(image: Image) -> Path:
    safe = image.name.replace("/", "_").replace(":", "_")
    return images_dir() / "archives" / f"{safe}.tar"


def _run(
    command: list[str], cwd: str | Path | None = None, env: dict[str, str] | None = None
) -> str:
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ImageBuildError(
            f"`{' '.join(command[:4])} ...` failed (exit {result.returncode}):\n"
            f"{(result.stderr or result.stdout)[-3000:]}"
        )
    return result.stdout


class Buildah:
    """buildah with its storage in the project cache and its own registries configuration
    (short names mean docker.io, and nothing is ever pulled: every base is built here)."""

    def __init__(self) -> None:
        root = images_dir() / "buildah"
        self.storage = [
            "--root",
            str(root / "storage"),
            "--runroot",
            str(root / "run"),
            "--storage-driver",
            "overlay",
        ]
        conf = root / "registries.conf"
        conf.parent.mkdir(parents=True, exist_ok=True)
        conf.write_text(
            'unqualified-search-registries = ["docker.io"]\nshort-name-mode = "permissive"\n'
        )
        self.env = {
            **os.environ,
            "CONTAINERS_REGISTRIES_CONF": str(conf),
            "BUILDAH_ISOLATION": "chroot",
        }

    def run(self, *args: str, cwd: Path | None = None) -> str:
        return _run(["buildah", *self.storage, *args], cwd=cwd, env=self.env)

    def exists(self, name: str) -> bool:
        result = subprocess.run(
            ["buildah", *self.storage, "inspect", "--type", "image", name],
            capture_output=True,
            env=self.env,
            check=False,
        )
        return result.returncode == 0


def build_time_trust() -> list[str]:
    """This machine's CA bundle and pip settings, mounted into RUN steps that download
    (pip, wget): a network that intercepts TLS is trusted at build time, and the images
    keep Debian's own CA store."""
    mounts = []
    for path in (Path("/etc/ssl/certs/ca-certificates.crt"), Path("/etc/pip.conf")):
        if path.is_file():
            mounts += ["--volume", f"{path}:{path}:ro"]
    return mounts


def fingerprint(context: Path, args: dict[str, str]) -> str:
    digest = hashlib.sha256(json.dumps(args, sort_keys=True).encode())
    for path in sorted(context.rglob("*")):
        if path.is_file():
            digest.update(path.relative_to(context).as_posix().encode())
            stat = path.stat()
            digest.update(f"{stat.st_size}:{stat.st_mode}".encode())
            if stat.st_size < 64 * 1024 * 1024:
                digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _stamp_of(value: str) -> str:
    """The fingerprint of one of our images named by a build argument ('' for other values)."""
    for image in catalogue():
        if normalise(image.name) == normalise(value):
            marker = archive(image).with_suffix(".fingerprint")
            if not marker.is_file():
                return "unbuilt"
            return hashlib.sha256(marker.read_bytes()).hexdigest()[:16]
    return ""


def build(image: Image, buildah: Buildah, log: Log) -> Path:
    """The image's archive, built when its inputs changed (or it is not in buildah's store)."""
    target = archive(image)
    with tempfile.TemporaryDirectory(prefix="lakehouse-image-") as tmp:
        context = Path(tmp)
        if image.copy_recipe:
            for item in image.dockerfile.parent.iterdir():
                if item.is_dir():
                    shutil.copytree(item, context / item.name)
                elif item.name != "Dockerfile":
                    shutil.copy2(item, context / item.name)
        args = image.prepare(context, log)
        recipe = hashlib.sha256(image.dockerfile.read_bytes()).hexdigest()[:16]
        # An image built on another of ours is rebuilt when that one is.
        bases = [_stamp_of(value) for value in args.values() if _stamp_of(value)]
        stamp = ":".join([fingerprint(context, args), recipe, *bases])
        marker = target.with_suffix(".fingerprint")
        if (
            target.is_file()
            and marker.is_file()
            and marker.read_text() == stamp
            and buildah.exists(image.name)
        ):
            return target
        log(f"building {image.name}")
        started = time.monotonic()
        command = ["bud", "--layers", "--pull-never", "-f", str(image.dockerfile), "-t", image.name]
        command += build_time_trust()
        for key, value in args.items():
            command += ["--build-arg", f"{key}={value}"]
        buildah.run(*command, str(context))
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)
    buildah.run("push", image.name, f"docker-archive:{target}:{image.name}")
    target.with_suffix(".fingerprint").write_text(stamp)
    size = target.stat().st_size / 2**20
    log(f"  {image.name}: {time.monotonic() - started:.0f}s, {size:.0f} MiB")
    return target


def build_all(log: Log = print) -> list[tuple[Image, Path]]:
    buildah = Buildah()
    return [(image, build(image, buildah, log)) for image in catalogue()]


def import_all(socket: Path, built: list[tuple[Image, Path]], log: Log = print) -> None:
    """Into the node's containerd, where the kubelet finds them by their references."""
    ctr = ["ctr", "--address", str(socket), "--namespace", "k8s.io"]
    present = set(_run([*ctr, "images", "ls", "-q"]).split())
    for image, path in built:
        if image.name in present:
            continue
        started = time.monotonic()
        _run([*ctr, "images", "import", str(path)])
        log(f"imported {image.name} ({time.monotonic() - started:.0f}s)")
    missing = {i.name for i, _ in built} - set(_run([*ctr, "images", "ls", "-q"]).split())
    if missing:
        raise ImageBuildError(f"containerd does not list {', '.join(sorted(missing))} after import")
