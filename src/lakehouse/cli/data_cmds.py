"""``lakehouse demo|generate|land|prepare``: data and the pipeline on one machine."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lakehouse.cli.common import LakeChoice, console, lake_options


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


@lake_options
def generate(
    lake: LakeChoice,
    scale: Annotated[float, typer.Option(help="TPC-H scale factor")] = 0.01,
    change_batches: Annotated[int, typer.Option(min=0)] = 2,
    seed: Annotated[int, typer.Option()] = 42,
    fraction: Annotated[
        float, typer.Option(help="share of orders each change batch touches")
    ] = 0.01,
) -> None:
    """Write landing batches (TPC-H snapshot, change batches, users) to a lake."""
    from lakehouse.datagen.landing import GeneratorSettings
    from lakehouse.datagen.landing import generate as generate_landing
    from lakehouse.s3 import ObjectStore
    from lakehouse_core.catalog import CATALOG

    target = lake.resolve()
    settings = GeneratorSettings(scale, seed, fraction)
    store = ObjectStore(target.endpoint, target.bucket)
    generate_landing(
        store, settings, change_batches, CATALOG.with_bucket(target.bucket), log=console().log
    )


@lake_options
def land(
    dataset: Annotated[str, typer.Argument(help="the dataset the files belong to")],
    files: Annotated[
        list[Path],
        typer.Argument(exists=True, dir_okay=False, readable=True, help="CSV/JSON-lines files"),
    ],
    lake: LakeChoice,
    batch: Annotated[
        int | None, typer.Option(min=1, help="batch id (default: one above the newest)")
    ] = None,
) -> None:
    """Upload your own files as the next landing batch of a dataset."""
    from lakehouse.datagen.upload import land_files
    from lakehouse.s3 import ObjectStore
    from lakehouse_core.catalog import CATALOG

    target = lake.resolve()
    catalog = CATALOG.with_bucket(target.bucket)
    store = ObjectStore(target.endpoint, target.bucket)
    batch_id, keys = land_files(store, catalog, dataset, files, batch)
    for key in keys:
        console().print(f"  s3://{target.bucket}/{key}")
    console().print(
        f"landed {len(keys)} file(s) as {dataset} batch {batch_id} in {target.where}; "
        "`lakehouse pipeline run --local` (or --stack) ingests them"
    )


def prepare() -> None:
    """Download the Spark jars and build the MinIO server once (for demo, tests, bench)."""
    from lakehouse.local.prepare import prepare as prepare_local

    prepare_local(log=console().log)
