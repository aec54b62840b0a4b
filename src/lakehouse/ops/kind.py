"""The kind cluster the dev stack assumes (infra/kind-cluster.yaml)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import yaml

from lakehouse.ops import tools
from lakehouse_core.paths import REPO_ROOT

KIND_CONFIG = REPO_ROOT / "infra" / "kind-cluster.yaml"


def cluster_name() -> str:
    return str(yaml.safe_load(KIND_CONFIG.read_text())["name"])


def exists(kind: str, name: str) -> bool:
    result = subprocess.run([kind, "get", "clusters"], capture_output=True, text=True, check=False)
    return name in result.stdout.split()


def create(log: Callable[[str], None] = print) -> str:
    tools.require_docker_daemon()
    kind = tools.require("kind")
    name = cluster_name()
    if exists(kind, name):
        log(f"kind cluster {name} already exists")
    else:
        tools.run([kind, "create", "cluster", "--config", str(KIND_CONFIG), "--wait", "120s"], log)
    return f"kind-{name}"


def delete(log: Callable[[str], None] = print) -> None:
    tools.require_docker_daemon()
    kind = tools.require("kind")
    name = cluster_name()
    if not exists(kind, name):
        log(f"no kind cluster {name}")
        return
    tools.run([kind, "delete", "cluster", "--name", name], log)
