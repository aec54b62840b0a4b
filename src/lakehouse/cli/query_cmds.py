"""``lakehouse query|status``: ask Dremio, and check every component's health."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from lakehouse.cli.common import Stack, console

if TYPE_CHECKING:
    import pyarrow as pa


def query(
    sql: Annotated[str, typer.Argument(help="the SQL to run on Dremio")],
    stack: Stack = "dev",
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
    from lakehouse.ops.endpoints import ensure_resolvable
    from lakehouse.ops.stacks import load_stack_config

    if output is not None and output.suffix not in (".csv", ".parquet"):
        raise typer.BadParameter(
            f"must end in .csv or .parquet, not {output.suffix or '(none)'}", param_hint="--output"
        )
    cfg = load_stack_config(stack)
    if not (user and password):
        from lakehouse.ops.cluster import Cluster

        admin = Cluster(cfg.kube_context).dremio_admin()
        user, password = admin.user, admin.password
    if flight:
        from lakehouse_dremio.flight import flight_query

        target = flight_endpoint or cfg.ingress.flight_endpoint()
        ensure_resolvable(target.replace("grpc+tcp", "http").replace("grpc+tls", "https"))
        table = flight_query(target, user, password, sql)
    else:
        from lakehouse_dremio.client import DremioClient

        url = ensure_resolvable(dremio_url or cfg.ingress.url(cfg.ingress.hosts.dremio))
        with DremioClient(url) as client:
            client.login(user, password)
            table = client.sql(sql).to_arrow()
    _emit(table, output)


def _emit(table: pa.Table, output: Path | None) -> None:
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
