"""Backup, restore and table restore on real MinIO, Spark and Delta (docs/recovery.md).

A lake goes through the pipeline; its backup is restored into another bucket, row for row;
the next change batch then applies there incrementally. Every way a restore can go wrong
(a flipped byte, a missing file, a lake with data, a newer manifest, a failure while
switching) is refused or taken back, and leaves the target as it was.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from lakehouse.backup import run
from lakehouse.backup.manifest import Manifest
from lakehouse.backup.store import BackupError, DirectoryStore, open_store
from lakehouse.datagen.landing import GeneratorSettings, generate
from lakehouse.ops import tables
from lakehouse.s3 import ObjectStore, S3Endpoint
from lakehouse_core.backup_layout import table_prefixes
from lakehouse_core.catalog import LakeCatalog, Layer, parse_batch_dir
from lakehouse_jobs.audit import read_ledger
from lakehouse_jobs.gold import GOLD
from lakehouse_jobs.main import run_layers
from lakehouse_jobs.restore import RestoreError, restore_table

from .conftest import new_lake
from .oracle import Oracle, assert_same_rows, open_delta, read_delta_rows

pytestmark = pytest.mark.integration

SETTINGS = GeneratorSettings(scale=0.001, seed=11, fraction=0.02)


def all_rows(endpoint: S3Endpoint, store: ObjectStore) -> dict[str, list[dict[str, object]]]:
    keys = [k for k in store.keys("deltalake/") if "/_restore/" not in k]
    return {
        prefix.split("/", 1)[1]: read_delta_rows(endpoint, f"s3://{store.bucket}/{prefix}")
        for prefix in table_prefixes(keys)
    }


@pytest.fixture(scope="module")
def lake(spark: SparkSession, s3_endpoint: S3Endpoint) -> tuple[LakeCatalog, ObjectStore]:
    catalog, store = new_lake(s3_endpoint, "recovery")
    generate(store, SETTINGS, change_batches=1, catalog=catalog, log=lambda _m: None)
    run_layers(spark, catalog, "all")
    return catalog, store


@pytest.fixture(scope="module")
def backed_up(
    lake: tuple[LakeCatalog, ObjectStore], tmp_path_factory: pytest.TempPathFactory
) -> tuple[DirectoryStore, Manifest]:
    _, store = lake
    target = DirectoryStore(tmp_path_factory.mktemp("backups"))
    manifest, stats = run.take(store, target, source="the test lake")
    assert stats["copied"] > 0 and stats["reused"] >= 0
    return target, manifest


def test_a_restored_lake_equals_the_original_and_takes_the_next_batch_incrementally(
    spark: SparkSession,
    s3_endpoint: S3Endpoint,
    lake: tuple[LakeCatalog, ObjectStore],
    backed_up: tuple[DirectoryStore, Manifest],
    tmp_path: Path,
) -> None:
    _, original = lake
    backup_store, manifest = backed_up
    catalog, fresh = new_lake(s3_endpoint, "restored")
    run.restore(backup_store, fresh, manifest)
    before = all_rows(s3_endpoint, original)
    after = all_rows(s3_endpoint, fresh)
    assert set(after) == set(before) and len(before) >= 20
    for name, rows in before.items():
        key = tuple(sorted(rows[0])) if rows else ()
        assert_same_rows(after[name], rows, key, f"restored {name}")
    assert fresh.keys("deltalake/_restore/") == []  # staging is gone
    assert sorted(fresh.keys("landing/")) == sorted(original.keys("landing/"))
    # Each table at the version backed up (the restored log is the original's).
    for table in manifest.tables:
        assert open_delta(s3_endpoint, f"s3://{fresh.bucket}/{table.prefix}").version() == (
            table.version
        )
    # The next change batch applies on top: no batch of the backup is ingested again.
    generate(fresh, SETTINGS, change_batches=2, catalog=catalog, log=lambda _m: None)
    backed = {f.key for f in manifest.landing}
    new_batches = {
        parse_batch_dir(key.split("/")[2]) for key in fresh.keys("landing/") if key not in backed
    }
    assert len(new_batches) == 1, new_batches
    results = run_layers(spark, catalog, "all")
    ingested = {r.batch_id for r in results if r.layer in ("bronze", "silver") and r.rows_in}
    assert ingested == new_batches, ingested
    oracle = Oracle(fresh, catalog, tmp_path / "landing")
    oracle.register_silver()
    for gold in GOLD:
        rows = read_delta_rows(s3_endpoint, catalog.table_uri(Layer.GOLD, gold.name))
        assert_same_rows(rows, oracle.gold(gold.name), gold.key, f"gold.{gold.name}")


def test_a_second_backup_copies_nothing_already_there(
    lake: tuple[LakeCatalog, ObjectStore], backed_up: tuple[DirectoryStore, Manifest]
) -> None:
    _, store = lake
    target, first = backed_up
    second, stats = run.take(store, target, source="the test lake")
    assert stats["copied"] == 0 and stats["reused"] == len(first.all_files())
    assert {t.prefix: t.version for t in second.tables} == {
        t.prefix: t.version for t in first.tables
    }


def test_keep_drops_old_backups_and_only_their_files(
    lake: tuple[LakeCatalog, ObjectStore], tmp_path: Path
) -> None:
    _, store = lake
    target = DirectoryStore(tmp_path / "kept")
    ids = []
    for _ in range(3):
        manifest, _ = run.take(store, target, source="x", keep=2)
        ids.append(manifest.backup_id)
        time.sleep(1.1)  # backup ids are to the second
    assert target.manifests() == ids[1:]
    referenced = {f.sha256 for b in ids[1:] for f in run.load(target, b).all_files()}
    assert set(target.objects()) == referenced


@pytest.fixture
def copy_of_backup(
    backed_up: tuple[DirectoryStore, Manifest], tmp_path: Path
) -> Iterator[tuple[DirectoryStore, Manifest]]:
    import shutil

    source, manifest = backed_up
    shutil.copytree(source.root, tmp_path / "copy")
    yield DirectoryStore(tmp_path / "copy"), manifest


def test_a_flipped_byte_or_a_missing_file_is_refused_before_anything_is_written(
    s3_endpoint: S3Endpoint, copy_of_backup: tuple[DirectoryStore, Manifest]
) -> None:
    store, manifest = copy_of_backup
    victim = manifest.tables[0].data[0]
    path = store.root / "objects" / victim.sha256[:2] / victim.sha256
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    _, fresh = new_lake(s3_endpoint, "flipped")
    with pytest.raises(BackupError, match="is damaged") as err:
        run.restore(store, fresh, manifest)
    assert victim.key in err.value.message and "content changed" in err.value.message
    assert fresh.keys("") == []
    path.unlink()
    with pytest.raises(BackupError, match="missing"):
        run.restore(store, fresh, manifest)
    assert fresh.keys("") == []


def test_a_lake_with_data_is_refused_without_force(
    lake: tuple[LakeCatalog, ObjectStore], backed_up: tuple[DirectoryStore, Manifest]
) -> None:
    _, store = lake
    backup_store, manifest = backed_up
    before = sorted(store.keys(""))
    with pytest.raises(BackupError, match="is not empty") as err:
        run.restore(backup_store, store, manifest)
    assert "--force" in (err.value.hint or "")
    assert sorted(store.keys("")) == before


def test_a_failure_while_switching_leaves_the_target_as_it_was(
    s3_endpoint: S3Endpoint,
    backed_up: tuple[DirectoryStore, Manifest],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    backup_store, manifest = backed_up
    _, fresh = new_lake(s3_endpoint, "interrupted")
    real_copy = ObjectStore.copy
    calls = {"n": 0}

    def failing_copy(self: ObjectStore, source_key: str, key: str) -> None:
        calls["n"] += 1
        if calls["n"] == 40:
            raise ConnectionError("the network went away")
        real_copy(self, source_key, key)

    monkeypatch.setattr(ObjectStore, "copy", failing_copy)
    with pytest.raises(ConnectionError):
        run.restore(backup_store, fresh, manifest)
    assert calls["n"] == 40
    assert fresh.keys("") == [], "the interrupted restore left objects behind"


def test_a_manifest_from_a_newer_release_is_refused(
    copy_of_backup: tuple[DirectoryStore, Manifest],
) -> None:
    store, manifest = copy_of_backup
    path = store.root / "manifests" / f"{manifest.backup_id}.json"
    data = json.loads(path.read_text())
    data.update(format=99, release="9.0.0")
    path.write_text(json.dumps(data))
    with pytest.raises(BackupError, match=r"written by lakehouse 9\.0\.0") as err:
        run.load(store, manifest.backup_id)
    assert "9.0.0 or newer" in (err.value.hint or "")


def test_a_target_that_cannot_be_written_is_named_before_any_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(BackupError, match="cannot write the backup folder"):
        open_store(str(blocker / "backups")).check_writable()
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "y")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    with pytest.raises(BackupError, match="refused or did not answer"):
        open_store("s3://backups/lakehouse").check_writable()
    with pytest.raises(BackupError, match="neither a folder nor an s3:// URL"):
        open_store("ftp://example.invalid/x")


def test_table_restore_puts_silver_back_and_gold_follows(
    spark: SparkSession, s3_endpoint: S3Endpoint
) -> None:
    catalog, store = new_lake(s3_endpoint, "table-restore")
    generate(store, SETTINGS, change_batches=1, catalog=catalog, log=lambda _m: None)
    run_layers(spark, catalog, "all")
    uri = catalog.table_uri(Layer.SILVER, "orders")
    history = tables.history(store, "silver.orders")
    latest = max(v.version for v in history)
    first = latest - 1  # before the change batch's MERGE: the snapshot's rows
    wanted = read_delta_rows(s3_endpoint, uri, first)
    assert wanted and wanted != read_delta_rows(s3_endpoint, uri), "nothing would change"
    results = restore_table(spark, catalog, "silver.orders", version=first)
    assert_same_rows(read_delta_rows(s3_endpoint, uri), wanted, ("o_orderkey",), "restored")
    newest = tables.history(store, "silver.orders", 1)[0]
    assert newest.operation == "RESTORE" and newest.version == latest + 1
    # The ledger records the restore, and gold built from orders was rewritten from it.
    silver = read_ledger(spark, catalog, Layer.SILVER)
    row = silver.entry("orders", -(latest + 1))
    assert row is not None and f"version as of {first}" in row.note
    rewritten = {r.table_name for r in results if r.layer == "gold"}
    assert rewritten == {g.name for g in GOLD if "orders" in g.sources}
    # Each rewritten gold table is what a full build from the restored silver gives.
    for gold in GOLD:
        if gold.name not in rewritten:
            continue
        got = spark.read.format("delta").load(catalog.table_uri(Layer.GOLD, gold.name))
        rebuilt = gold.build(lambda name: spark.read.format("delta").load(
            catalog.table_uri(Layer.SILVER, name)))  # fmt: skip
        assert got.count() == rebuilt.count() > 0
        assert got.exceptAll(rebuilt).count() == 0 and rebuilt.exceptAll(got).count() == 0
    # Bad input: a version that is not an earlier one, a table that is not in the catalog.
    with pytest.raises(RestoreError, match="is not an earlier one"):
        restore_table(spark, catalog, "silver.orders", version=latest + 5)
    with pytest.raises(RestoreError, match=r"no table silver\.nosuch in the catalog"):
        restore_table(spark, catalog, "silver.nosuch", version=0)


def test_the_scheduled_backup_job_writes_what_restore_reads(
    spark: SparkSession,
    s3_endpoint: S3Endpoint,
    lake: tuple[LakeCatalog, ObjectStore],
    tmp_path: Path,
) -> None:
    """The in-cluster backup (a Spark job, Hadoop's file system) and `lakehouse restore`
    (boto3) agree on every byte: its backup restores row for row; a second run copies
    nothing; the retention count drops the oldest backup and only its files."""
    from lakehouse.backup.store import open_store
    from lakehouse.targets import Lake
    from lakehouse_jobs import backup

    catalog, store = lake
    first = backup.run(spark, catalog, keep=2, release="test")
    assert first.tables >= 20 and first.copied == first.files > 0, first
    backups = open_store(f"s3://{store.bucket}/backups", Lake(s3_endpoint, store.bucket, "x"))
    manifest = run.load(backups)
    assert manifest.backup_id == first.backup_id and manifest.release == "test"
    # The same copy as the CLI's: each table at the same version, the same files, byte for byte.
    by_cli, _ = run.take(store, DirectoryStore(tmp_path / "cli"), source="the test lake")

    def files(m: Manifest) -> dict[str, tuple[int, dict[str, str]]]:
        return {t.prefix: (t.version, {f.key: f.sha256 for f in t.files}) for t in m.tables}

    assert files(manifest) == files(by_cli)
    assert {f.key: f.sha256 for f in manifest.landing} == {f.key: f.sha256 for f in by_cli.landing}
    _, fresh = new_lake(s3_endpoint, "from-scheduled")
    run.restore(backups, fresh, manifest)
    before, after = all_rows(s3_endpoint, store), all_rows(s3_endpoint, fresh)
    assert set(after) == set(before)
    for name, rows in before.items():
        key = tuple(sorted(rows[0])) if rows else ()
        assert_same_rows(after[name], rows, key, f"restored {name}")
    assert sorted(fresh.keys("landing/")) == sorted(store.keys("landing/"))

    time.sleep(1.1)  # backup ids are to the second
    second = backup.run(spark, catalog, keep=2, release="test")
    assert second.copied == 0 and second.files == first.files and second.dropped == []
    time.sleep(1.1)
    third = backup.run(spark, catalog, keep=2, release="test")
    assert third.dropped == [first.backup_id]
    assert backups.manifests() == [second.backup_id, third.backup_id]
    listed = {f.sha256 for b in backups.manifests() for f in run.load(backups, b).all_files()}
    assert set(backups.objects()) == listed
