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

from rich.console import Console
from rich.table import Table

from lakehouse.catalog import CATALOG, LakeCatalog, Layer
from lakehouse.s3 import S3Endpoint


class PrerequisiteMissing(RuntimeError):
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
    from lakehouse.s3 import ObjectStore

    # Outside a terminal (CI logs, pipes) rich would wrap at 80 columns and cut the tables.
    console = console or (Console() if sys.stdout.isatty() else Console(width=160))
    check_java()
    catalog = CATALOG
    started = time.monotonic()
    with LocalMinio(log=console.log) as minio:
        endpoint = S3Endpoint(
            minio.endpoint, minio.credentials.access_key, minio.credentials.secret_key
        )
        store = ObjectStore(endpoint, catalog.bucket)
        with console.status("generating landing data"):
            generate(
                store,
                GeneratorSettings(settings.scale, settings.seed, settings.fraction),
                settings.change_batches,
                catalog,
                log=console.log,
            )
        counts = _run_pipeline(catalog, endpoint, settings, console)
    console.log(f"demo finished in {time.monotonic() - started:.0f}s; MinIO stopped")
    return counts


def _run_pipeline(
    catalog: LakeCatalog, endpoint: S3Endpoint, settings: DemoSettings, console: Console
) -> dict[str, int]:
    from lakehouse_jobs.main import run_layers
    from lakehouse_jobs.session import LocalSpark, build_session

    with console.status("starting Spark (the first run downloads the Delta and S3A jars)"):
        spark = build_session(
            "lakehouse-demo",
            LocalSpark(
                endpoint,
                cores=settings.cores,
                driver_memory=settings.driver_memory,
                extra_conf={"spark.databricks.delta.snapshotPartitions": "2"},
            ),
        )
    try:
        layer_table = Table(title="what each layer did", show_lines=False)
        for column in (
            "layer",
            "table",
            "batch",
            "rows in",
            "applied",
            "superseded",
            "rejected",
            "note",
        ):
            layer_table.add_column(
                column, justify="right" if column not in ("layer", "table", "note") else "left"
            )
        for layer in ("bronze", "silver", "gold"):
            started = time.monotonic()
            with console.status(f"running {layer}"):
                results = run_layers(spark, catalog, layer)
            console.log(f"{layer}: {len(results)} batch(es) in {time.monotonic() - started:.0f}s")
            for r in results:
                layer_table.add_row(
                    r.layer,
                    r.table_name,
                    str(r.batch_id),
                    str(r.rows_in),
                    str(r.rows_applied),
                    str(r.rows_superseded),
                    str(r.rows_rejected),
                    r.note,
                )
        console.print(layer_table)
        counts = {}
        for gold in catalog.gold_tables:
            df = spark.read.format("delta").load(catalog.table_uri(Layer.GOLD, gold.name))
            counts[gold.name] = df.count()
            ordered = df.orderBy(*gold.key).limit(settings.rows_shown)
            table = Table(title=f"gold.{gold.name} ({counts[gold.name]} rows): {gold.description}")
            for name in ordered.columns:
                table.add_column(name)
            for row in ordered.collect():
                table.add_row(*[_cell(v) for v in row])
            console.print(table)
        return counts
    finally:
        spark.stop()


def _cell(value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, float):
        return f"{value:,.4f}"
    return str(value)
