"""``lakehouse``: run the lakehouse on one machine, or deploy and drive it on Kubernetes.

Command groups live in their own modules; every command imports what it needs inside its
body, so ``lakehouse --help`` stays instant and a missing optional tool only matters to
the command that needs it. Failures a user can fix end in one ``error:`` line with a hint
(see ``common.LakehouseGroup``); ``--debug`` adds the traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import typer

from lakehouse.cli import (
    backup_cmds,
    connect_cmds,
    data_cmds,
    deploy_cmds,
    kind_cmds,
    local_cmds,
    observe_cmds,
    pipeline_cmds,
    query_cmds,
    table_cmds,
)
from lakehouse.cli.common import (
    DEBUG_KEY,
    KIND,
    KUBERNETES,
    ONE_MACHINE,
    RECOVERY,
    LakehouseGroup,
)

app = typer.Typer(
    name="lakehouse",
    cls=LakehouseGroup,
    help="A Delta Lake lakehouse on Kubernetes: MinIO, Dremio and Spark, deployed with Pulumi.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(show: bool) -> None:
    if show:
        from importlib.metadata import version

        typer.echo(f"lakehouse {version('lakehouse')}")
        raise typer.Exit


@app.callback()
def root(
    ctx: typer.Context,
    debug: Annotated[
        bool,
        typer.Option("--debug", envvar="LAKEHOUSE_DEBUG", help="show tracebacks of failures"),
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="print the version and stop"
        ),
    ] = False,
) -> None:
    """Run `lakehouse demo` first: the whole pipeline on this machine, no cluster needed."""
    ctx.meta[DEBUG_KEY] = debug


ON_ONE_MACHINE: tuple[Callable[..., None], ...] = (
    data_cmds.demo,
    data_cmds.generate,
    data_cmds.land,
    data_cmds.prepare,
)
ON_KUBERNETES: tuple[Callable[..., None], ...] = (
    deploy_cmds.up,
    deploy_cmds.preview,
    deploy_cmds.destroy,
    deploy_cmds.render,
    deploy_cmds.manifests,
    query_cmds.query,
    observe_cmds.status,
    observe_cmds.logs,
    connect_cmds.connect,
)
for command in ON_ONE_MACHINE:
    app.command(rich_help_panel=ONE_MACHINE)(command)
app.command(rich_help_panel=ONE_MACHINE)(connect_cmds.notebook)
app.add_typer(local_cmds.local_app, name="local", rich_help_panel=ONE_MACHINE)
app.add_typer(pipeline_cmds.pipeline_app, name="pipeline", rich_help_panel=KUBERNETES)
for command in ON_KUBERNETES:
    app.command(rich_help_panel=KUBERNETES)(command)
app.command(rich_help_panel=RECOVERY)(backup_cmds.backup)
app.command(rich_help_panel=RECOVERY)(backup_cmds.restore)
app.add_typer(table_cmds.table_app, name="table", rich_help_panel=RECOVERY)
app.add_typer(kind_cmds.cluster_app, name="cluster", rich_help_panel=KIND)
app.add_typer(kind_cmds.image_app, name="image", rich_help_panel=KIND)


def main() -> None:
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
