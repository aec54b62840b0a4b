"""``lakehouse localcluster``: a real single-node Kubernetes on this machine, no Docker.

The project's own test bed (``make cluster-test``): built from the Go module proxy and
Debian's packages, inside a network namespace with no link to the host's network. Needs
root. ``exec`` runs a command inside the bed, as the tests do.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from lakehouse.cli.common import console

localcluster_app = typer.Typer(
    help="A real single-node Kubernetes on this machine (root, no Docker), for the test bed.",
    no_args_is_help=True,
)


@localcluster_app.command("build")
def build(
    images: Annotated[bool, typer.Option(help="also build the stand-in images")] = True,
) -> None:
    """Build the node's programs, Pulumi and the images once (cached; ~1.5 h the first time)."""
    from lakehouse.localcluster import bed

    bed.build(console().log, with_images=images)


@localcluster_app.command("create")
def create() -> None:
    """Start the node (etcd, control plane, containerd, kubelet) in its own namespace."""
    from lakehouse.localcluster import bed

    bed.build(console().log)
    lay = bed.create(console().log)
    console().print(f"kubeconfig: {lay.admin_kubeconfig} (context kind-lakehouse)")
    console().print("run commands inside it with `lakehouse localcluster exec -- <command>`")


@localcluster_app.command("delete")
def delete() -> None:
    """Stop every process it started, by pid; remove its namespace, mounts, cgroups, state."""
    from lakehouse.localcluster import bed

    bed.delete(console().log)


@localcluster_app.command("status")
def status() -> None:
    """Each daemon of the node and its pid."""
    from lakehouse.localcluster import netns
    from lakehouse.localcluster.node import Node

    for name, pid in Node().status().items():
        console().print(f"{name:24} {'running, pid ' + str(pid) if pid else 'stopped'}")
    console().print(f"namespace {'present' if netns.exists() else 'absent'}")


@localcluster_app.command(
    "exec", context_settings={"allow_extra_args": True, "ignore_unknown_options": True}
)
def exec_(ctx: typer.Context) -> None:
    """Run a command inside the bed: `lakehouse localcluster exec -- kubectl get pods -A`."""
    from lakehouse.localcluster import bed

    if not ctx.args:
        raise typer.BadParameter("give the command to run after --")
    result = bed.run_inside(ctx.args, check=False, capture=False)
    sys.exit(result.returncode)
