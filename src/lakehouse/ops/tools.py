"""External programs the CLI drives (docker, kind, kubectl, pulumi) and clear errors for them."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Sequence

INSTALL_HINTS = {
    "docker": "install Docker (https://docs.docker.com/engine/install/) and start its daemon",
    "kind": "install kind v0.32+ (https://kind.sigs.k8s.io/docs/user/quick-start/#installation)",
    "kubectl": "install kubectl (https://kubernetes.io/docs/tasks/tools/)",
    "pulumi": "install the Pulumi CLI (https://www.pulumi.com/docs/install/)",
}


class ToolMissing(RuntimeError):
    """A program the command needs is not installed or not working."""


def require(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise ToolMissing(
            f"`{name}` is not installed or not on PATH: {INSTALL_HINTS.get(name, '')}"
        )
    return path


def require_docker_daemon() -> str:
    docker = require("docker")
    result = subprocess.run(
        [docker, "info", "--format", "{{.ServerVersion}}"],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise ToolMissing(
            "docker is installed but its daemon is not reachable "
            f"({(result.stderr or result.stdout).strip()[:200]}); start Docker and try again"
        )
    return docker


def run(
    command: Sequence[str],
    log: Callable[[str], None] = print,
    check: bool = True,
    cwd: str | None = None,
) -> int:
    """Run a command, streaming its output line by line to ``log``."""
    log("$ " + " ".join(command))
    with subprocess.Popen(
        list(command),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
        cwd=cwd,
    ) as process:
        assert process.stdout is not None
        for line in process.stdout:
            log(line.rstrip())
        code = process.wait()
    if check and code != 0:
        raise subprocess.CalledProcessError(code, list(command))
    return code
