"""``lakehouse demo|generate|land|prepare``: data and the pipeline on one machine."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lakehouse.cli.common import console

Local = Annotated[bool, typer.Option("--local", help="the MinIO of `lakehouse local up`")]
StackName = Annotated[
    str | None,
    typer.Option("--stack", "-s", help="a deployed stack's lake, through its S3 ingress host"),
]
Endpoint = Annotated[
    str | None, typer.Option(envvar="LAKEHOUSE_S3_ENDPOINT", help="any S3 API URL")
]
AccessKey = Annotated[str | None, typer.Option(envvar="LAKEHOUSE_S3_ACCESS_KEY")]
SecretKey = Annotated[str | None, typer.Option(envvar="LAKEHOUSE_S3_SECRET_KEY")]
Bucket = Annotated[str | None, typer.Option(help="the lake bucket (default: the lake's own)")]


def demo(
    scale: Annotated[float, typer.Option(help="TPC-H scale factor (1 = 6M line items)")] = 0.01,
    change_batches: Annotated[
        int, typer.Option(min=0, help="change batches after the snapshot")
    ] = 2,
    seed: Annotated[int, typer.Option(help="seed for the change batches")] = 42,
    cores: Annotated[int, typer.Option(min=1, help="local Spark cores")] = 2,
    driver_memory: Annotated[str, typer.Option(help="local Spark driver memory")] = "3g",
) -> None:
    """Run bronze -> silver -> gold on this machine (a throwaway MinIO + Spark); print gold."""
    from lakehouse.demo import DemoSettings, run_demo

    run_demo(DemoSettings(scale, change_batches, seed, cores=cores, driver_memory=driver_memory))


def generate(
    local: Local = False,
    stack: StackName = None,
    endpoint: Endpoint = None,
    access_key: AccessKey = None,
    secret_key: SecretKey = None,
    bucket: Bucket = None,
    scale: Annotated[float, typer.Option(help="TPC-H scale factor")] = 0.01,
    change_batches: Annotated[int, typer.Option(min=0)] = 2,
    seed: Annotated[int, typer.Option()] = 42,
    fraction: Annotated[
        float, typer.Option(help="share of orders each change batch touches")
    ] = 0.01,
) -> None:
    """Write landing batches (TPC-H snapshot, change batches, users) to a lake."""
    from lakehouse import targets
    from lakehouse.datagen.landing import GeneratorSettings
    from lakehouse.datagen.landing import generate as generate_landing
    from lakehouse.s3 import ObjectStore
    from lakehouse_core.catalog import CATALOG

    lake = targets.resolve(
        local=local,
        stack=stack,
        endpoint=endpoint,
        access_key=access_key,
        secret_key=secret_key,
        bucket=bucket,
    )
    settings = GeneratorSettings(scale, seed, fraction)
    store = ObjectStore(lake.endpoint, lake.bucket)
    generate_landing(
        store, settings, change_batches, CATALOG.with_bucket(lake.bucket), log=console().log
    )


def land(
    dataset: Annotated[str, typer.Argument(help="the dataset the files belong to")],
    files: Annotated[
        list[Path],
        typer.Argument(exists=True, dir_okay=False, readable=True, help="CSV/JSON-lines files"),
    ],
    local: Local = False,
    stack: StackName = None,
    endpoint: Endpoint = None,
    access_key: AccessKey = None,
    secret_key: SecretKey = None,
    bucket: Bucket = None,
    batch: Annotated[
        int | None, typer.Option(min=1, help="batch id (default: one above the newest)")
    ] = None,
) -> None:
    """Upload your own files as the next landing batch of a dataset."""
    from lakehouse import targets
    from lakehouse.datagen.upload import land_files
    from lakehouse.s3 import ObjectStore
    from lakehouse_core.catalog import CATALOG

    lake = targets.resolve(
        local=local,
        stack=stack,
        endpoint=endpoint,
        access_key=access_key,
        secret_key=secret_key,
        bucket=bucket,
    )
    catalog = CATALOG.with_bucket(lake.bucket)
    store = ObjectStore(lake.endpoint, lake.bucket)
    batch_id, keys = land_files(store, catalog, dataset, files, batch)
    for key in keys:
        console().print(f"  s3://{lake.bucket}/{key}")
    console().print(
        f"landed {len(keys)} file(s) as {dataset} batch {batch_id} in {lake.where}; "
        "`lakehouse pipeline run --local` (or --stack) ingests them"
    )


def prepare() -> None:
    """Download the Spark jars and build the MinIO server once (for demo, tests, bench)."""
    from lakehouse.local.prepare import prepare as prepare_local

    prepare_local(log=console().log)
