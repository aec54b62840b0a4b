"""The Spark driver killed (SIGKILL, with its JVM) at seeded points across the three layers.

The points are chosen by a seeded schedule over what a run does, observed from outside:
the number of objects it has written under deltalake/ (data files, commit files, audit
rows: so before, during and after commits) and, for the start of a run, the time since it
began. After each kill a plain re-run must converge to exactly what an uninterrupted run
gives: no duplicate batch, no lost row, counts that reconcile, every batch audited.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from lakehouse_core.catalog import SYSTEM_PREFIX, LakeCatalog, Layer
from tests.faults.conftest import FaultLedger, FaultRecord, Lake, divergence, run_pipeline

pytestmark = pytest.mark.faults

SEED = 20261126
KILLS_PER_STAGE = {"snapshot": 10, "change": 10}


def _after_objects(lake: Lake, baseline: int, count: int) -> Callable[[float], bool]:
    return lambda _elapsed: lake.objects() - baseline >= count


@pytest.fixture(scope="module")
def reference(new_lake: Callable[[str], Lake]) -> dict[str, object]:
    """Uninterrupted runs: a lake after its snapshot (the template of the change scenarios),
    and how many objects each stage writes."""
    snapshot_lake = new_lake("after-snapshot")
    snapshot_lake.land(1)
    snapshot = run_pipeline(snapshot_lake)
    assert snapshot.returncode == 0, snapshot.output[-3000:]
    changed = new_lake("reference")
    changed.copy_from(snapshot_lake)
    before = changed.objects()
    changed.land(2)
    change = run_pipeline(changed)
    assert change.returncode == 0, change.output[-3000:]
    lost, duplicated, detail = divergence(changed)
    assert (lost, duplicated, detail) == (0, 0, {}), "the uninterrupted run itself diverges"
    return {
        "after_snapshot": snapshot_lake,
        "snapshot": (snapshot_lake.objects(), snapshot.seconds),
        "change": (changed.objects() - before, change.seconds),
    }


def layers_of(keys: set[str]) -> list[str]:
    """The folders under deltalake/ that ``keys`` fall in, layers in pipeline order: where
    in the pipeline a killed run had got to."""
    folders = {_layer_folder(key.split("/")) for key in keys if key.count("/") >= 2}
    ordered = [layer.value for layer in Layer if layer.value in folders]
    return ordered + sorted(folders - set(ordered))


# A layer's audit table lives apart, under deltalake/_system/.
_AUDIT_TABLE_LAYERS = {LakeCatalog.audit_table(layer): layer.value for layer in Layer}


def _layer_folder(parts: list[str]) -> str:
    if "/".join(parts[:2]) == SYSTEM_PREFIX:
        return _AUDIT_TABLE_LAYERS.get(parts[2], parts[1])
    return parts[1]


def _schedule(stage: str, objects: int, seconds: float) -> list[tuple[str, float]]:
    rng = random.Random(f"{SEED}:{stage}")  # noqa: S311 (a seeded schedule, not a secret)
    points: list[tuple[str, float]] = [("seconds", rng.uniform(3, 12)) for _ in range(2)]
    points += [
        ("objects", rng.randint(1, max(1, objects - 1))) for _ in range(KILLS_PER_STAGE[stage] - 2)
    ]
    return points


def _kill_and_recover(
    lake: Lake, stage: str, point: tuple[str, float], ledger: FaultLedger
) -> None:
    kind, value = point
    before = set(lake.store.keys("deltalake/"))
    baseline = len(before)
    kill_when = (
        (lambda elapsed: elapsed >= value)
        if kind == "seconds"
        else _after_objects(lake, baseline, int(value))
    )
    killed = run_pipeline(lake, kill_when=kill_when)
    new_keys = set(lake.store.keys("deltalake/")) - before
    written = len(new_keys)
    recovered = run_pipeline(lake)
    assert recovered.returncode == 0, recovered.output[-3000:]
    lost, duplicated, detail = divergence(lake)
    ledger.add(
        FaultRecord(
            scenario=f"driver killed during the {stage}",
            fault=f"SIGKILL after {value:g} {kind}" if kind == "seconds" else
            f"SIGKILL after {int(value)} objects written",
            outcome="converged" if (lost, duplicated, detail) == (0, 0, {}) else "diverged",
            runs=2,
            rows_lost=lost,
            rows_duplicated=duplicated,
            detail={
                "killed": killed.killed,
                "objects_before_kill": written,
                "layers_written_before_kill": layers_of(new_keys),
                **detail,
            },
        )
    )  # fmt: skip
    assert (lost, duplicated, detail) == (0, 0, {}), f"{stage} {point}: {detail}"


@pytest.mark.parametrize("index", range(KILLS_PER_STAGE["snapshot"]))
def test_driver_killed_during_the_snapshot_then_rerun_converges(
    index: int, reference: dict[str, object], new_lake: Callable[[str], Lake], ledger: FaultLedger
) -> None:
    objects, seconds = reference["snapshot"]  # type: ignore[misc]
    point = _schedule("snapshot", objects, seconds)[index]
    lake = new_lake(f"snap{index}")
    lake.land(1)
    _kill_and_recover(lake, "snapshot", point, ledger)


@pytest.mark.parametrize("index", range(KILLS_PER_STAGE["change"]))
def test_driver_killed_during_a_change_batch_then_rerun_converges(
    index: int, reference: dict[str, object], new_lake: Callable[[str], Lake], ledger: FaultLedger
) -> None:
    objects, seconds = reference["change"]  # type: ignore[misc]
    point = _schedule("change", objects, seconds)[index]
    lake = new_lake(f"chg{index}")
    lake.copy_from(reference["after_snapshot"])  # type: ignore[arg-type]
    lake.land(2)
    _kill_and_recover(lake, "change", point, ledger)
