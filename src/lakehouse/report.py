"""What a pipeline run did, as a table: the same for a local run, the demo and a cluster run.

Results are the jobs' per-batch records as plain dicts (``BatchResult`` fields), whether
they came from a local session or from a driver's log.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.table import Table

COLUMNS = (
    ("layer", "layer", "left"),
    ("table", "table_name", "left"),
    ("batch", "batch_id", "right"),
    ("rows in", "rows_in", "right"),
    ("applied", "rows_applied", "right"),
    ("superseded", "rows_superseded", "right"),
    ("rejected", "rows_rejected", "right"),
    ("version", "target_version", "right"),
    ("note", "note", "left"),
)


def batch_table(results: Iterable[dict[str, Any]], title: str = "what each layer did") -> Table:
    table = Table(title=title)
    for heading, _, justify in COLUMNS:
        table.add_column(heading, justify=justify)  # type: ignore[arg-type]
    for result in results:
        table.add_row(*(str(result.get(key, "")) for _, key, _ in COLUMNS))
    return table


def totals(results: Iterable[dict[str, Any]]) -> str:
    rows = list(results)
    if not rows:
        return "nothing new: every layer is up to date"
    rejected = sum(int(r.get("rows_rejected", 0)) for r in rows)
    batches = len({(r["layer"], r["table_name"], r["batch_id"]) for r in rows})
    return f"{batches} batch(es) processed, {rejected} row(s) rejected"
