"""``lakehouse local up|down|status``: a MinIO on this machine that keeps your data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lakehouse.cli.common import console

local_app = typer.Typer(
    help="A MinIO on this machine with a persistent data directory, for your own data.",
    no_args_is_help=True,
)


def _show(lake: object) -> None:
    from lakehouse.local.service import LocalLake

    assert isinstance(lake, LocalLake)
    console().print(f"endpoint:   {lake.endpoint}")
    console().print(f"access key: {lake.access_key}")
    console().print(f"secret key: {lake.secret_key}")
    console().print(f"bucket:     {lake.bucket}")
    console().print(f"data:       {lake.data_dir}")


@local_app.command("up")
def local_up(
    data_dir: Annotated[
        Path | None, typer.Option(help="where MinIO keeps the data (default: in the cache)")
    ] = None,
    port: Annotated[int, typer.Option(min=1, max=65535, help="port on 127.0.0.1")] = 9000,
) -> None:
    """Start the local MinIO in the background (or show the running one) and print its keys."""
    from lakehouse.local import service

    _show(service.up(data_dir, port, log=console().log))
    console().print(
        "next: `lakehouse land <dataset> <files> --local`, then `lakehouse pipeline run --local`"
    )


@local_app.command("down")
def local_down() -> None:
    """Stop the local MinIO (the data stays for the next `up`)."""
    from lakehouse.local import service

    service.down(log=console().log)


@local_app.command("status")
def local_status() -> None:
    """Show whether the local MinIO runs, and its endpoint and keys."""
    from lakehouse.local import service

    _show(service.current())
