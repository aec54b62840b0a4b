"""``lakehouse``: run the lakehouse on one machine, or deploy and drive it on Kubernetes.

Every command imports what it needs inside its body, so ``lakehouse --help`` stays instant
and a missing optional tool only matters to the command that needs it.
"""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(
    name="lakehouse",
    help="A Delta Lake lakehouse on Kubernetes: MinIO, Dremio and Spark, deployed with Pulumi.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print an error the user can act on and return the exit to raise."""
    from rich.console import Console

    Console(stderr=True).print(f"[bold red]error:[/] {message}")
    return typer.Exit(code)


@app.command()
def demo(
    scale: Annotated[float, typer.Option(help="TPC-H scale factor (1 = 6M line items)")] = 0.01,
    change_batches: Annotated[
        int, typer.Option(min=0, help="change batches after the snapshot")
    ] = 2,
    seed: Annotated[int, typer.Option(help="seed for the change batches")] = 42,
    cores: Annotated[int, typer.Option(min=1, help="local Spark cores")] = 2,
    driver_memory: Annotated[str, typer.Option(help="local Spark driver memory")] = "3g",
) -> None:
    """Run bronze -> silver -> gold on this machine (local MinIO + Spark) and print gold."""
    from lakehouse.datagen.tpch import GeneratorUnavailable
    from lakehouse.demo import DemoSettings, PrerequisiteMissing, run_demo
    from lakehouse.local.minio import MinioUnavailable

    try:
        run_demo(
            DemoSettings(scale, change_batches, seed, cores=cores, driver_memory=driver_memory)
        )
    except (PrerequisiteMissing, MinioUnavailable, GeneratorUnavailable, ValueError) as err:
        raise fail(str(err)) from None


@app.command()
def generate(
    endpoint: Annotated[str, typer.Option(envvar="LAKEHOUSE_S3_ENDPOINT", help="S3 API URL")],
    access_key: Annotated[str, typer.Option(envvar="LAKEHOUSE_S3_ACCESS_KEY")],
    secret_key: Annotated[str, typer.Option(envvar="LAKEHOUSE_S3_SECRET_KEY")],
    bucket: Annotated[str, typer.Option(help="the lake bucket")] = "lakehouse",
    scale: Annotated[float, typer.Option(help="TPC-H scale factor")] = 0.01,
    change_batches: Annotated[int, typer.Option(min=0)] = 2,
    seed: Annotated[int, typer.Option()] = 42,
    fraction: Annotated[
        float, typer.Option(help="share of orders each change batch touches")
    ] = 0.01,
) -> None:
    """Write landing batches (TPC-H snapshot, change batches, users) to an S3 endpoint."""
    from rich.console import Console

    from lakehouse.catalog import CATALOG
    from lakehouse.datagen.landing import GeneratorSettings
    from lakehouse.datagen.landing import generate as generate_landing
    from lakehouse.s3 import ObjectStore, S3Endpoint

    console = Console()
    try:
        settings = GeneratorSettings(scale, seed, fraction)
        store = ObjectStore(S3Endpoint(endpoint, access_key, secret_key), bucket)
        generate_landing(
            store,
            settings,
            change_batches,
            CATALOG.with_bucket(bucket),
            log=console.log,
        )
    except ValueError as err:
        raise fail(str(err)) from None


@app.command()
def prepare() -> None:
    """Download the Spark jars and build the MinIO server once (for demo, tests, bench)."""
    from rich.console import Console

    from lakehouse.datagen.tpch import GeneratorUnavailable
    from lakehouse.demo import PrerequisiteMissing
    from lakehouse.local.jars import JarUnavailable
    from lakehouse.local.minio import MinioUnavailable
    from lakehouse.local.prepare import prepare as prepare_local

    console = Console()
    try:
        prepare_local(log=console.log)
    except (PrerequisiteMissing, MinioUnavailable, JarUnavailable, GeneratorUnavailable) as err:
        raise fail(str(err)) from None


def main() -> None:
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
