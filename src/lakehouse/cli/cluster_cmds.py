"""``lakehouse cluster|image|up|preview|destroy|pipeline|query|status``: the kind path."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lakehouse.cli.common import console, fail

STACK = Annotated[str, typer.Option("--stack", "-s", help="the stack: dev (kind) or prod")]

cluster_app = typer.Typer(
    help="Create or delete the kind cluster the dev stack assumes.", no_args_is_help=True
)
image_app = typer.Typer(
    help="Build the Spark job image and load it into kind.", no_args_is_help=True
)
pipeline_app = typer.Typer(help="Run the medallion pipeline on the cluster.", no_args_is_help=True)


@cluster_app.command("create")
def cluster_create() -> None:
    """Create the kind cluster from infra/kind-cluster.yaml (checks docker and kind first)."""
    from lakehouse.ops import kind
    from lakehouse.ops.tools import ToolMissing

    try:
        context = kind.create(console().log)
    except ToolMissing as err:
        raise fail(str(err)) from None
    console().print(f"cluster ready: kubectl context [bold]{context}[/]")


@cluster_app.command("delete")
def cluster_delete() -> None:
    """Delete the kind cluster (the data in it goes too)."""
    from lakehouse.ops import kind
    from lakehouse.ops.tools import ToolMissing

    try:
        kind.delete(console().log)
    except ToolMissing as err:
        raise fail(str(err)) from None


@image_app.command("build")
def image_build(
    print_only: Annotated[
        bool, typer.Option("--print", help="print the docker command instead")
    ] = False,
) -> None:
    """Build spark-apps/Dockerfile, tagged from the version matrix and a hash of the code."""
    from lakehouse.ops import image
    from lakehouse.ops.tools import ToolMissing

    if print_only:
        typer.echo(image.printable_build_command())
        return
    try:
        ref = image.build(console().log)
    except ToolMissing as err:
        raise fail(str(err)) from None
    console().print(f"built [bold]{ref}[/]")


@image_app.command("load")
def image_load() -> None:
    """Load the job image into the kind cluster's node."""
    from lakehouse.ops import image
    from lakehouse.ops.tools import ToolMissing

    try:
        ref = image.load(console().log)
    except ToolMissing as err:
        raise fail(str(err)) from None
    console().print(f"loaded [bold]{ref}[/] into kind")


def _deploy(action: str, stack: str) -> None:
    from lakehouse.ops import deploy
    from lakehouse.ops.tools import ToolMissing
    from lakehouse_infra.config import ConfigError
    from lakehouse_infra.render import StackNotFound

    try:
        outputs = deploy.run(
            action,
            stack,
            log=lambda line: console().print(line, end="", markup=False, highlight=False),
        )
    except (deploy.DeployError, ToolMissing, ConfigError, StackNotFound) as err:
        raise fail(str(err)) from None
    if action == "up":
        for key, value in outputs.items():
            console().print(f"  {key}: {value}")


def up(stack: STACK = "dev") -> None:
    """Deploy (or update) the stack with Pulumi: MinIO, Dremio, the Spark operator, Traefik."""
    _deploy("up", stack)


def preview(stack: STACK = "dev") -> None:
    """Show what `up` would change, without changing anything."""
    _deploy("preview", stack)


def destroy(stack: STACK = "dev") -> None:
    """Delete everything the stack created (volumes and their data included)."""
    _deploy("destroy", stack)


def _connect(stack: str):  # type: ignore[no-untyped-def]
    from lakehouse.ops.cluster import Cluster
    from lakehouse.ops.stacks import load_stack_config

    cfg = load_stack_config(stack)
    return cfg, Cluster(cfg.kube_context)


def _dremio_url(cfg, override: str | None) -> str:  # type: ignore[no-untyped-def]
    scheme = "https" if cfg.ingress.tls.enabled else "http"
    return override or f"{scheme}://{cfg.ingress.hosts.dremio}"


@pipeline_app.command("run")
def pipeline_run(
    layer: Annotated[str, typer.Option(help="bronze, silver, gold or all")] = "all",
    stack: STACK = "dev",
    timeout: Annotated[float, typer.Option(help="seconds to wait for each layer")] = 3600,
    dremio_url: Annotated[
        str | None, typer.Option(help="Dremio's URL (default: the stack's ingress host)")
    ] = None,
    refresh_dremio: Annotated[
        bool, typer.Option(help="promote and refresh the tables in Dremio afterwards")
    ] = True,
) -> None:
    """Submit the layers as SparkApplications in order, wait, then refresh Dremio."""
    from lakehouse.jobimage import job_image_ref
    from lakehouse.ops import pipeline_run
    from lakehouse_infra.pipeline import job_settings

    cfg, cluster = _connect(stack)
    settings = job_settings(cfg, cfg.spark.image(job_image_ref()), managed_by="lakehouse-cli")
    with console().status("submitting") as status:

        def on_state(name: str, state: str) -> None:
            status.update(f"{name}: {state or 'NEW'}")
            console().log(f"{name}: {state or 'NEW'}")

        try:
            runs = pipeline_run.run(cluster, settings, layer, on_state=on_state, timeout=timeout)
        except (pipeline_run.PipelineFailed, ValueError) as err:
            raise fail(str(err)) from None
    for r in runs:
        console().print(f"{r.layer:7} {r.name}: {r.state} in {r.seconds:.0f}s")
    if refresh_dremio:
        _refresh_dremio(cfg, cluster, dremio_url)


