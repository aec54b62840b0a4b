"""``lakehouse-bed``: the project's test bed, a real single-node Kubernetes on this
machine without Docker (``make cluster-test``).

Built from the Go module proxy and Debian's packages, inside a network namespace with no
link to the host's network. Needs root. ``exec`` runs a command inside the bed, as the
tests do. Its own entry point: a user of the lakehouse never loads it.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from lakehouse.cli.common import LakehouseGroup, console

app = typer.Typer(
    name="lakehouse-bed",
    cls=LakehouseGroup,
    help="The test bed: a real single-node Kubernetes on this machine (root, no Docker).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.command("build")
def build(
    images: Annotated[bool, typer.Option(help="also build the stand-in images")] = True,
) -> None:
    """Build the node's programs, Pulumi and the images once (cached; ~1.5 h the first time)."""
    from lakehouse_bed import bed

    bed.build(console().log, with_images=images)


@app.command("create")
def create() -> None:
    """Start the node (etcd, control plane, containerd, kubelet) in its own namespace."""
    from lakehouse_bed import bed

    bed.build(console().log)
    lay = bed.create(console().log)
    console().print(f"kubeconfig: {lay.admin_kubeconfig} (context kind-lakehouse)")
    console().print("run commands inside it with `lakehouse-bed exec -- <command>`")


@app.command("delete")
def delete() -> None:
    """Stop every process it started, by pid; remove its namespace, mounts, cgroups, state."""
    from lakehouse_bed import bed

    bed.delete(console().log)


@app.command("status")
def status() -> None:
    """Each daemon of the node and its pid."""
    from lakehouse_bed import netns
    from lakehouse_bed.node import Node

    for name, pid in Node().status().items():
        console().print(f"{name:24} {'running, pid ' + str(pid) if pid else 'stopped'}")
    console().print(f"namespace {'present' if netns.exists() else 'absent'}")


@app.command("exec", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def exec_(ctx: typer.Context) -> None:
    """Run a command inside the bed: `lakehouse-bed exec -- kubectl get pods -A`."""
    from lakehouse_bed import bed

    if not ctx.args:
        raise typer.BadParameter("give the command to run after --")
    result = bed.run_inside(ctx.args, check=False, capture=False)
    sys.exit(result.returncode)


def main() -> None:
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
