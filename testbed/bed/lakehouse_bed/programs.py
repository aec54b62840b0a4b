"""The Go programs of the local test bed: what to build, from which module, at which version.

Versions come from the version matrix. Each target says how its module must be wrapped
(see ``gobuild``); the facts behind the special cases are in docs/test-bed.md.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from lakehouse.gobuild import GoTarget
from lakehouse.local.minio import MC_PROGRAM
from lakehouse_core import versions

K8S = "k8s.io/kubernetes"
KUBERNETES_BINARIES = (
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kubelet",
    "kube-proxy",
    "kubectl",
)


def _staging_version(module: str) -> str | None:
    """Kubernetes' staging modules are published as v0.<minor>.<patch> of the release."""
    if module.startswith("k8s.io/"):
        return "v0" + versions.KUBERNETES_VERSION.removeprefix("v1")
    return None


def _k8s_ldflags() -> str:
    version = versions.KUBERNETES_VERSION
    major, minor = version.removeprefix("v").split(".")[:2]
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(0))
    flags = []
    for package in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        flags += [
            f"-X {package}.gitVersion={version}",
            f"-X {package}.gitMajor={major}",
            f"-X {package}.gitMinor={minor}",
            f"-X {package}.gitTreeState=clean",
            f"-X {package}.buildDate={stamp}",
        ]
    return "-s -w " + " ".join(flags)


KUBERNETES = GoTarget(
    name="kubernetes",
    module=K8S,
    version=versions.KUBERNETES_VERSION,
    binaries={name: f"{K8S}/cmd/{name}" for name in KUBERNETES_BINARIES},
    inherit_replaces=True,
    local_version=_staging_version,
    ldflags=_k8s_ldflags(),
)

ETCD_MAIN = """\
// The etcd server's own main, in a wrapper module of the lakehouse test bed.
package main

import (
\t"os"

\t"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
\tetcdmain.Main(os.Args)
}
"""

ETCD = GoTarget(
    name="etcd",
    module="go.etcd.io/etcd/server/v3",
    version=versions.ETCD_VERSION,
    binaries={"etcd": "."},
    inherit_replaces=True,
    # ../api, ../client/pkg, ...: etcd's sibling modules, published at the same version.
    local_version=lambda m: versions.ETCD_VERSION if m.startswith("go.etcd.io/etcd/") else None,
    extra_files={"main.go": ETCD_MAIN},
)

COREDNS = GoTarget(
    name="coredns",
    module="github.com/coredns/coredns",
    version=versions.COREDNS_VERSION,
    binaries={"coredns": "github.com/coredns/coredns"},
)

LOCAL_PATH_PROVISIONER = GoTarget(
    name="local-path-provisioner",
    module="github.com/rancher/local-path-provisioner",
    version=versions.LOCAL_PATH_PROVISIONER_VERSION,
    binaries={"local-path-provisioner": "github.com/rancher/local-path-provisioner"},
    inherit_replaces=True,
)

CRICTL = GoTarget(
    name="crictl",
    module="sigs.k8s.io/cri-tools",
    version=versions.CRI_TOOLS_VERSION,
    binaries={"crictl": "sigs.k8s.io/cri-tools/cmd/crictl"},
    inherit_replaces=True,
)

KUBE_ROUTER = GoTarget(
    name="kube-router",
    module="github.com/cloudnativelabs/kube-router/v2",
    version=versions.KUBE_ROUTER_VERSION,
    binaries={"kube-router": "github.com/cloudnativelabs/kube-router/v2/cmd/kube-router"},
)

MINIO_SERVER = GoTarget(
    name="minio-image",
    module=versions.MINIO_GO_MODULE,
    version=versions.MINIO_IMAGE_GO_VERSION,
    binaries={"minio": versions.MINIO_GO_MODULE},
    inherit_replaces=True,
)

MC = MC_PROGRAM  # the application's own (lakehouse.local.minio), for the mc image

SPARK_OPERATOR = GoTarget(
    name="spark-operator",
    module="github.com/kubeflow/spark-operator/v2",
    version=versions.SPARK_OPERATOR_GO_VERSION,
    binaries={"spark-operator": "github.com/kubeflow/spark-operator/v2/cmd/operator"},
    inherit_replaces=True,
)

# Traefik: its pinned go-http-auth pseudo-version is refused by the proxy; the one Traefik
# v3.5-v3.7.9 used builds (it changes only the basic/digest auth middleware, which the
# stacks do not use). Its nested module dynamic/ext is not served: it holds two empty
# structs, provided here. A stand-in, not a release binary: docs/test-bed.md says so.
TRAEFIK_DYNAMIC_EXT = """\
// Stand-in for github.com/traefik/traefik/dynamic/ext (not served by the module proxy):
// upstream it holds extension points of the dynamic configuration, empty in OSS builds.
package ext

// HTTP extends the dynamic HTTP configuration.
type HTTP struct{}

// Router extends an HTTP router.
type Router struct{}
"""