def _refresh_dremio(cfg, cluster, dremio_url: str | None) -> None:  # type: ignore[no-untyped-def]
    from lakehouse.catalog import CATALOG
    from lakehouse.dremio.client import DremioClient, DremioError
    from lakehouse.dremio.lake import promote_tables
    from lakehouse.ops.endpoints import HostUnresolvable, ensure_resolvable

    admin = cluster.dremio_admin()
    try:
        with DremioClient(ensure_resolvable(_dremio_url(cfg, dremio_url))) as client:
            client.login(admin.user, admin.password)
            outcomes = promote_tables(client, CATALOG.with_bucket(cfg.bucket))
    except (DremioError, HostUnresolvable) as err:
        raise fail(f"the pipeline ran, but refreshing Dremio failed: {err}") from None
    done = {k: v for k, v in outcomes.items() if v != "missing"}
    console().print(f"Dremio: {len(done)} tables promoted or refreshed")


def query(
    sql: Annotated[str, typer.Argument(help="the SQL to run on Dremio")],
    stack: STACK = "dev",
    flight: Annotated[
        bool, typer.Option("--flight", help="use Arrow Flight instead of REST")
    ] = False,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="write .csv or .parquet")
    ] = None,
    dremio_url: Annotated[
        str | None, typer.Option(help="Dremio's URL (default: the stack's ingress host)")
    ] = None,
    flight_endpoint: Annotated[
        str | None, typer.Option(help="grpc+tcp://host:port for --flight")
    ] = None,
    user: Annotated[str | None, typer.Option(envvar="LAKEHOUSE_DREMIO_USER")] = None,
    password: Annotated[str | None, typer.Option(envvar="LAKEHOUSE_DREMIO_PASSWORD")] = None,
) -> None:
    """Run SQL on Dremio through the ingress; print a table or write CSV/Parquet."""
    import pyarrow as pa

    from lakehouse.dremio.client import DremioClient, DremioError
    from lakehouse.ops.endpoints import HostUnresolvable, ensure_resolvable
    from lakehouse.ops.stacks import load_stack_config

    if output is not None and output.suffix not in (".csv", ".parquet"):
        raise fail(f"--output must end in .csv or .parquet, not {output.suffix or '(none)'}")
    cfg = load_stack_config(stack)
    if not (user and password):
        from lakehouse.ops.cluster import Cluster

        admin = Cluster(cfg.kube_context).dremio_admin()
        user, password = admin.user, admin.password
    try:
        if flight:
            from lakehouse.dremio.flight import flight_query

            port = 443 if cfg.ingress.tls.enabled else 80
            scheme = "grpc+tls" if cfg.ingress.tls.enabled else "grpc+tcp"
            endpoint = flight_endpoint or f"{scheme}://{cfg.ingress.hosts.flight}:{port}"
            ensure_resolvable(endpoint.replace("grpc+tcp", "http").replace("grpc+tls", "https"))
            table = flight_query(endpoint, user, password, sql)
        else:
            with DremioClient(ensure_resolvable(_dremio_url(cfg, dremio_url))) as client:
                client.login(user, password)
                result = client.sql(sql)
            table = (
                pa.Table.from_pylist(result.rows)
                if result.rows
                else pa.table({c: pa.array([], pa.string()) for c in result.columns})
            )
    except (DremioError, HostUnresolvable) as err:
        raise fail(str(err)) from None
    except Exception as err:  # pyarrow.flight errors carry Dremio's message
        if flight:
            raise fail(f"Arrow Flight query failed: {err}") from None
        raise
    _emit(table, output)


def _emit(table, output: Path | None) -> None:  # type: ignore[no-untyped-def]
    from rich.table import Table

    if output is None:
        view = Table(*table.column_names)
        for row in table.to_pylist()[:200]:
            view.add_row(*["NULL" if v is None else str(v) for v in row.values()])
        console().print(view)
        console().print(f"{table.num_rows} row(s)")
    elif output.suffix == ".csv":
        import pyarrow.csv as pacsv

        pacsv.write_csv(table, output)
        console().print(f"wrote {table.num_rows} rows to {output}")
    else:
        import pyarrow.parquet as pq

        pq.write_table(table, output)
        console().print(f"wrote {table.num_rows} rows to {output}")


def status(stack: STACK = "dev") -> None:
    """The health of MinIO, Dremio, the Spark operator and the ingress, in one table."""
    from rich.table import Table

    from lakehouse.ops import status as health

    cfg, cluster = _connect(stack)
    scheme = "https" if cfg.ingress.tls.enabled else "http"
    checks = [
        health.workload_check(cluster, "MinIO pods", "lakehouse-storage", "StatefulSet", "minio"),
        health.http_check(
            "MinIO cluster (S3 ingress)", f"{scheme}://{cfg.ingress.hosts.s3}/minio/health/cluster"
        ),
        health.workload_check(cluster, "ZooKeeper", "lakehouse-dremio", "StatefulSet", "zk"),
        health.workload_check(
            cluster, "Dremio coordinator", "lakehouse-dremio", "StatefulSet", "dremio-coordinator"
        ),
        health.workload_check(
            cluster, "Dremio executors", "lakehouse-dremio", "StatefulSet", "dremio-executor"
        ),
        health.http_check(
            "Dremio (ingress)", f"{_dremio_url(cfg, None)}/apiv2/server_status", "OK"
        ),
        health.deployments_check(cluster, "Spark operator", cfg.spark.operator_namespace),
        health.deployments_check(cluster, "Ingress (Traefik)", cfg.ingress.namespace),
    ]
    view = Table("component", "healthy", "detail")
    for c in checks:
        view.add_row(c.component, "[green]yes[/]" if c.healthy else "[red]no[/]", c.detail)
    console().print(view)
    if not all(c.healthy for c in checks):
        raise typer.Exit(1)
