"""Change batches: deterministic, realistic and well-formed (tpchgen-cli at a tiny scale)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from lakehouse.datagen import changes, tpch
from lakehouse.datagen.landing import GeneratorSettings
from lakehouse.datagen.users import USER_BATCHES, users_jsonl
from lakehouse_core.catalog import CHANGE_SEQ_COLUMN, OP_COLUMN


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return tpch.generate_snapshot(0.001, tmp_path_factory.mktemp("tpch"))


def batches(snapshot: dict[str, Path], seed: int, n: int = 2) -> list[changes.ChangeBatch]:
    generator = changes.ChangeGenerator(
        snapshot["orders"], snapshot["lineitem"], customers=150, seed=seed, fraction=0.02
    )
    return [generator.next_batch(b) for b in range(2, 2 + n)]


def test_snapshot_has_every_tpch_table_of_the_catalog(snapshot: dict[str, Path]) -> None:
    with snapshot["orders"].open() as f:
        assert next(csv.reader(f))[0] == "o_orderkey"
    assert set(snapshot) == {"region", "nation", "customer", "orders", "lineitem"}


def test_same_seed_same_batches_other_seed_other_batches(snapshot: dict[str, Path]) -> None:
    first, again, other = batches(snapshot, 7), batches(snapshot, 7), batches(snapshot, 8)
    assert [b.orders for b in first] == [b.orders for b in again]
    assert [b.lineitem for b in first] == [b.lineitem for b in again]
    assert [b.orders for b in first] != [b.orders for b in other]


def test_batches_insert_update_and_delete(snapshot: dict[str, Path]) -> None:
    for batch in batches(snapshot, 7):
        ops = batch.counts()
        assert set(ops["orders"]) == {"I", "U", "D"}
        assert set(ops["lineitem"]) == {"I", "U", "D"}
        seqs = [int(r[CHANGE_SEQ_COLUMN]) for r in batch.orders + batch.lineitem]
        assert len(seqs) == len(set(seqs))
        for row in batch.orders:
            if row[OP_COLUMN] == "D":
                assert set(row) == {"o_orderkey", OP_COLUMN, CHANGE_SEQ_COLUMN}
        deleted = {r["o_orderkey"] for r in batch.orders if r[OP_COLUMN] == "D"}
        deleted_lines = {r["l_orderkey"] for r in batch.lineitem if r[OP_COLUMN] == "D"}
        assert deleted == deleted_lines, "deleting an order deletes its line items"


def test_later_batches_never_touch_deleted_orders(snapshot: dict[str, Path]) -> None:
    b2, b3 = batches(snapshot, 11)
    deleted = {r["o_orderkey"] for r in b2.orders if r[OP_COLUMN] == "D"}
    assert not deleted & {r["o_orderkey"] for r in b3.orders}


def test_new_orders_are_dated_after_the_snapshot(snapshot: dict[str, Path]) -> None:
    [batch] = batches(snapshot, 3, n=1)
    new = [r for r in batch.orders if r[OP_COLUMN] == "I"]
    assert new and min(r["o_orderdate"] for r in new) > "1998-08-02"


def test_change_files_have_the_catalog_header(snapshot: dict[str, Path], tmp_path: Path) -> None:
    [batch] = batches(snapshot, 3, n=1)
    path = tmp_path / "orders.csv"
    columns = (
        "o_orderkey",
        "o_custkey",
        "o_orderstatus",
        "o_totalprice",
        "o_orderdate",
        "o_orderpriority",
        "o_clerk",
        "o_shippriority",
        "o_comment",
    )
    changes.write_change_csv(path, columns, batch.orders)
    with path.open() as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == [*columns, OP_COLUMN, CHANGE_SEQ_COLUMN]
    assert len(rows) == len(batch.orders)


def test_settings_are_validated() -> None:
    with pytest.raises(ValueError, match="--scale must be positive"):
        GeneratorSettings(scale=0)
    with pytest.raises(ValueError, match="--fraction"):
        GeneratorSettings(fraction=0.9)


def test_users_batches_are_json_lines() -> None:
    lines = users_jsonl(2).decode().splitlines()
    assert len(lines) == len(USER_BATCHES[2])