TRAEFIK = GoTarget(
    name="traefik",
    module="github.com/traefik/traefik/v3",
    version=versions.TRAEFIK_GO_VERSION,
    binaries={"traefik": "github.com/traefik/traefik/v3/cmd/traefik"},
    inherit_replaces=True,
    extra_replaces={
        "github.com/abbot/go-http-auth": (
            "github.com/containous/go-http-auth v0.4.1-0.20200324110947-a37a7636d23e"
        ),
        "github.com/traefik/traefik/dynamic/ext": "./traefik-dynamic-ext",
    },
    extra_files={
        "traefik-dynamic-ext/go.mod": "module github.com/traefik/traefik/dynamic/ext\n\ngo 1.24\n",
        "traefik-dynamic-ext/ext.go": TRAEFIK_DYNAMIC_EXT,
    },
    ldflags=(
        "-s -w -X github.com/traefik/traefik/v3/pkg/version.Version=" + versions.TRAEFIK_GO_VERSION
    ),
)

PULUMI_CLI = GoTarget(
    name="pulumi",
    module="github.com/pulumi/pulumi/pkg/v3",
    version=versions.PULUMI_CLI_VERSION,
    binaries={"pulumi": "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"},
    extra_replaces={
        "github.com/pulumi/pulumi/sdk/v3": (
            f"github.com/pulumi/pulumi/sdk/v3 {versions.PULUMI_CLI_VERSION}"
        ),
        "github.com/atotto/clipboard": (
            "github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e"
        ),
    },
    ldflags=(
        "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version="
        + versions.PULUMI_CLI_VERSION
    ),
)

PROVIDER_MAIN = "cmd/pulumi-resource-kubernetes"


def _versioned_schema(module_dir: Path) -> str:
    """What the provider's `go generate` writes: its schema with the version set, compact."""
    spec = json.loads((module_dir / PROVIDER_MAIN / "schema.json").read_text())
    spec["version"] = versions.PULUMI_KUBERNETES_PROVIDER_VERSION
    return json.dumps(spec, separators=(",", ":"))


def _compact_mapping(module_dir: Path) -> str:
    mapping = json.loads((module_dir / PROVIDER_MAIN / "terraform-mapping.json").read_text())
    return json.dumps(mapping, separators=(",", ":"))


PULUMI_KUBERNETES_PROVIDER = GoTarget(
    name="pulumi-resource-kubernetes",
    module="github.com/pulumi/pulumi-kubernetes/provider/v4",
    version=versions.PULUMI_KUBERNETES_PROVIDER_MODULE_VERSION,
    binaries={"pulumi-resource-kubernetes": f"./{PROVIDER_MAIN}"},
    copy_module=True,
    extra_replaces={
        "github.com/pulumi/pulumi-kubernetes/sdk/v4": (
            "github.com/pulumi/pulumi-kubernetes/sdk/v4 "
            + versions.PULUMI_KUBERNETES_PROVIDER_SDK_VERSION
        ),
    },
    generate={
        f"{PROVIDER_MAIN}/schema-embed.json": _versioned_schema,
        f"{PROVIDER_MAIN}/terraform-mapping-embed.json": _compact_mapping,
    },
    ldflags=(
        "-s -w -X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version="
        + versions.PULUMI_KUBERNETES_PROVIDER_VERSION
    ),
)

# The stack's own Prometheus (dev) and the Pushgateway: their release tags' modules. The
# Prometheus module carries no web UI assets (built without `builtinassets` its UI pages
# answer 500); its API, which the stack and the cluster test use, is whole.
PROMETHEUS = GoTarget(
    name="prometheus",
    module="github.com/prometheus/prometheus",
    version=versions.PROMETHEUS_GO_VERSION,
    binaries={"prometheus": "github.com/prometheus/prometheus/cmd/prometheus"},
)
PUSHGATEWAY = GoTarget(
    name="pushgateway",
    module="github.com/prometheus/pushgateway",
    version=versions.PUSHGATEWAY_GO_VERSION,
    binaries={"pushgateway": "github.com/prometheus/pushgateway"},
)

# In the order a first `lakehouse-bed build` builds them: the node first.
NODE_PROGRAMS = (KUBERNETES, ETCD, COREDNS, LOCAL_PATH_PROVISIONER, CRICTL, KUBE_ROUTER)
IMAGE_PROGRAMS = (MINIO_SERVER, MC, SPARK_OPERATOR, TRAEFIK, PROMETHEUS, PUSHGATEWAY)
DEPLOY_PROGRAMS = (PULUMI_CLI, PULUMI_KUBERNETES_PROVIDER)
ALL_PROGRAMS = NODE_PROGRAMS + IMAGE_PROGRAMS + DEPLOY_PROGRAMS
