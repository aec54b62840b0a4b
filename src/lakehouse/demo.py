"""``lakehouse demo``: the whole pipeline on one machine, no cluster needed.

Starts a real MinIO server on 127.0.0.1, fills landing with TPC-H data and change batches,
runs bronze -> silver -> gold on local Spark over s3a, prints what each layer did and the
gold tables, and stops MinIO. The same job code runs as SparkApplications in the cluster.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from lakehouse.report import batch_table
from lakehouse.s3 import S3Endpoint
from lakehouse_core.catalog import CATALOG, Layer
from lakehouse_core.errors import LakehouseError

if TYPE_CHECKING:
    from lakehouse.local.runner import LocalPipeline


class PrerequisiteMissing(LakehouseError):
    """Something the demo needs is not installed; the message says what to install."""


def check_java() -> str:
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").is_file():
        return str(Path(java_home) / "bin" / "java")
    found = shutil.which("java")
    if found is None:
        raise PrerequisiteMissing(
            "Java is needed to run Spark but was not found. Install a JDK 17 or newer "
            "(for example `apt install openjdk-17-jre-headless` or `brew install openjdk@17`) "
            "or set JAVA_HOME to one."
        )
    return found


@dataclass(frozen=True)
class DemoSettings:
    scale: float = 0.01
    change_batches: int = 2
    seed: int = 42
    fraction: float = 0.01
    cores: int = 2
    driver_memory: str = "3g"
    rows_shown: int = 12


def run_demo(settings: DemoSettings, console: Console | None = None) -> dict[str, int]:
    """Run the demo; returns the row count of each gold table."""
    from lakehouse.datagen.landing import GeneratorSettings, generate
    from lakehouse.local.minio import LocalMinio
    from lakehouse.local.runner import LocalPipeline
    from lakehouse.s3 import ObjectStore

    # Outside a terminal (CI logs, pipes) rich would wrap at 80 columns and cut the tables.
    console = console or (Console() if sys.stdout.isatty() else Console(width=160))
    check_java()
    started = time.monotonic()
    with LocalMinio(log=console.log) as minio:
        endpoint = S3Endpoint(
            minio.endpoint, minio.credentials.access_key, minio.credentials.secret_key
        )
        store = ObjectStore(endpoint, CATALOG.bucket)
        with console.status("generating landing data"):
            generate(
                store,
                GeneratorSettings(settings.scale, settings.seed, settings.fraction),
                settings.change_batches,
                CATALOG,
                log=console.log,
            )
        with LocalPipeline(
            endpoint, CATALOG.bucket, cores=settings.cores, driver_memory=settings.driver_memory
        ) as pipeline:
            results = run_with_progress(pipeline, "all", console)
            console.print(batch_table(results))
            counts = _show_gold(pipeline, settings, console)
    console.log(f"demo finished in {time.monotonic() - started:.0f}s; MinIO stopped")
    return counts


def run_with_progress(
    pipeline: LocalPipeline, layer: str, console: Console, datasets: list[str] | None = None
) -> list[dict[str, Any]]:
    """Run the layers with a spinner and a line per finished layer."""
    with console.status("starting Spark") as status:
        return pipeline.run(
            layer,
            datasets,
            on_start=lambda step: status.update(f"running {step}"),
            on_layer=lambda step, seconds, done: console.log(
                f"{step}: {len(done)} batch(es) in {seconds:.0f}s"
            ),
        )


def _show_gold(pipeline: LocalPipeline, settings: DemoSettings, console: Console) -> dict[str, int]:
    from lakehouse_core.gold import GOLD_TABLES

    counts = {}
    for gold in GOLD_TABLES:
        df = pipeline.spark.read.format("delta").load(
            pipeline.catalog.table_uri(Layer.GOLD, gold.name)
        )
        counts[gold.name] = df.count()
        ordered = df.orderBy(*gold.key).limit(settings.rows_shown)
        table = Table(title=f"gold.{gold.name} ({counts[gold.name]} rows): {gold.description}")
        for name in ordered.columns:
            table.add_column(name)
        for row in ordered.collect():
            table.add_row(*[_cell(v) for v in row])
        console.print(table)
    return counts


def _cell(value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, float):
        return f"{value:,.4f}"
    return str(value)
