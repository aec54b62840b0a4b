"""``lakehouse table history|restore``: one table's versions, and putting it back."""

from __future__ import annotations

from typing import Annotated

import typer

from lakehouse.cli.common import LakeChoice, console, fail, lake_options

table_app = typer.Typer(
    help="One table of the lake: its history, and restoring an earlier version.",
    no_args_is_help=True,
)
TableName = Annotated[
    str, typer.Argument(help="<layer>.<table>, e.g. silver.orders", show_default=False)
]


@table_app.command("history")
@lake_options
def table_history(
    lake: LakeChoice,
    table: TableName,
    limit: Annotated[int | None, typer.Option(help="only the newest N versions")] = 20,
) -> None:
    """The table's versions: when, which operation, what it changed."""
    from rich.table import Table

    from lakehouse.ops import tables
    from lakehouse.s3 import ObjectStore

    target = lake.resolve()
    versions = tables.history(ObjectStore(target.endpoint, target.bucket), table, limit)
    view = Table("version", "when", "operation", "detail", title=f"{table} ({target.where})")
    for v in versions:
        view.add_row(str(v.version), v.when, v.operation, v.detail)
    console().print(view)


@table_app.command("restore")
@lake_options
def table_restore(
    lake: LakeChoice,
    table: TableName,
    version: Annotated[int | None, typer.Option(help="the version to put back")] = None,
    timestamp: Annotated[
        str | None, typer.Option(help="the time to put back (ISO 8601, UTC)")
    ] = None,
    timeout: Annotated[float, typer.Option(help="seconds to wait on the cluster")] = 1800,
) -> None:
    """Put the table back to an earlier version (Delta RESTORE).

    The restore is a new version; gold tables built from a restored silver table are
    rewritten; the layer's ledger records it.
    """
    if (version is None) == (timestamp is None):
        raise fail(
            "give --version or --timestamp (one of them)",
            hint=f"`lakehouse table history {table}` lists the versions and their times",
        )
    stack = lake.cluster_stack()
    if stack is None:
        results = _restore_here(lake, table, version, timestamp)
    else:
        results = _restore_on_cluster(stack, table, version, timestamp, timeout)
    for r in results:
        console().print(f"  {r['layer']}.{r['table_name']:32} version {r['target_version']}: "
                        f"{r['note']}")  # fmt: skip


def _restore_here(
    lake: LakeChoice, table: str, version: int | None, timestamp: str | None
) -> list[dict[str, object]]:
    from dataclasses import asdict

    from lakehouse.local.runner import LocalPipeline
    from lakehouse_jobs.restore import restore_table

    target = lake.resolve()
    with (
        console().status(f"restoring {table}"),
        LocalPipeline(target.endpoint, target.bucket) as pipeline,
        pipeline.lock(),
    ):
        found = restore_table(
            pipeline.spark, pipeline.catalog, table, version=version, timestamp=timestamp
        )
    return [asdict(r) for r in found]


def _restore_on_cluster(
    stack: str, table: str, version: int | None, timestamp: str | None, timeout: float
) -> list[dict[str, object]]:
    import time

    from lakehouse.cli.pipeline_cmds import pipeline_lease
    from lakehouse.ops import pipeline_run
    from lakehouse.ops.cluster import Cluster
    from lakehouse.ops.stacks import load_stack_config
    from lakehouse_core.images import job_image_ref
    from lakehouse_core.spark_applications import job_settings, restore_application

    cfg = load_stack_config(stack)
    cluster = Cluster(cfg.kube_context)
    image = cfg.images.resolve(cfg.images.job, job_image_ref())
    settings = job_settings(cfg, image, "lakehouse-cli")
    name = f"lakehouse-restore-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}"
    with pipeline_lease(cluster, settings.namespace) as holder:
        app = restore_application(
            table, settings.with_(lease_holder=holder), name=name, version=version,
            timestamp=timestamp,
        )  # fmt: skip
        run = pipeline_run.run_application(
            cluster, app, "restore", on_state=lambda n, s: console().log(f"{n}: {s}"),
            timeout=timeout,
            hint=f"`lakehouse table history {table} --stack {stack}` lists the versions",
        )  # fmt: skip
    return run.results
