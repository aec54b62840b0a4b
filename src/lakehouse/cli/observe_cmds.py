"""``lakehouse status`` and ``lakehouse logs``: seeing into the deployed lakehouse."""

from __future__ import annotations

from typing import Annotated

import typer

from lakehouse.cli.common import Stack, console, fail


def status(stack: Stack = "dev") -> None:
    """Health, last pipeline runs, table freshness, storage, and where each UI is."""
    from rich.table import Table

    from lakehouse.ops import observed
    from lakehouse.ops import status as health
    from lakehouse.ops.cluster import Cluster, ClusterError
    from lakehouse.ops.stacks import load_stack_config

    cfg = load_stack_config(stack)
    cluster = Cluster(cfg.kube_context)
    checks = health.check_all(cfg, cluster)
    out = console()
    try:
        storage = observed.read_storage(cluster, cfg)
        checks.append(health.storage_check(storage))
    except Exception as err:
        checks.append(health.ComponentHealth("MinIO capacity", False, f"not readable: {err}"))
    view = Table("component", "healthy", "detail", title="components")
    for c in checks:
        view.add_row(c.component, "[green]yes[/]" if c.healthy else "[red]no[/]", c.detail)
    out.print(view)
    if cfg.observability.metrics:
        try:
            layers, tables = observed.read_pipeline(cluster)
        except (ClusterError, ValueError) as err:
            out.print(f"[yellow]pipeline figures not readable:[/] {err}")
        else:
            runs = Table(
                "layer", "last success", "last failure", "seconds", "rows in", "applied",
                "rejected", title="last pipeline run per layer",
            )  # fmt: skip
            for f in layers:
                failed = f.last_failure is not None and (f.last_success or 0) < f.last_failure
                runs.add_row(
                    f.layer,
                    observed.age(f.last_success),
                    f"[red]{observed.age(f.last_failure)}[/]" if failed
                    else observed.age(f.last_failure),
                    f"{f.seconds:.0f}" if f.seconds is not None else "",
                    *(f"{f.rows.get(k, 0):.0f}" for k in ("in", "applied", "rejected")),
                )  # fmt: skip
            out.print(runs if layers else "no pipeline run reported yet")
            fresh = Table("table", "layer", "written", title="table freshness")
            for t in tables:
                fresh.add_row(t.table, t.layer, observed.age(t.written_at))
            if tables:
                out.print(fresh)
    where = Table("what", "where", title="where things are")
    for what, url in observed.urls(cfg):
        where.add_row(what, url)
    out.print(where)
    unhealthy = [c.component for c in checks if not c.healthy]
    if unhealthy:
        raise fail(
            f"not healthy: {', '.join(unhealthy)}",
            hint="the detail column says what each check saw; `lakehouse logs <component>` "
            "shows its pods' logs",
        )


def logs(
    target: Annotated[
        str,
        typer.Argument(
            help="a component (minio, zookeeper, dremio, spark-operator, spark-history, "
            "traefik, prometheus, pushgateway, ...) or a SparkApplication's name",
            show_default=False,
        ),
    ],
    stack: Stack = "dev",
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="keep streaming until the pods end")
    ] = False,
    since: Annotated[
        str | None, typer.Option("--since", help="only lines newer than this (30s, 10m, 2h)")
    ] = None,
    tail: Annotated[
        int | None, typer.Option("--tail", help="only the last N lines of each pod")
    ] = None,
) -> None:
    """The logs of every pod of a component, or of an application's driver and executors."""
    from rich.markup import escape

    from lakehouse.ops import logs as pod_logs
    from lakehouse.ops.cluster import Cluster
    from lakehouse.ops.stacks import load_stack_config

    cfg = load_stack_config(stack)
    seconds = pod_logs.since_seconds(since)
    cluster = Cluster(cfg.kube_context)
    found = pod_logs.pods(cluster, cfg, target)
    width = max(len(p.name) for p in found)
    out = console()

    def emit(pod: str, line: str) -> None:
        out.print(f"[cyan]{pod:<{width}}[/] {escape(line)}", highlight=False, soft_wrap=True)

    pod_logs.show(cluster, found, follow=follow, since=seconds, tail=tail, emit=emit)
