"""External programs the CLI drives (docker, kind, kubectl, pulumi) and clear errors for them."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Sequence

from lakehouse_core.errors import LakehouseError

INSTALL_HINTS = {
    "docker": "install Docker (https://docs.docker.com/engine/install/) and start its daemon",
    "kind": "install kind v0.32+ (https://kind.sigs.k8s.io/docs/user/quick-start/#installation)",
    "kubectl": "install kubectl (https://kubernetes.io/docs/tasks/tools/)",
    "pulumi": "install the Pulumi CLI (https://www.pulumi.com/docs/install/)",
}


class ToolMissing(LakehouseError):
    """A program the command needs is not installed or not working."""


class ToolFailed(LakehouseError):
    """A program the command ran ended with an error."""


def require(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise ToolMissing(
            f"`{name}` is not installed or not on PATH", hint=INSTALL_HINTS.get(name) or None
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
            f"({(result.stderr or result.stdout).strip()[:200]})",
            hint="start Docker and try again",
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
        raise ToolFailed(
            f"`{' '.join(command[:3])}` ended with exit code {code}",
            hint="its output above says why",
        )
    return code
