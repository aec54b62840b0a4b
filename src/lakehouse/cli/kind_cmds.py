"""``lakehouse cluster create|delete`` and ``lakehouse image build|load``: the kind path."""

from __future__ import annotations

from typing import Annotated

import typer

from lakehouse.cli.common import console

cluster_app = typer.Typer(
    help="Create or delete the kind cluster the dev stack assumes (needs Docker).",
    no_args_is_help=True,
)
image_app = typer.Typer(
    help="Build the project's images (job, Dremio bootstrap) and load them into kind.",
    no_args_is_help=True,
)


@cluster_app.command("create")
def cluster_create() -> None:
    """Create the kind cluster from infra/kind-cluster.yaml (checks docker and kind first)."""
    from lakehouse.ops import kind

    context = kind.create(console().log)
    console().print(f"cluster ready: kubectl context [bold]{context}[/]")


@cluster_app.command("delete")
def cluster_delete() -> None:
    """Delete the kind cluster (the data in it goes too)."""
    from lakehouse.ops import kind

    kind.delete(console().log)


@image_app.command("build")
def image_build(
    print_only: Annotated[
        bool, typer.Option("--print", help="print the docker commands instead")
    ] = False,
) -> None:
    """Build spark-apps/Dockerfile and dremio-client/Dockerfile, tagged by what they carry."""
    from lakehouse.ops import image

    if print_only:
        typer.echo(image.printable_build_commands())
        return
    for ref in image.build(console().log):
        console().print(f"built [bold]{ref}[/]")


@image_app.command("load")
def image_load() -> None:
    """Load the project's images into the kind cluster's node."""
    from lakehouse.ops import image

    for ref in image.load(console().log):
        console().print(f"loaded [bold]{ref}[/] into kind")
