"""Build the project's images (job image, Dremio bootstrap image) and load them into kind."""

from __future__ import annotations

import shlex
from collections.abc import Callable

from lakehouse.ops import kind, tools
from lakehouse_core.images import PROJECT_IMAGES, ProjectImage
from lakehouse_core.paths import REPO_ROOT


def build_command(image: ProjectImage, tag: str | None = None) -> list[str]:
    command = ["docker", "build", "-f", image.dockerfile, "-t", tag or image.ref()]
    for key, value in image.build_args().items():
        command += ["--build-arg", f"{key}={value}"]
    return [*command, "."]


def printable_build_commands() -> str:
    return "\n".join(
        f"cd {shlex.quote(str(REPO_ROOT))} && " + " ".join(shlex.quote(p) for p in build_command(i))
        for i in PROJECT_IMAGES
    )


def build(log: Callable[[str], None] = print) -> list[str]:
    tools.require_docker_daemon()
    refs = []
    for image in PROJECT_IMAGES:
        ref = image.ref()
        log(f"building {ref}")
        tools.run(build_command(image), log, cwd=str(REPO_ROOT))
        refs.append(ref)
    return refs


def load(log: Callable[[str], None] = print) -> list[str]:
    tools.require_docker_daemon()
    kind_bin = tools.require("kind")
    refs = [image.ref() for image in PROJECT_IMAGES]
    for ref in refs:
        tools.run([kind_bin, "load", "docker-image", ref, "--name", kind.cluster_name()], log)
    return refs
