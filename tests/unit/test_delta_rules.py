"""Dremio 25.2's Delta rules on hand-written logs in a local folder (no services needed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pyarrow.fs import LocalFileSystem

from lakehouse_dremio.delta_rules import ColumnType, DremioCannotRead, check_table
from tests.delta_fixtures import NEGATIVE, append_commit, write_table

FS = LocalFileSystem()


@pytest.mark.parametrize("case", sorted(NEGATIVE))
def test_negative_fixtures_are_refused_with_dremios_message(tmp_path: Path, case: str) -> None:
    make, message = NEGATIVE[case]
    make(FS, str(tmp_path / case))
    with pytest.raises(DremioCannotRead) as refused:
        check_table(FS, str(tmp_path / case))
    assert refused.value.message == message


def test_a_plain_table_is_read_with_dremios_types(tmp_path: Path) -> None:
    schema = {
        "type": "struct",
        "fields": [
            {"name": "k", "type": "long", "nullable": False, "metadata": {}},
            {"name": "b", "type": "byte", "nullable": True, "metadata": {}},
            {"name": "price", "type": "decimal(15,2)", "nullable": True, "metadata": {}},
            {"name": "at", "type": "timestamp", "nullable": True, "metadata": {}},
            {"name": "day", "type": "date", "nullable": True, "metadata": {}},
            {
                "name": "odd",
                "type": {"type": "struct", "fields": []},
                "nullable": True,
                "metadata": {},
            },
        ],
    }
    write_table(FS, str(tmp_path / "t"), schema=schema)
    snapshot = check_table(FS, str(tmp_path / "t"))
    assert snapshot.version == 0
    assert dict(snapshot.columns) == {
        "k": ColumnType("BIGINT"),
        "b": ColumnType("INTEGER"),
        "price": ColumnType("DECIMAL", 15, 2),
        "at": ColumnType("TIMESTAMP"),
        "day": ColumnType("DATE"),
    }  # an empty struct is dropped, as Dremio drops it
    assert len(snapshot.files) == 1


def test_only_the_reader_version_counts_never_the_writer_or_features(tmp_path: Path) -> None:
    write_table(
        FS,
        str(tmp_path / "t"),
        protocol={"minReaderVersion": 2, "minWriterVersion": 7, "writerFeatures": ["x"]},
    )
    assert check_table(FS, str(tmp_path / "t")).version == 0


def test_a_later_commit_that_raises_the_reader_version_is_refused_and_time_travel_is_not(
    tmp_path: Path,
) -> None:
    root = str(tmp_path / "t")
    write_table(FS, root)
    append_commit(FS, root, 1, [{"protocol": {"minReaderVersion": 3, "minWriterVersion": 7}}])
    with pytest.raises(DremioCannotRead, match="format version 3"):
        check_table(FS, root)
    assert check_table(FS, root, version=0).version == 0  # AT SNAPSHOT '0' replays commit 0


def test_an_unknown_snapshot_is_named(tmp_path: Path) -> None:
    root = str(tmp_path / "t")
    write_table(FS, root)
    with pytest.raises(DremioCannotRead, match="snapshot ID '7' is invalid"):
        check_table(FS, root, version=7)


def test_removed_files_are_no_longer_read(tmp_path: Path) -> None:
    root = str(tmp_path / "t")
    write_table(FS, root)
    [first] = check_table(FS, root).files
    append_commit(FS, root, 1, [{"remove": {"path": first, "dataChange": True}}])
    assert check_table(FS, root).files == []
    log = json.loads((tmp_path / "t/_delta_log" / f"{1:020d}.json").read_text())
    assert log["remove"]["path"] == first
