"""Taking a backup, and restoring one.

Backup: the plan of ``lake`` (every table at its latest version, the landing files), each
file streamed once through a checksum and stored only if the store lacks it, then the
manifest. Restore: every file's checksum checked first; then every file staged inside the
lake under ``deltalake/_restore/<id>/``; then switched into place by server-side copies,
data before logs (a table appears only when its log does); a failure while switching takes
back what it copied, so the lake is as it was. The caller holds the lake's writer lock.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable
from importlib.metadata import version as package_version
from pathlib import Path

from lakehouse.backup import lake as lake_plan
from lakehouse.backup.manifest import Manifest, StoredFile, TableCopy
from lakehouse.backup.store import CHUNK, BackupError, BackupStore
from lakehouse.s3 import ObjectStore
from lakehouse_core.backup_layout import FORMAT, table_prefixes, to_drop, unreferenced
from lakehouse_core.backup_layout import backup_id as new_backup_id
from lakehouse_core.catalog import DELTA_PREFIX, LANDING_PREFIX

STAGING = f"{DELTA_PREFIX}/_restore"
Progress = Callable[[str, int, int], None]  # (what, done, total)


def _quiet(_what: str, _done: int, _total: int) -> None:
    pass


def release() -> str:
    return package_version("lakehouse")


def _copy_in(
    lake: ObjectStore, store: BackupStore, key: str, scratch: Path, stats: dict[str, int]
) -> StoredFile:
    local = scratch / "object"
    lake.download(key, local)
    digest = hashlib.sha256()
    with local.open("rb") as stream:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
    sha, size = digest.hexdigest(), local.stat().st_size
    if store.has(sha):
        stats["reused"] += 1
    else:
        store.put(sha, local)
        stats["copied"] += 1
        stats["bytes"] += size
    return StoredFile(key=key, sha256=sha, size=size)


def take(
    lake: ObjectStore,
    store: BackupStore,
    *,
    source: str,
    dremio_export: bytes | None = None,
    settings: dict[str, object] | None = None,
    keep: int | None = None,
    progress: Progress = _quiet,
) -> tuple[Manifest, dict[str, int]]:
    """One backup of ``lake`` into ``store``; the manifest and what was copied."""
    store.check_writable()
    tables, landing = lake_plan.plan(lake)
    total = sum(len(t.log) + len(t.data) for t in tables) + len(landing)
    stats = {"copied": 0, "reused": 0, "bytes": 0}
    done = 0
    copies: list[TableCopy] = []
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)

        def copy(key: str) -> StoredFile:
            nonlocal done
            stored = _copy_in(lake, store, key, scratch, stats)
            done += 1
            progress("copying", done, total)
            return stored

        for table in tables:
            copies.append(
                TableCopy(
                    prefix=table.prefix,
                    version=table.version,
                    data=[copy(k) for k in table.data],
                    log=[copy(k) for k in table.log],
                )
            )
        landed = [copy(k) for k in landing]
        dremio = None
        if dremio_export is not None:
            path = scratch / "dremio.json"
            path.write_bytes(dremio_export)
            sha = hashlib.sha256(dremio_export).hexdigest()
            if not store.has(sha):
                store.put(sha, path)
            dremio = StoredFile(key="dremio-catalog.json", sha256=sha, size=len(dremio_export))
    manifest = Manifest(
        release=release(),
        backup_id=new_backup_id(),
        source=source,
        bucket=lake.bucket,
        tables=copies,
        landing=landed,
        dremio=dremio,
        settings=settings or {},
    )
    store.write_manifest(manifest.backup_id, manifest.model_dump_json(indent=1))
    if keep is not None:
        prune(store, keep)
    return manifest, stats


def prune(store: BackupStore, keep: int) -> list[str]:
    """Keep the newest ``keep`` backups; drop the others and every file only they held."""
    dropped = to_drop(store.manifests(), keep)
    for backup_id in dropped:
        store.delete_manifest(backup_id)
    kept = {b: [f.sha256 for f in load(store, b).all_files()] for b in store.manifests()}
    for sha in unreferenced(store.objects(), kept):
        store.delete_object(sha)
    return dropped


def load(store: BackupStore, backup_id: str | None = None) -> Manifest:
    """A backup's manifest (the newest when no id is given), refused if from a newer format."""
    ids = store.manifests()
    if backup_id is None:
        if not ids:
            raise BackupError(
                f"no backup in {store.where}",
                hint="take one with `lakehouse backup --to ...`",
            )
        backup_id = ids[-1]
    import json

    data = json.loads(store.read_manifest(backup_id))
    if int(data.get("format", 0)) > FORMAT:
        raise BackupError(
            f"backup {backup_id} was written by lakehouse {data.get('release')} in manifest "
            f"format {data.get('format')}; this lakehouse ({release()}) reads format "
            f"{FORMAT} and older",
            hint=f"restore it with lakehouse {data.get('release')} or newer",
        )
    return Manifest.model_validate(data)


