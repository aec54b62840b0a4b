"""Entry point of the medallion jobs: ``python -m lakehouse_jobs <layer> [options]``.

This is what each SparkApplication runs (through spark-apps/run_job.py). It uses argparse
rather than the project's Typer CLI because the job image carries only the job package
and the pure-Python part of the core, nothing else.

Besides a readable line per batch, every result is printed once as a JSON line starting
with ``JOB_RESULT_PREFIX``: ``lakehouse pipeline run`` reads them from the driver's log and
shows the same per-batch summary for a cluster run as for a local one.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict

from pyspark.sql import SparkSession

from lakehouse_core.catalog import (
    BACKUP_STEP,
    BACKUPS_PREFIX,
    CATALOG,
    DEFAULT_RETAIN_HOURS,
    LAYER_CHOICES,
    MAINTENANCE_STEP,
    PIPELINES,
    RESTORE_STEP,
    LakeCatalog,
    Layer,
    layers_for,
)
from lakehouse_core.errors import LakehouseError
from lakehouse_core.names import BACKUP_RESULT_PREFIX, JOB_RESULT_PREFIX, LOG_FORMAT_ENV
from lakehouse_jobs.audit import BatchResult


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="lakehouse_jobs",
        description="Run a medallion layer over the lake: landing -> bronze -> silver -> gold.",
    )
    parser.add_argument(
        "layer",
        choices=(*LAYER_CHOICES, MAINTENANCE_STEP),
        help="the layer to refresh ('all' runs each in order), or maintenance",
    )
    parser.add_argument(
        "--retain-hours",
        type=float,
        default=None,
        help="maintenance: the time-travel window VACUUM keeps (default: a week)",
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
    *,
    report: bool = False,
) -> list[BatchResult]:
    """Run one layer, or all three in order, over the chosen datasets.

    ``report``: push each layer's figures (or its failure) to the stack's Pushgateway
    (``lakehouse_jobs.metrics``; nothing happens where none is named)."""
    from lakehouse_jobs import bronze, gold, metrics, silver, storage

    chosen = catalog.select_datasets(list(datasets) if datasets else None)
    results: list[BatchResult] = []
    for step in layers_for(layer):
        started = time.monotonic()
        try:
            if step is Layer.BRONZE:
                done = bronze.run(spark, catalog, chosen)
            elif step is Layer.SILVER:
                done = silver.run(spark, catalog, chosen)
            else:
                done = gold.run(spark, catalog, gold.GOLD.reading(d.name for d in chosen))
        except Exception as err:
            if report:
                metrics.push_failure(step.value)
            if isinstance(err, LakehouseError):
                raise
            explained = storage.explain(err, f"the {step.value} layer failed")
            if explained is None:
                raise
            raise explained from err
        if report:
            metrics.push_success(step.value, done, time.monotonic() - started)
        results += done
    return results


def run_maintenance(
    spark: SparkSession,
    catalog: LakeCatalog,
    datasets: Sequence[str] | None = None,
    retain_hours: float | None = None,
) -> list[BatchResult]:
    """Compact, checkpoint and vacuum the chosen datasets' silver and gold tables."""
    from lakehouse_jobs import maintenance

    chosen = catalog.select_datasets(list(datasets) if datasets else None)
    hours = DEFAULT_RETAIN_HOURS if retain_hours is None else retain_hours
    return maintenance.run(spark, catalog, chosen, hours)


@contextmanager
def one_writer() -> Iterator[None]:
    """In the cluster, hold the pipeline's Lease for this run (see ``lakehouse_jobs.lease``).

    A driver started by ``lakehouse pipeline run`` runs under the CLI's Lease (its identity
    arrives in ``LAKEHOUSE_LEASE_HOLDER``) and checks the CLI still holds it; any other
    driver takes the Lease itself. Outside a cluster (local runs) the application's own
    lock does this.
    """
    from lakehouse_core.names import PIPELINE_LEASE
    from lakehouse_jobs import lease

    if not lease.in_cluster():
        yield
        return
    api = lease.InClusterLeaseApi()
    with open(f"{lease.SA_DIR}/namespace", encoding="utf-8") as ns:
        namespace = ns.read().strip()
    holder = os.environ.get(lease.HOLDER_ENV)
    if holder:
        current = api.get(namespace, PIPELINE_LEASE)
        holding = lease.holding_of(current) if current is not None else None
        if holding is None or holding.holder != holder or holding.expired(time.time()):
            raise lease.LeaseBusy(
                f"this application was started for run {holder}, which no longer holds "
                f"Lease {namespace}/{PIPELINE_LEASE}",
                hint="start the pipeline again with `lakehouse pipeline run`",
            )
        yield
        return
    identity = f"driver/{os.environ.get('HOSTNAME', 'unknown')}"
    with lease.Lease(api, namespace, PIPELINE_LEASE, identity):
        yield


