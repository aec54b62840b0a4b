"""``lakehouse backup`` and ``lakehouse restore``: a consistent copy of the whole lakehouse,
and bringing it back (docs/recovery.md)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer

from lakehouse.cli.common import LakeChoice, console, lake_options


@contextmanager
def _progress() -> Iterator[Any]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=console()
    ) as bar:
        tasks: dict[str, Any] = {}

        def report(what: str, done: int, total: int) -> None:
            if what not in tasks:
                tasks[what] = bar.add_task(what, total=total)
            bar.update(tasks[what], completed=done, total=total)

        yield report


@contextmanager
def _writer_lock(lake: LakeChoice) -> Iterator[None]:
    """No pipeline run writes while a backup reads or a restore writes: the lake's lock
    (the pipeline's Lease on a stack, this machine's lock otherwise)."""
    stack = lake.stack
    if stack:
        from lakehouse.cli.pipeline_cmds import pipeline_lease
        from lakehouse.ops.cluster import Cluster
        from lakehouse.ops.stacks import load_stack_config

        cfg = load_stack_config(stack)
        with pipeline_lease(Cluster(cfg.kube_context), cfg.spark.jobs_namespace):
            yield
        return
    from lakehouse.local.lock import LakeLock

    target = lake.resolve()
    with LakeLock(target.endpoint.url, target.bucket):
        yield


def _store(where: str, lake: LakeChoice) -> Any:
    """The backup store ``where``; in the lake's own bucket, reached with the lake's keys."""
    from lakehouse.backup.store import open_store

    named = where.startswith("s3://") and (lake.stack or lake.local or lake.endpoint)
    return open_store(where, lake.resolve() if named else None)


def _dremio(stack: str) -> Any:
    """A logged-in client of the stack's Dremio, through the ingress."""
    from lakehouse.ops.cluster import Cluster
    from lakehouse.ops.endpoints import ensure_resolvable
    from lakehouse.ops.stacks import load_stack_config
    from lakehouse_dremio.client import DremioClient

    cfg = load_stack_config(stack)
    admin = Cluster(cfg.kube_context).dremio_admin()
    client = DremioClient(ensure_resolvable(cfg.ingress.url(cfg.ingress.hosts.dremio)))
    client.login(admin.user, admin.password)
    return client


@lake_options
def backup(
    lake: LakeChoice,
    to: Annotated[
        str, typer.Option("--to", help="a folder, or s3://bucket/prefix", show_default=False)
    ],
    keep: Annotated[
        int | None, typer.Option(min=1, help="keep only the newest N backups there")
    ] = None,
) -> None:
    """Copy the whole lakehouse to a folder or an S3 prefix (incremental).

    Every table at one committed version, the landing files, and (on a stack) Dremio's
    catalog, with a manifest of checksums. Files already in the target are not copied again.
    """
    from lakehouse.backup import run
    from lakehouse.s3 import ObjectStore
    from lakehouse_core.catalog import CATALOG, Layer

    store = _store(to, lake)
    store.check_writable()  # an unwritable target stops here, before any work
    target = lake.resolve()
    dremio_export = None
    settings: dict[str, object] = {}
    if lake.stack:
        from lakehouse.ops.stacks import load_stack_config
        from lakehouse_dremio.catalog_state import export_state

        settings = load_stack_config(lake.stack).model_dump(mode="json")
        with _dremio(lake.stack) as client:
            lake_tables = CATALOG.with_bucket(target.bucket).dremio_path(Layer.BRONZE, "")[:-2]
            dremio_export = json.dumps(export_state(client, lake_tables)).encode()
    with _writer_lock(lake), _progress() as report:
        manifest, stats = run.take(
            ObjectStore(target.endpoint, target.bucket),
            store,
            source=target.where,
            dremio_export=dremio_export,
            settings=settings,
            keep=keep,
            progress=report,
        )
    console().print(
        f"backup {manifest.backup_id} of {target.where} in {store.where}: "
        f"{len(manifest.tables)} tables, {len(manifest.landing)} landing files, "
        f"{manifest.size / 2**20:.1f} MiB; {stats['copied']} files copied "
        f"({stats['bytes'] / 2**20:.1f} MiB), {stats['reused']} already there"
    )


@lake_options
def restore(
    lake: LakeChoice,
    source: Annotated[
        str,
        typer.Option("--from", help="a folder, or s3://bucket/prefix", show_default=False),
    ],
    backup_id: Annotated[
        str | None, typer.Option("--backup", help="which backup (default: the newest)")
    ] = None,
    listing: Annotated[bool, typer.Option("--list", help="list the backups there")] = False,
    check: Annotated[
        bool,
        typer.Option("--check", help="verify every file's checksum and stop (writes nothing)"),
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="replace what a lake that is not empty holds")
    ] = False,
) -> None:
    """Bring a backup back into a fresh lake (all or nothing).

    Every file's checksum is checked first; the files are staged, then switched in whole;
    on a stack, Dremio's tables and views are set up again.
    """
    from lakehouse.backup import run
    from lakehouse.s3 import ObjectStore

    store = _store(source, lake)
    if listing:
        from rich.table import Table

        view = Table("backup", "release", "from", "tables", "MiB", title=store.where)
        for backup_id_ in store.manifests():
            m = run.load(store, backup_id_)
            view.add_row(m.backup_id, m.release, m.source, str(len(m.tables)),
                         f"{m.size / 2**20:.1f}")  # fmt: skip
        console().print(view)
        return
    manifest = run.load(store, backup_id)
    if check:
        with _progress() as report:
            run.verify(store, manifest, report)
        console().print(
            f"backup {manifest.backup_id} in {store.where}: {len(manifest.all_files())} files, "
            f"{manifest.size / 2**20:.1f} MiB, every checksum matches"
        )
        return
    target = lake.resolve()
    objects = ObjectStore(target.endpoint, target.bucket)
    with _writer_lock(lake), _progress() as report:
        run.restore(store, objects, manifest, force=force, progress=report)
    console().print(
        f"restored backup {manifest.backup_id} ({manifest.source}, lakehouse "
        f"{manifest.release}) into {target.where}: {len(manifest.tables)} tables"
    )
    if lake.stack:
        _restore_dremio(lake.stack, store, manifest)


def _restore_dremio(stack: str, store: Any, manifest: Any) -> None:
    from lakehouse.ops.stacks import load_stack_config
    from lakehouse_core.catalog import CATALOG
    from lakehouse_core.gold import GOLD_NAMES
    from lakehouse_dremio.catalog_state import import_state
    from lakehouse_dremio.lake import promote_tables

    cfg = load_stack_config(stack)
    with _dremio(stack) as client:
        outcomes = promote_tables(client, CATALOG.with_bucket(cfg.bucket), GOLD_NAMES)
        made = {"spaces": 0, "folders": 0, "views": 0}
        if manifest.dremio is not None:
            with store.open(manifest.dremio.sha256) as stream:
                made = import_state(client, json.loads(stream.read()))
    done = sum(1 for v in outcomes.values() if v in ("promoted", "refreshed", "already"))
    console().print(
        f"Dremio: {done} table(s) promoted or refreshed; {made['spaces']} space(s), "
        f"{made['folders']} folder(s), {made['views']} view(s) created"
    )