def verify(store: BackupStore, manifest: Manifest, progress: Progress = _quiet) -> None:
    """Every file there with its checksum, before anything is written anywhere."""
    files = manifest.all_files()
    unique = {f.sha256: f for f in files}
    bad = []
    for i, (sha, entry) in enumerate(unique.items()):
        try:
            with store.open(sha) as stream:
                digest = hashlib.sha256()
                while chunk := stream.read(CHUNK):
                    digest.update(chunk)
            if digest.hexdigest() != sha:
                bad.append(f"{entry.key} (its content changed)")
        except BackupError:
            bad.append(f"{entry.key} (missing)")
        progress("verifying", i + 1, len(unique))
    if bad:
        shown = ", ".join(bad[:5]) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
        raise BackupError(
            f"backup {manifest.backup_id} in {store.where} is damaged: {shown}; nothing was "
            "restored",
            hint="restore another backup (`lakehouse restore --from ... --list`)",
        )


def lake_contents(lake: ObjectStore) -> list[str]:
    """What would be overwritten: the lake's tables and landing files (not staging)."""
    keys = [k for k in lake.keys(f"{DELTA_PREFIX}/") if not k.startswith(f"{STAGING}/")]
    return table_prefixes(keys) + lake.keys(f"{LANDING_PREFIX}/")[:1]


def restore(
    store: BackupStore,
    lake: ObjectStore,
    manifest: Manifest,
    *,
    force: bool = False,
    progress: Progress = _quiet,
) -> None:
    """Put ``manifest``'s lake into ``lake`` (see the module's docstring)."""
    verify(store, manifest, progress)
    present = lake_contents(lake)
    if present and not force:
        raise BackupError(
            f"the lake {lake.endpoint.url}/{lake.bucket} is not empty ({', '.join(present[:3])}"
            f"{', ...' if len(present) > 3 else ''}); nothing was restored",
            hint="restore into a fresh stack or lake, or pass --force to replace what it holds "
            "(bucket versioning keeps the replaced objects for objectStore.noncurrentVersionDays)",
        )
    staging = f"{STAGING}/{manifest.backup_id}"
    lake_files = [f for f in manifest.all_files() if f is not manifest.dremio]
    try:
        _stage(store, lake, lake_files, staging, progress)
        if force and present:
            doomed = [
                k
                for prefix in (f"{DELTA_PREFIX}/", f"{LANDING_PREFIX}/")
                for k in lake.keys(prefix)
                if not k.startswith(f"{STAGING}/")
            ]
            lake.delete(doomed)
        _switch(lake, manifest, lake_files, staging, progress)
    finally:
        lake.delete(lake.keys(f"{staging}/"))


def _stage(
    store: BackupStore,
    lake: ObjectStore,
    files: list[StoredFile],
    staging: str,
    progress: Progress,
) -> None:
    """Every file into the lake's staging prefix, where no reader looks."""
    with tempfile.TemporaryDirectory() as tmp:
        local = Path(tmp) / "object"
        for i, entry in enumerate(files):
            with store.open(entry.sha256) as source, local.open("wb") as out:
                while chunk := source.read(CHUNK):
                    out.write(chunk)
            lake.put_file(f"{staging}/{entry.key}", local)
            progress("staging", i + 1, len(files))


def _switch(
    lake: ObjectStore,
    manifest: Manifest,
    files: list[StoredFile],
    staging: str,
    progress: Progress,
) -> None:
    """Data before logs, _last_checkpoint last; all or nothing."""
    logs = {f.key for t in manifest.tables for f in t.log}
    ordered = [f for f in files if f.key not in logs] + sorted(
        (f for f in files if f.key in logs),
        key=lambda f: (f.key.endswith("_last_checkpoint"), f.key),
    )
    switched: list[str] = []
    try:
        for i, entry in enumerate(ordered):
            lake.copy(f"{staging}/{entry.key}", entry.key)
            switched.append(entry.key)
            progress("switching", i + 1, len(ordered))
    except BaseException:
        lake.delete(switched)
        raise
