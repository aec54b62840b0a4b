"""``lakehouse localcluster``: a real single-node Kubernetes on this machine, no Docker.

The project's own test bed (``make cluster-test``): built from the Go module proxy and
Debian's packages, inside a network namespace with no link to the host's network.
"""

from __future__ import annotations

import typer

localcluster_app = typer.Typer(
    help="A real single-node Kubernetes on this machine, in its own network namespace.",
    no_args_is_help=True,
)
