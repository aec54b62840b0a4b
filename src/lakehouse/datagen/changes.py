"""Change batches for orders and line items: inserts, updates and deletes, deterministic by seed.

Changes look like a real order system's: new orders arrive dated after the newest one,
and updates (status changes, a few changed twice in one batch) and deletes (cancellations)
hit recent orders. That is also what makes gold's incremental refresh worthwhile.

Every change row carries ``_op`` (I, U or D) and ``_change_seq`` (increasing across all
batches). Deletes carry only the key. Deleting an order deletes its line items.

The generator replays from the TPC-H snapshot: batch *n* for a given seed is the same
whenever it is generated, so a landing zone can be rebuilt or extended reproducibly.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from lakehouse_core.catalog import (
    CATALOG,
    CHANGE_SEQ_COLUMN,
    OP_COLUMN,
    OP_DELETE,
    OP_INSERT,
    OP_UPSERT,
)

Row = dict[str, str]

ORDERS = CATALOG.dataset("orders")
LINEITEM = CATALOG.dataset("lineitem")
RECENT_WINDOW = dt.timedelta(days=120)
SHIP_MODES = ("AIR", "FOB", "MAIL", "RAIL", "REG AIR", "SHIP", "TRUCK")
SHIP_INSTRUCTIONS = ("COLLECT COD", "DELIVER IN PERSON", "NONE", "TAKE BACK RETURN")
PRIORITIES = ("1-URGENT", "2-HIGH", "3-MEDIUM", "4-NOT SPECIFIED", "5-LOW")


def _read_strings(path: Path, columns: Iterable[str]) -> pa.Table:
    names = list(columns)
    return pacsv.read_csv(
        path,
        convert_options=pacsv.ConvertOptions(
            column_types={c: pa.string() for c in names},
            include_columns=names,
            strings_can_be_null=False,
        ),
    )


@dataclass
class ChangeBatch:
    batch_id: int
    orders: list[Row] = field(default_factory=list)
    lineitem: list[Row] = field(default_factory=list)

    def counts(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for name, rows in (("orders", self.orders), ("lineitem", self.lineitem)):
            ops: dict[str, int] = {}
            for r in rows:
                ops[r[OP_COLUMN]] = ops.get(r[OP_COLUMN], 0) + 1
            out[name] = ops
        return out


class ChangeGenerator:
    """Holds the order book as it stands after each generated batch."""

    def __init__(
        self,
        orders_csv: Path,
        lineitem_csv: Path,
        customers: int,
        seed: int,
        fraction: float = 0.01,
    ) -> None:
        if not 0 < fraction <= 0.5:
            raise ValueError(f"change fraction must be in (0, 0.5], got {fraction}")
        self.seed = seed
        self.fraction = fraction
        self.customers = customers
        self._orders = _read_strings(orders_csv, ORDERS.column_names)
        self._lineitem_csv = lineitem_csv
        self._lineitem: pa.Table | None = None
        self._base_orders = self._orders.num_rows
        keys = pc.cast(self._orders["o_orderkey"], pa.int64())
        self._next_key = int(pc.max(keys).as_py()) + 1
        dates = pc.cast(self._orders["o_orderdate"], pa.date32())
        newest: dt.date = pc.max(dates).as_py()
        self._newest_date = newest
        recent = pc.greater_equal(dates, pa.scalar(newest - RECENT_WINDOW, pa.date32()))
        self._candidates = sorted(int(k) for k in pc.filter(keys, recent).to_pylist())
        self._overlay_orders: dict[int, Row] = {}
        self._overlay_lines: dict[int, list[Row]] = {}
        self._deleted: set[int] = set()
        self._seq = 0

    # --- state lookups -----------------------------------------------------------------
    def _lineitem_table(self) -> pa.Table:
        if self._lineitem is None:
            self._lineitem = _read_strings(self._lineitem_csv, LINEITEM.column_names)
        return self._lineitem

    def _base_rows(self, table: pa.Table, column: str, keys: list[int]) -> list[Row]:
        if not keys:
            return []
        mask = pc.is_in(table[column], value_set=pa.array([str(k) for k in keys]))
        return list(table.filter(mask).to_pylist())

    def _current_orders(self, keys: list[int]) -> dict[int, Row]:
        rows = {k: dict(self._overlay_orders[k]) for k in keys if k in self._overlay_orders}
        missing = [k for k in keys if k not in rows]
        for r in self._base_rows(self._orders, "o_orderkey", missing):
            rows[int(r["o_orderkey"])] = r
        return rows

    def _current_lines(self, keys: list[int]) -> dict[int, list[Row]]:
        lines = {
            k: [dict(r) for r in self._overlay_lines[k]] for k in keys if k in self._overlay_lines
        }
        missing = [k for k in keys if k not in lines]
        for r in self._base_rows(self._lineitem_table(), "l_orderkey", missing):
            lines.setdefault(int(r["l_orderkey"]), []).append(r)
        for rows in lines.values():
            rows.sort(key=lambda r: int(r["l_linenumber"]))
        return lines

    # --- generation ---------------------------------------------------------------------
    def _next_seq(self, batch_id: int) -> str:
        self._seq += 1
        return str(batch_id * 10_000_000 + self._seq)

    def next_batch(self, batch_id: int) -> ChangeBatch:
        rng = random.Random(f"{self.seed}:{batch_id}")
        self._seq = 0
        total = max(5, round(self.fraction * self._base_orders))
        n_insert, n_delete = round(total * 0.4), max(1, round(total * 0.2))
        n_update = max(1, total - n_insert - n_delete)
        live = [k for k in self._candidates if k not in self._deleted]
        touched = rng.sample(live, min(len(live), n_update + n_delete))
        to_update, to_delete = touched[:n_update], touched[n_update:]
        orders_now = self._current_orders(touched)
        lines_now = self._current_lines(touched)

        batch = ChangeBatch(batch_id)
        for _ in range(n_insert):
            self._insert_order(rng, batch)
        for key in to_update:
            self._update_order(rng, batch, orders_now[key], lines_now.get(key, []))
        # A few orders change twice in one batch: silver must keep the later change.
        for key in to_update[: max(1, len(to_update) // 10)]:
            order = dict(self._overlay_orders[key])
            order["o_orderpriority"] = rng.choice(PRIORITIES)
            self._emit_order(batch, order, OP_UPSERT)
        for key in to_delete:
            self._delete_order(batch, key, lines_now.get(key, []))
        return batch

    def _emit_order(self, batch: ChangeBatch, row: Row, op: str) -> None:
        key = int(row["o_orderkey"])
        if op != OP_DELETE:
            self._overlay_orders[key] = dict(row)
        batch.orders.append(
            {**row, OP_COLUMN: op, CHANGE_SEQ_COLUMN: self._next_seq(batch.batch_id)}
        )

    def _emit_lines(self, batch: ChangeBatch, key: int, lines: list[Row], op: str) -> None:
        if op != OP_DELETE:
            self._overlay_lines[key] = [dict(r) for r in lines]
        for r in lines:
            batch.lineitem.append(
                {**r, OP_COLUMN: op, CHANGE_SEQ_COLUMN: self._next_seq(batch.batch_id)}
            )

    def _insert_order(self, rng: random.Random, batch: ChangeBatch) -> None:
        key = self._next_key
        self._next_key += 1
        order_date = self._newest_date + dt.timedelta(days=rng.randint(1, 30))
        lines: list[Row] = []
        total = 0.0
        for number in range(1, rng.randint(1, 7) + 1):
            quantity = rng.randint(1, 50)
            price = round(quantity * rng.uniform(900, 2000), 2)
            discount = rng.randint(0, 10) / 100
            tax = rng.randint(0, 8) / 100
            ship = order_date + dt.timedelta(days=rng.randint(1, 121))
            total += price * (1 + tax) * (1 - discount)
            lines.append(
                {
                    "l_orderkey": str(key),
                    "l_partkey": str(rng.randint(1, 200_000)),
                    "l_suppkey": str(rng.randint(1, 10_000)),
                    "l_linenumber": str(number),
                    "l_quantity": str(quantity),
                    "l_extendedprice": f"{price:.2f}",
                    "l_discount": f"{discount:.2f}",
                    "l_tax": f"{tax:.2f}",
                    "l_returnflag": "N",
                    "l_linestatus": "O",
                    "l_shipdate": ship.isoformat(),
                    "l_commitdate": (
                        order_date + dt.timedelta(days=rng.randint(30, 90))
                    ).isoformat(),
                    "l_receiptdate": (ship + dt.timedelta(days=rng.randint(1, 30))).isoformat(),
                    "l_shipinstruct": rng.choice(SHIP_INSTRUCTIONS),
                    "l_shipmode": rng.choice(SHIP_MODES),
                    "l_comment": f"new line {number} of order {key}",
                }
            )
        order = {
            "o_orderkey": str(key),
            "o_custkey": str(rng.randint(1, self.customers)),
            "o_orderstatus": "O",
            "o_totalprice": f"{total:.2f}",
            "o_orderdate": order_date.isoformat(),
            "o_orderpriority": rng.choice(PRIORITIES),
            "o_clerk": f"Clerk#{rng.randint(1, 1000):09d}",
            "o_shippriority": "0",
            "o_comment": f"new order in batch {batch.batch_id}",
        }
        self._emit_order(batch, order, OP_INSERT)
        self._emit_lines(batch, key, lines, OP_INSERT)
        self._candidates.append(key)

    def _update_order(
        self, rng: random.Random, batch: ChangeBatch, order: Row, lines: list[Row]
    ) -> None:
        key = int(order["o_orderkey"])
        order = dict(order)
        order["o_orderstatus"] = "F" if order["o_orderstatus"] != "F" else "P"
        order["o_comment"] = f"status changed in batch {batch.batch_id}"
        updated_lines = []
        for line in lines:
            updated = dict(line)
            updated["l_linestatus"] = "F"
            updated["l_returnflag"] = rng.choice(("A", "R"))
            updated["l_shipmode"] = rng.choice(SHIP_MODES)
            updated_lines.append(updated)
        self._emit_order(batch, order, OP_UPSERT)
        self._emit_lines(batch, key, updated_lines, OP_UPSERT)

    def _delete_order(self, batch: ChangeBatch, key: int, lines: list[Row]) -> None:
        self._deleted.add(key)
        self._overlay_orders.pop(key, None)
        self._overlay_lines.pop(key, None)
        self._emit_order(batch, {"o_orderkey": str(key)}, OP_DELETE)
        self._emit_lines(
            batch,
            key,
            [{"l_orderkey": str(key), "l_linenumber": r["l_linenumber"]} for r in lines],
            OP_DELETE,
        )


def write_change_csv(path: Path, columns: tuple[str, ...], rows: list[Row]) -> None:
    """A change file: the dataset's columns plus _op and _change_seq; deletes carry keys only."""
    header = [*columns, OP_COLUMN, CHANGE_SEQ_COLUMN]
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, extrasaction="raise", restval="")
        writer.writeheader()
        writer.writerows(rows)


def describe(batch: ChangeBatch) -> dict[str, Any]:
    return {"batch_id": batch.batch_id, **batch.counts()}
