"""``lakehouse pipeline run``: bronze -> silver -> gold, on a cluster or on this machine."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer

from lakehouse.cli.common import LakeChoice, LayerOption, console, lake_options

pipeline_app = typer.Typer(
    help="Run the medallion pipeline, as SparkApplications or on this machine.",
    no_args_is_help=True,
)


@pipeline_app.command("run")
@lake_options
def pipeline_run(
    lake: LakeChoice,
    layer: LayerOption = "all",
    datasets: Annotated[
        list[str] | None, typer.Option("--dataset", help="only these datasets (repeatable)")
    ] = None,
    cores: Annotated[int, typer.Option(min=1, help="local Spark cores (--local)")] = 2,
    driver_memory: Annotated[str, typer.Option(help="local Spark memory (--local)")] = "3g",
    timeout: Annotated[float, typer.Option(help="seconds to wait for each layer")] = 3600,
    refresh_dremio: Annotated[
        bool, typer.Option(help="promote and refresh the tables in Dremio afterwards")
    ] = True,
    dremio_url: Annotated[
        str | None, typer.Option(help="Dremio's URL (default: the stack's ingress host)")
    ] = None,
) -> None:
    """Refresh the layers in order and show what each batch did.

    With --stack (dev when no lake is named): SparkApplications on the stack's cluster,
    then Dremio is refreshed. With --local (or --endpoint): the same jobs on local Spark,
    against the MinIO of `lakehouse local up` or any S3 endpoint.
    """
    from lakehouse.report import batch_table, totals

    stack = lake.cluster_stack()
    if stack is None:
        results = _run_local(lake, layer, datasets, cores, driver_memory)
    else:
        if lake.bucket:
            raise typer.BadParameter(
                "a stack's runs use the stack's own bucket (lakehouse:bucket)",
                param_hint="--bucket",
            )
        results = _run_on_cluster(layer, stack, datasets, timeout, refresh_dremio, dremio_url)
    console().print(batch_table(results))
    console().print(totals(results))


def _run_local(
    lake: LakeChoice,
    layer: str,
    datasets: list[str] | None,
    cores: int,
    driver_memory: str,
) -> list[dict[str, Any]]:
    from lakehouse.demo import check_java, run_with_progress
    from lakehouse.local.runner import LocalPipeline

    target = lake.resolve()
    check_java()
    console().log(f"running {layer} on local Spark against {target.where}, bucket {target.bucket}")
    with LocalPipeline(
        target.endpoint, target.bucket, cores=cores, driver_memory=driver_memory
    ) as pipeline:
        return run_with_progress(pipeline, layer, console(), datasets)


def _run_on_cluster(
    layer: str,
    stack: str,
    datasets: list[str] | None,
    timeout: float,
    refresh_dremio: bool,
    dremio_url: str | None,
) -> list[dict[str, Any]]:
    from lakehouse.ops import pipeline_run
    from lakehouse.ops.cluster import Cluster
    from lakehouse.ops.stacks import load_stack_config
    from lakehouse_core.images import job_image_ref
    from lakehouse_core.spark_applications import job_settings

    if datasets:
        raise typer.BadParameter("--dataset applies to --local runs", param_hint="--dataset")
    cfg = load_stack_config(stack)
    cluster = Cluster(cfg.kube_context)
    image = cfg.images.resolve(cfg.images.job, job_image_ref())
    settings = job_settings(cfg, image, managed_by="lakehouse-cli")
    with (
        pipeline_lease(cluster, settings.namespace) as holder,
        console().status("submitting") as status,
    ):
        settings = settings.with_(lease_holder=holder)

        def on_state(name: str, state: str) -> None:
            status.update(f"{name}: {state}")
            console().log(f"{name}: {state}")
            ui = cfg.live_ui_url(name) if state == "RUNNING" else None
            if ui:  # on a line of its own, never wrapped: a terminal makes it a link
                console().print(f"  Spark UI: {ui}", soft_wrap=True)

        runs = pipeline_run.run(cluster, settings, layer, on_state=on_state, timeout=timeout)
    for run in runs:
        console().log(f"{run.layer}: {run.name} {run.state} in {run.seconds:.0f}s")
    if refresh_dremio:
        _refresh_dremio(cfg, cluster, dremio_url)
    return [result for run in runs for result in run.results]


def _refresh_dremio(cfg: Any, cluster: Any, dremio_url: str | None) -> None:
    from lakehouse.ops.endpoints import ensure_resolvable
    from lakehouse_core.catalog import CATALOG
    from lakehouse_core.gold import GOLD_NAMES
    from lakehouse_dremio.client import DremioClient
    from lakehouse_dremio.lake import promote_tables

    admin = cluster.dremio_admin()
    url = ensure_resolvable(dremio_url or cfg.ingress.url(cfg.ingress.hosts.dremio))
    with DremioClient(url) as client:
        client.login(admin.user, admin.password)
        outcomes = promote_tables(client, CATALOG.with_bucket(cfg.bucket), GOLD_NAMES)
    failed = {k: v for k, v in outcomes.items() if v.startswith("failed")}
    done = [k for k, v in outcomes.items() if v in ("promoted", "refreshed")]
    console().log(f"Dremio: {len(done)} table(s) promoted or refreshed")
    for table, outcome in failed.items():
        console().log(f"Dremio: {table} {outcome}")


@pipeline_app.command("maintain")
@lake_options
def pipeline_maintain(
    lake: LakeChoice,
    retain_hours: Annotated[
        float | None,
        typer.Option(min=0, help="time-travel window VACUUM keeps (default: the stack's)"),
    ] = None,
    timeout: Annotated[float, typer.Option(help="seconds to wait on the cluster")] = 3600,
) -> None:
    """Compact small files, checkpoint, and VACUUM what neither time travel nor gold needs.

    The cluster runs the same step daily (a suspended schedule on dev); run it by hand after
    many small batches. Never while a pipeline run writes: it is one more writer.
    """
    from lakehouse.local.runner import LocalPipeline
    from lakehouse_core.catalog import DEFAULT_RETAIN_HOURS

    stack = lake.cluster_stack()
    if stack is None:
        target = lake.resolve()
        with (
            console().status("compacting, checkpointing, vacuuming"),
            LocalPipeline(target.endpoint, target.bucket) as pipeline,
        ):
            results = pipeline.maintain(
                None, DEFAULT_RETAIN_HOURS if retain_hours is None else retain_hours
            )
        for r in results:
            console().print(f"  {r['table_name']:34} {r['note']}")
        return
    from lakehouse.ops import pipeline_run
    from lakehouse.ops.cluster import Cluster
    from lakehouse.ops.stacks import load_stack_config
    from lakehouse_core.catalog import MAINTENANCE_STEP
    from lakehouse_core.images import job_image_ref
    from lakehouse_core.spark_applications import job_settings

    cfg = load_stack_config(stack)
    cluster = Cluster(cfg.kube_context)
    settings = job_settings(
        cfg, cfg.images.resolve(cfg.images.job, job_image_ref()), "lakehouse-cli"
    )
    if retain_hours is not None:
        settings = settings.with_(retain_hours=retain_hours)
    with pipeline_lease(cluster, settings.namespace) as holder:
        runs = pipeline_run.run(
            cluster, settings.with_(lease_holder=holder), MAINTENANCE_STEP,
            on_state=lambda n, s: console().log(f"{n}: {s}"), timeout=timeout,
        )  # fmt: skip
    for run in runs:
        console().log(f"maintenance: {run.name} {run.state} in {run.seconds:.0f}s")
        for r in run.results:
            console().print(f"  {r['table_name']:34} {r['note']}")


@contextmanager
def pipeline_lease(cluster: Any, namespace: str) -> Iterator[str]:
    """Hold the pipeline's Lease while this CLI run writes; yields the holder's identity."""
    import os
    import socket

    from lakehouse.ops.cluster import KubernetesLeaseApi
    from lakehouse_core.names import PIPELINE_LEASE
    from lakehouse_jobs.lease import Lease

    identity = f"cli/{socket.gethostname()}/{os.getpid()}"
    with Lease(KubernetesLeaseApi(cluster), namespace, PIPELINE_LEASE, identity):
        yield identity