@contextmanager
def writer_session(app_name: str) -> Iterator[SparkSession]:
    """A Spark session for a step that writes the lake, under the lake's one-writer rule
    (``one_writer``); stopped when the step ends."""
    from lakehouse_jobs.session import build_session

    with one_writer():
        spark = build_session(app_name)
        try:
            yield spark
        finally:
            spark.stop()


def failed(err: LakehouseError) -> int:
    """A step's clear error (and its hint) on stderr; the exit code of a failed step."""
    print(f"error: {err.message}", file=sys.stderr)
    if err.hint:
        print(f"hint: {err.hint}", file=sys.stderr)
    return 1


def summary_line(result: BatchResult) -> str:
    return (
        f"{result.layer:6} {result.table_name:26} batch {result.batch_id:>6}: "
        f"in={result.rows_in} applied={result.rows_applied} "
        f"superseded={result.rows_superseded} rejected={result.rows_rejected} "
        f"version={result.target_version} {result.note}"
    )


class JsonLines(logging.Formatter):
    """One JSON object per log line (``LAKEHOUSE_LOG_FORMAT=json``), for fluent-bit or Vector."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def configure_logging() -> None:
    handler = logging.StreamHandler(sys.stdout)
    if os.environ.get(LOG_FORMAT_ENV) == "json":
        handler.setFormatter(JsonLines())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler])


def parse_restore_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="lakehouse_jobs restore",
        description="Put one table back to an earlier version (Delta RESTORE).",
    )
    parser.add_argument("--table", required=True, help="<layer>.<table>, e.g. silver.orders")
    when = parser.add_mutually_exclusive_group(required=True)
    when.add_argument("--version", type=int, help="the version to restore")
    when.add_argument("--timestamp", help="the time to restore to (ISO 8601)")
    parser.add_argument("--bucket", default=CATALOG.bucket)
    return parser.parse_args(list(argv))


def main_restore(argv: Sequence[str]) -> int:
    args = parse_restore_args(argv)
    catalog = CATALOG.with_bucket(args.bucket)
    from lakehouse_jobs.restore import restore_table

    try:
        with writer_session("lakehouse-restore") as spark:
            results = restore_table(
                spark, catalog, args.table, version=args.version, timestamp=args.timestamp
            )
    except LakehouseError as err:
        return failed(err)
    for result in results:
        print(JOB_RESULT_PREFIX + json.dumps(asdict(result), sort_keys=True))
    return 0


def parse_backup_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="lakehouse_jobs backup",
        description=f"Copy the lake into {BACKUPS_PREFIX}/ of its bucket (the scheduled backup).",
    )
    parser.add_argument(
        "--keep", type=int, default=7, help="keep the newest N backups (default: %(default)s)"
    )
    parser.add_argument("--bucket", default=CATALOG.bucket)
    args = parser.parse_args(list(argv))
    if args.keep < 1:
        parser.error(f"--keep must be at least 1, not {args.keep}")
    return args


def main_backup(argv: Sequence[str]) -> int:
    args = parse_backup_args(argv)
    catalog = CATALOG.with_bucket(args.bucket)
    from lakehouse_jobs import backup

    try:
        with writer_session("lakehouse-backup") as spark:
            done = backup.run(spark, catalog, keep=args.keep)
    except LakehouseError as err:
        return failed(err)
    print(
        f"backup {done.backup_id} in s3://{args.bucket}/{BACKUPS_PREFIX}: {done.tables} tables, "
        f"{done.files} files, {done.bytes / 2**20:.1f} MiB; copied {done.copied} files "
        f"({done.copied_bytes / 2**20:.1f} MiB) in {done.seconds:.0f} s; "
        f"dropped {len(done.dropped)} older backup(s) (keeping {args.keep})"
    )
    print(BACKUP_RESULT_PREFIX + json.dumps(asdict(done), sort_keys=True))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    configure_logging()
    given = list(sys.argv[1:] if argv is None else argv)
    if given[:1] == [RESTORE_STEP]:
        return main_restore(given[1:])
    if given[:1] == [BACKUP_STEP]:
        return main_backup(given[1:])
    args = parse_args(given)
    catalog = CATALOG.with_bucket(args.bucket)
    try:
        catalog.select_datasets(args.datasets)
    except KeyError as err:
        print(f"error: {err.args[0]}", file=sys.stderr)
        return 2

    try:
        with writer_session(f"lakehouse-{args.layer}") as spark:
            if args.layer == MAINTENANCE_STEP:
                results = run_maintenance(spark, catalog, args.datasets, args.retain_hours)
            else:
                results = run_layers(spark, catalog, args.layer, args.datasets, report=True)
    except LakehouseError as err:
        return failed(err)
    for result in results:
        print(summary_line(result))
        print(JOB_RESULT_PREFIX + json.dumps(asdict(result), sort_keys=True))
    print(f"{args.layer}: {len(results)} batch(es) processed")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
