"""``lakehouse``: run the lakehouse on one machine, or deploy and drive it on Kubernetes.

Every command imports what it needs inside its body, so ``lakehouse --help`` stays instant
and a missing optional tool only matters to the command that needs it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lakehouse.cli import cluster_cmds
from lakehouse.cli.common import console, fail

app = typer.Typer(
    name="lakehouse",
    help="A Delta Lake lakehouse on Kubernetes: MinIO, Dremio and Spark, deployed with Pulumi.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.command()
def demo(
    scale: Annotated[float, typer.Option(help="TPC-H scale factor (1 = 6M line items)")] = 0.01,
    change_batches: Annotated[
        int, typer.Option(min=0, help="change batches after the snapshot")
    ] = 2,
    seed: Annotated[int, typer.Option(help="seed for the change batches")] = 42,
    cores: Annotated[int, typer.Option(min=1, help="local Spark cores")] = 2,
    driver_memory: Annotated[str, typer.Option(help="local Spark driver memory")] = "3g",
) -> None:
    """Run bronze -> silver -> gold on this machine (local MinIO + Spark) and print gold."""
    from lakehouse.datagen.tpch import GeneratorUnavailable
    from lakehouse.demo import DemoSettings, PrerequisiteMissing, run_demo
    from lakehouse.local.minio import MinioUnavailable

    try:
        run_demo(
            DemoSettings(scale, change_batches, seed, cores=cores, driver_memory=driver_memory)
        )
    except (PrerequisiteMissing, MinioUnavailable, GeneratorUnavailable, ValueError) as err:
        raise fail(str(err)) from None


@app.command()
def generate(
    stack: Annotated[
        str | None, typer.Option(help="upload to this stack's MinIO via its S3 ingress host")
    ] = None,
    endpoint: Annotated[
        str | None, typer.Option(envvar="LAKEHOUSE_S3_ENDPOINT", help="S3 API URL")
    ] = None,
    access_key: Annotated[str | None, typer.Option(envvar="LAKEHOUSE_S3_ACCESS_KEY")] = None,
    secret_key: Annotated[str | None, typer.Option(envvar="LAKEHOUSE_S3_SECRET_KEY")] = None,
    bucket: Annotated[str, typer.Option(help="the lake bucket")] = "lakehouse",
    scale: Annotated[float, typer.Option(help="TPC-H scale factor")] = 0.01,
    change_batches: Annotated[int, typer.Option(min=0)] = 2,
    seed: Annotated[int, typer.Option()] = 42,
    fraction: Annotated[
        float, typer.Option(help="share of orders each change batch touches")
    ] = 0.01,
) -> None:
    """Write landing batches (TPC-H snapshot, change batches, users) to an S3 endpoint.

    Give --endpoint with keys, or --stack to use a deployed stack's S3 ingress host and
    the Spark user's credentials from the cluster.
    """
    from lakehouse.catalog import CATALOG
    from lakehouse.datagen.landing import GeneratorSettings
    from lakehouse.datagen.landing import generate as generate_landing
    from lakehouse.s3 import ObjectStore, S3Endpoint

    if stack:
        from lakehouse.ops.cluster import Cluster
        from lakehouse.ops.endpoints import HostUnresolvable, ensure_resolvable
        from lakehouse.ops.stacks import load_stack_config

        cfg = load_stack_config(stack)
        creds = Cluster(cfg.kube_context).spark_s3(cfg.spark.jobs_namespace)
        scheme = "https" if cfg.ingress.tls.enabled else "http"
        try:
            endpoint = ensure_resolvable(f"{scheme}://{cfg.ingress.hosts.s3}")
        except HostUnresolvable as err:
            raise fail(str(err)) from None
        access_key, secret_key, bucket = creds.user, creds.password, cfg.bucket
    if not (endpoint and access_key and secret_key):
        raise fail("give --stack, or --endpoint with --access-key and --secret-key")
    try:
        settings = GeneratorSettings(scale, seed, fraction)
        store = ObjectStore(S3Endpoint(endpoint, access_key, secret_key), bucket)
        generate_landing(
            store, settings, change_batches, CATALOG.with_bucket(bucket), log=console().log
        )
    except ValueError as err:
        raise fail(str(err)) from None


@app.command()
def prepare() -> None:
    """Download the Spark jars and build the MinIO server once (for demo, tests, bench)."""
    from lakehouse.datagen.tpch import GeneratorUnavailable
    from lakehouse.demo import PrerequisiteMissing
    from lakehouse.local.jars import JarUnavailable
    from lakehouse.local.minio import MinioUnavailable
    from lakehouse.local.prepare import prepare as prepare_local

    try:
        prepare_local(log=console().log)
    except (PrerequisiteMissing, MinioUnavailable, JarUnavailable, GeneratorUnavailable) as err:
        raise fail(str(err)) from None


@app.command()
def render(
    stack: Annotated[str, typer.Option("--stack", "-s", help="dev or prod")] = "dev",
    out: Annotated[Path, typer.Option("--out", "-o", help="directory for the YAML files")] = Path(
        "out/dev"
    ),
) -> None:
    """Write every Kubernetes object the stack declares as YAML (secrets redacted), no cluster."""
    from lakehouse_infra.config import ConfigError
    from lakehouse_infra.render import StackNotFound, render_stack, write

    try:
        rendering = render_stack(stack)
    except (ConfigError, StackNotFound) as err:
        raise fail(str(err)) from None
    written = write(rendering, out)
    console().print(
        f"{len(rendering.objects)} objects and {len(rendering.releases)} Helm releases of stack "
        f"{stack} written to {out}/ ({len(written)} files); secret values are redacted"
    )


@app.command()
def manifests(
    write: Annotated[bool, typer.Option("--write", help="rewrite spark-apps/manifests/")] = False,
) -> None:
    """Show (or --write) the SparkApplication YAML for kubectl users, from the one definition."""
    from lakehouse.paths import REPO_ROOT
    from lakehouse.sparkapps import kubectl_manifests, to_yaml

    root = REPO_ROOT / "spark-apps" / "manifests"
    generated = kubectl_manifests()
    if not write:
        for name, obj in generated.items():
            typer.echo(f"--- # {name}\n{to_yaml(obj)}")
        return
    for stale in root.rglob("*.yaml"):
        if stale.relative_to(root).as_posix() not in generated:
            stale.unlink()
    for name, obj in generated.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(to_yaml(obj))
    console().print(f"wrote {len(generated)} manifests to {root}")


app.add_typer(cluster_cmds.cluster_app, name="cluster")
app.add_typer(cluster_cmds.image_app, name="image")
app.add_typer(cluster_cmds.pipeline_app, name="pipeline")
app.command()(cluster_cmds.up)
app.command()(cluster_cmds.preview)
app.command()(cluster_cmds.destroy)
app.command()(cluster_cmds.query)
app.command()(cluster_cmds.status)


def main() -> None:
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
