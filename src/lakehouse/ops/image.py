"""Build the Spark job image from spark-apps/Dockerfile and load it into kind."""

from __future__ import annotations

import shlex
from collections.abc import Callable

from lakehouse import jobimage
from lakehouse.ops import kind, tools
from lakehouse.paths import REPO_ROOT


def build_command(tag: str | None = None) -> list[str]:
    command = ["docker", "build", "-f", jobimage.DOCKERFILE, "-t", tag or jobimage.job_image_ref()]
    for key, value in jobimage.build_args().items():
        command += ["--build-arg", f"{key}={value}"]
    return [*command, "."]


def printable_build_command(tag: str | None = None) -> str:
    return f"cd {shlex.quote(str(REPO_ROOT))} && " + " ".join(
        shlex.quote(p) for p in build_command(tag)
    )


def build(log: Callable[[str], None] = print, tag: str | None = None) -> str:
    tools.require_docker_daemon()
    command = build_command(tag)
    ref = command[command.index("-t") + 1]
    log(f"building {ref}")
    tools.run(command, log, cwd=str(REPO_ROOT))
    return ref


def load(log: Callable[[str], None] = print, ref: str | None = None) -> str:
    tools.require_docker_daemon()
    kind_bin = tools.require("kind")
    ref = ref or jobimage.job_image_ref()
    tools.run([kind_bin, "load", "docker-image", ref, "--name", kind.cluster_name()], log)
    return ref
