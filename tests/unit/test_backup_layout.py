"""The backup layout both writers share (the CLI's backup and the scheduled job)."""

from __future__ import annotations

import pytest

from lakehouse_core import backup_layout as layout

T = "deltalake/silver/orders"
KEYS = [
    f"{T}/_delta_log/00000000000000000000.json",
    f"{T}/_delta_log/00000000000000000001.json",
    f"{T}/_delta_log/00000000000000000001.crc",
    f"{T}/_delta_log/00000000000000000002.json",
    f"{T}/_delta_log/00000000000000000002.checkpoint.parquet",
    f"{T}/_delta_log/_last_checkpoint",
    f"{T}/_delta_log/.00000000000000000003.json.tmp",
    f"{T}/part-0001.parquet",
    f"{T}/_change_data/cdc-0001.parquet",
    "deltalake/silver/orders_rejects/_delta_log/00000000000000000000.json",
    "deltalake/silver/empty/part-0.parquet",
    "landing/orders/batch=000001/orders.csv",
]


def test_tables_are_the_prefixes_with_a_log() -> None:
    assert layout.table_prefixes(KEYS) == [T, "deltalake/silver/orders_rejects"]


def test_the_latest_version_is_the_newest_commit_not_a_checksum_or_temp_file() -> None:
    assert layout.latest_version(T, KEYS) == 2
    assert layout.latest_version("deltalake/silver/empty", KEYS) == -1
    # A checkpoint or a .crc alone is no commit.
    assert layout.latest_version(T, [f"{T}/_delta_log/00000000000000000009.crc"]) == -1


def test_the_log_stops_at_the_version_taken() -> None:
    assert layout.log_keys(T, KEYS, 1) == [
        f"{T}/_delta_log/00000000000000000000.json",
        f"{T}/_delta_log/00000000000000000001.crc",
        f"{T}/_delta_log/00000000000000000001.json",
        f"{T}/_delta_log/_last_checkpoint",
    ]
    assert f"{T}/_delta_log/00000000000000000002.checkpoint.parquet" in layout.log_keys(T, KEYS, 2)
    assert not any("tmp" in k for k in layout.log_keys(T, KEYS, 9))


def test_change_data_is_the_tables_own() -> None:
    assert layout.change_data_keys(T, KEYS) == [f"{T}/_change_data/cdc-0001.parquet"]
    assert layout.change_data_keys("deltalake/silver/empty", KEYS) == []


def test_keys_and_ids() -> None:
    sha = "ab" + "0" * 62
    assert layout.object_key(sha) == f"objects/ab/{sha}"
    assert layout.manifest_key("20261205T020000Z") == "manifests/20261205T020000Z.json"
    assert layout.backup_id(0) == "19700101T000000Z"
    assert layout.backup_id(86_399) < layout.backup_id(86_400)


def test_retention_keeps_the_newest_and_only_files_they_list() -> None:
    ids = ["20261203T020000Z", "20261201T020000Z", "20261202T020000Z"]
    assert layout.to_drop(ids, 2) == ["20261201T020000Z"]
    assert layout.to_drop(ids, 3) == [] and layout.to_drop(ids, 5) == []
    with pytest.raises(ValueError, match="at least 1"):
        layout.to_drop(ids, 0)
    kept = {"b": ["s1", "s2"], "c": ["s2", "s3"]}
    assert layout.unreferenced(["s0", "s1", "s2", "s3", "s4"], kept) == ["s0", "s4"]
    assert layout.unreferenced(["s1"], {}) == ["s1"]


def test_the_log_is_found_whatever_order_the_listing_has() -> None:
    """Another table's keys (or data files) before the log's must not end the search."""
    assert layout.log_keys(T, list(reversed(KEYS)), 0) == [
        f"{T}/_delta_log/00000000000000000000.json",
        f"{T}/_delta_log/_last_checkpoint",
    ]


def test_keeping_one_backup_drops_every_older_one() -> None:
    ids = ["20261201T020000Z", "20261202T020000Z", "20261203T020000Z"]
    assert layout.to_drop(ids, 1) == ["20261201T020000Z", "20261202T020000Z"]
