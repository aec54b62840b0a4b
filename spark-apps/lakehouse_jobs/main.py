"""Entry point of the medallion jobs: ``python -m lakehouse_jobs <layer> [options]``.

This is what each SparkApplication runs (through spark-apps/run_job.py). It uses argparse
rather than the project's Typer CLI because the job image carries only the job package
and its pure-Python catalog, nothing else.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from pyspark.sql import SparkSession

from lakehouse.catalog import CATALOG, PIPELINES, LakeCatalog
from lakehouse_jobs.audit import BatchResult

LAYERS = ("bronze", "silver", "gold", "all")


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="lakehouse_jobs",
        description="Run a medallion layer over the lake: landing -> bronze -> silver -> gold.",
    )
    parser.add_argument(
        "layer", choices=LAYERS, help="the layer to refresh ('all' runs each in order)"
    )
    parser.add_argument(
        "--bucket", default=CATALOG.bucket, help="the lake bucket (default: %(default)s)"
    )
    parser.add_argument(
        "--datasets",
        nargs="*",
        default=None,
        metavar="NAME",
        help=f"datasets or pipelines ({', '.join(PIPELINES)}) to process; default: all",
    )
    return parser.parse_args(list(argv))


def run_layers(
    spark: SparkSession,
    catalog: LakeCatalog,
    layer: str,
    datasets: Sequence[str] | None = None,
) -> list[BatchResult]:
    """Run one layer, or all three in order, over the chosen datasets."""
    from lakehouse_jobs import bronze, gold, silver

    chosen = catalog.select_datasets(list(datasets) if datasets else None)
    results: list[BatchResult] = []
    if layer in ("bronze", "all"):
        results += bronze.run(spark, catalog, chosen)
    if layer in ("silver", "all"):
        results += silver.run(spark, catalog, chosen)
    if layer in ("gold", "all"):
        results += gold.run(spark, catalog, catalog.gold_tables_for(chosen))
    return results


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stdout,
    )
    args = parse_args(sys.argv[1:] if argv is None else argv)
    catalog = CATALOG.with_bucket(args.bucket)
    try:
        catalog.select_datasets(args.datasets)
    except KeyError as err:
        print(f"error: {err.args[0]}", file=sys.stderr)
        return 2

    from lakehouse_jobs.session import build_session

    spark = build_session(f"lakehouse-{args.layer}")
    try:
        results = run_layers(spark, catalog, args.layer, args.datasets)
    finally:
        spark.stop()
    for r in results:
        print(
            f"{r.layer:6} {r.table_name:26} batch {r.batch_id:>6}: in={r.rows_in} "
            f"applied={r.rows_applied} superseded={r.rows_superseded} "
            f"rejected={r.rows_rejected} version={r.target_version} {r.note}"
        )
    print(f"{args.layer}: {len(results)} batch(es) processed")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
