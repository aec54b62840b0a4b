"""``lakehouse``: run the lakehouse on one machine, or deploy and drive it on Kubernetes.

Command groups live in their own modules; every command imports what it needs inside its
body, so ``lakehouse --help`` stays instant and a missing optional tool only matters to
the command that needs it. Failures a user can fix end in one ``error:`` line with a hint
(see ``common.LakehouseGroup``); ``--debug`` adds the traceback.
"""

from __future__ import annotations

from typing import Annotated

import typer

from lakehouse.cli import (
    data_cmds,
    deploy_cmds,
    kind_cmds,
    local_cmds,
    localcluster_cmds,
    pipeline_cmds,
    query_cmds,
)
from lakehouse.cli.common import DEBUG_KEY, LakehouseGroup

app = typer.Typer(
    name="lakehouse",
    cls=LakehouseGroup,
    help="A Delta Lake lakehouse on Kubernetes: MinIO, Dremio and Spark, deployed with Pulumi.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def root(
    ctx: typer.Context,
    debug: Annotated[
        bool,
        typer.Option("--debug", envvar="LAKEHOUSE_DEBUG", help="show tracebacks of failures"),
    ] = False,
) -> None:
    """Run `lakehouse demo` first: the whole pipeline on this machine, no cluster needed."""
    ctx.meta[DEBUG_KEY] = debug


# One machine
app.command()(data_cmds.demo)
app.command()(data_cmds.generate)
app.command()(data_cmds.land)
app.command()(data_cmds.prepare)
app.add_typer(local_cmds.local_app, name="local")
app.add_typer(pipeline_cmds.pipeline_app, name="pipeline")
# Kubernetes
app.command()(deploy_cmds.up)
app.command()(deploy_cmds.preview)
app.command()(deploy_cmds.destroy)
app.command()(deploy_cmds.render)
app.command()(deploy_cmds.manifests)
app.command()(query_cmds.query)
app.command()(query_cmds.status)
app.add_typer(kind_cmds.cluster_app, name="cluster")
app.add_typer(kind_cmds.image_app, name="image")
app.add_typer(localcluster_cmds.localcluster_app, name="localcluster")


def main() -> None:
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
