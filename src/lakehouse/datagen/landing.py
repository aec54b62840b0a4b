"""Fill ``landing/`` with batches: a TPC-H snapshot, change batches, and the users example.

Generation is reproducible: ``landing/_generator.json`` records the scale, seed and change
fraction, and asking for more change batches later replays the earlier ones in memory and
uploads only the new ones. Asking for different settings on a landing zone generated
with others is refused, because the batches would not fit together.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path

from lakehouse.datagen import changes, tpch, users
from lakehouse.s3 import ObjectStore
from lakehouse_core.catalog import (
    CATALOG,
    LANDING_PREFIX,
    TPCH_DATASETS,
    USERS_DATASET,
    LakeCatalog,
    format_batch_id,
)

MANIFEST_KEY = f"{LANDING_PREFIX}/_generator.json"
SNAPSHOT_BATCH = 1
# TPC-H: 150,000 customers per unit of scale factor.
CUSTOMERS_PER_SCALE = 150_000


@dataclass(frozen=True)
class GeneratorSettings:
    scale: float = 0.01
    seed: int = 42
    fraction: float = 0.01

    def __post_init__(self) -> None:
        if self.scale <= 0:
            raise ValueError(f"--scale must be positive, got {self.scale}")
        if not 0 < self.fraction <= 0.5:
            raise ValueError(f"--fraction must be in (0, 0.5], got {self.fraction}")


@dataclass
class GenerationReport:
    uploaded: list[str]
    skipped: list[str]
    change_counts: dict[int, dict[str, dict[str, int]]]


def _manifest(store: ObjectStore) -> dict[str, object] | None:
    data = store.get_bytes(MANIFEST_KEY)
    return json.loads(data) if data else None


def _put_change_file(
    store: ObjectStore, key: str, path: Path, columns: tuple[str, ...], rows: list[changes.Row]
) -> None:
    changes.write_change_csv(path, columns, rows)
    store.put_file(key, path)


def generate(
    store: ObjectStore,
    settings: GeneratorSettings,
    change_batches: int,
    catalog: LakeCatalog = CATALOG,
    *,
    log: Callable[[str], None] = print,
    batch_fractions: Mapping[int, float] | None = None,
) -> GenerationReport:
    """Make sure landing holds the snapshot and ``change_batches`` change batches.

    ``batch_fractions`` gives some batches their own share of orders to change (the
    benchmark's fixed-size batch); the others use ``settings.fraction``.
    """
    if change_batches < 0:
        raise ValueError(f"--change-batches must be >= 0, got {change_batches}")
    store.ensure_bucket()
    recorded = _manifest(store)
    wanted = asdict(settings)
    if recorded is not None and recorded.get("settings") != wanted:
        raise ValueError(
            f"landing in bucket {store.bucket} was generated with {recorded.get('settings')}, "
            f"not {wanted}; use the same --scale/--seed/--fraction, or another bucket"
        )
    existing = set(store.keys(f"{LANDING_PREFIX}/"))
    report = GenerationReport([], [], {})

    def upload(key: str, put: Callable[[], None]) -> None:
        if key in existing:
            report.skipped.append(key)
            return
        put()
        report.uploaded.append(key)

    with tempfile.TemporaryDirectory(prefix="lakehouse-tpch-") as tmp:
        log(f"generating TPC-H at scale factor {settings.scale:g}")
        snapshot = tpch.generate_snapshot(settings.scale, Path(tmp))
        for dataset in TPCH_DATASETS:
            key = catalog.landing_key(dataset.name, SNAPSHOT_BATCH) + f"{dataset.name}.csv"
            upload(key, partial(store.put_file, key, snapshot[dataset.name]))
        if change_batches:
            generator = changes.ChangeGenerator(
                snapshot["orders"],
                snapshot["lineitem"],
                customers=max(1, int(CUSTOMERS_PER_SCALE * settings.scale)),
                seed=settings.seed,
                fraction=settings.fraction,
            )
            for batch_id in range(SNAPSHOT_BATCH + 1, SNAPSHOT_BATCH + 1 + change_batches):
                generator.fraction = (batch_fractions or {}).get(batch_id, settings.fraction)
                batch = generator.next_batch(batch_id)
                report.change_counts[batch_id] = batch.counts()
                for name, rows in (("orders", batch.orders), ("lineitem", batch.lineitem)):
                    key = catalog.landing_key(name, batch_id) + f"{name}-changes.csv"
                    path = Path(tmp) / format_batch_id(batch_id) / f"{name}.csv"
                    columns = catalog.dataset(name).column_names
                    upload(key, partial(_put_change_file, store, key, path, columns, rows))
                log(f"change batch {batch_id}: {batch.counts()}")
    for batch_id in sorted(users.USER_BATCHES):
        key = catalog.landing_key(USERS_DATASET.name, batch_id) + "users.jsonl"
        upload(key, partial(store.put_bytes, key, users.users_jsonl(batch_id)))
    generated_before = int(str((recorded or {}).get("change_batches") or 0))
    manifest = {"settings": wanted, "change_batches": max(change_batches, generated_before)}
    store.put_bytes(MANIFEST_KEY, json.dumps(manifest).encode())
    log(f"landing: {len(report.uploaded)} files uploaded, {len(report.skipped)} already there")
    return report
