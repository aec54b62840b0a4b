"""The Spark driver killed (SIGKILL, with its JVM) at seeded points inside each layer.

The points are drawn per layer from what an uninterrupted run of the same stage writes,
observed from outside: how many objects each layer puts under deltalake/ (data files,
commit files, audit rows), so every layer, gold included, is killed mid-write, before,
during and after its commits. Each kill is checked to have happened (the run ended by
SIGKILL, having written at least one object, and the last layer it wrote is the one the
point was drawn in). After each kill a plain re-run must converge to exactly what an
uninterrupted run gives: no duplicate batch, no lost row, counts that reconcile, every
batch audited once.
"""

from __future__ import annotations

import random
import signal
from collections.abc import Callable

import pytest

from lakehouse_core.catalog import SYSTEM_PREFIX, LakeCatalog, Layer
from tests.faults.conftest import FaultLedger, FaultRecord, Lake, divergence, run_pipeline

pytestmark = pytest.mark.faults

SEED = 20261205
# Kills per layer in each stage: 10 per stage, every layer reached.
KILLS_PER_LAYER = {"bronze": 3, "silver": 4, "gold": 3}
KILLS_PER_STAGE = {"snapshot": 10, "change": 10}
assert all(sum(KILLS_PER_LAYER.values()) == n for n in KILLS_PER_STAGE.values())


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
    before = set(changed.store.keys("deltalake/"))
    changed.land(2)
    change = run_pipeline(changed)
    assert change.returncode == 0, change.output[-3000:]
    lost, duplicated, detail = divergence(changed)
    assert (lost, duplicated, detail) == (0, 0, {}), "the uninterrupted run itself diverges"
    return {
        "after_snapshot": snapshot_lake,
        "snapshot": objects_per_layer(set(snapshot_lake.store.keys("deltalake/"))),
        "change": objects_per_layer(set(changed.store.keys("deltalake/")) - before),
    }


def objects_per_layer(keys: set[str]) -> dict[str, int]:
    """How many objects a run wrote in each layer (its audit table included), in order."""
    counts = {layer.value: 0 for layer in Layer}
    for key in keys:
        if key.count("/") >= 2:
            folder = _layer_folder(key.split("/"))
            counts[folder] = counts.get(folder, 0) + 1
    return counts


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
        if parts[2].startswith("tombstones_"):
            return Layer.SILVER.value  # silver writes the deletes it has seen
        return _AUDIT_TABLE_LAYERS.get(parts[2], parts[1])
    return parts[1]


def _schedule(stage: str, per_layer: dict[str, int]) -> list[tuple[str, int]]:
    """(layer, objects written by the run when the kill lands), KILLS_PER_LAYER per layer,
    each drawn from the middle of that layer's own objects (the first and last tenth are
    left out: a kill lands a few objects after its point)."""
    rng = random.Random(f"{SEED}:{stage}")  # noqa: S311 (a seeded schedule, not a secret)
    points: list[tuple[str, int]] = []
    written_before = 0
    for layer, kills in KILLS_PER_LAYER.items():
        count = per_layer[layer]
        assert count >= 2, f"the uninterrupted {stage} wrote {count} {layer} objects: {per_layer}"
        low = written_before + max(1, count // 10)
        high = written_before + max(1, count - count // 10 - 1)
        points += [(layer, rng.randint(low, max(low, high))) for _ in range(kills)]
        written_before += count
    return points


def _kill_and_recover(lake: Lake, stage: str, point: tuple[str, int], ledger: FaultLedger) -> None:
    layer, objects = point
    before = set(lake.store.keys("deltalake/"))
    killed = run_pipeline(lake, kill_when=_after_objects(lake, len(before), objects))
    new_keys = set(lake.store.keys("deltalake/")) - before
    layers = layers_of(new_keys)
    # The fault happened: the run died of the SIGKILL, after writing, in the layer aimed at.
    assert killed.killed and killed.returncode == -signal.SIGKILL, (killed.returncode, point)
    assert new_keys, f"{stage} {point}: the killed run wrote nothing"
    assert layers[-1] == layer, f"{stage} {point}: the kill landed in {layers} instead"
    recovered = run_pipeline(lake)
    assert recovered.returncode == 0, recovered.output[-3000:]
    lost, duplicated, detail = divergence(lake)
    ledger.add(
        FaultRecord(
            scenario=f"driver killed during the {stage}'s {layer}",
            fault=f"SIGKILL after {objects} objects written",
            outcome="converged" if (lost, duplicated, detail) == (0, 0, {}) else "diverged",
            runs=2,
            rows_lost=lost,
            rows_duplicated=duplicated,
            detail={
                "exit_status": killed.returncode,
                "objects_before_kill": len(new_keys),
                "layers_written_before_kill": layers,
                **detail,
            },
        )
    )
    assert (lost, duplicated, detail) == (0, 0, {}), f"{stage} {point}: {detail}"


@pytest.mark.parametrize("index", range(KILLS_PER_STAGE["snapshot"]))
def test_driver_killed_during_the_snapshot_then_rerun_converges(
    index: int, reference: dict[str, object], new_lake: Callable[[str], Lake], ledger: FaultLedger
) -> None:
    point = _schedule("snapshot", reference["snapshot"])[index]  # type: ignore[arg-type]
    lake = new_lake(f"snap{index}")
    lake.land(1)
    _kill_and_recover(lake, "snapshot", point, ledger)


@pytest.mark.parametrize("index", range(KILLS_PER_STAGE["change"]))
def test_driver_killed_during_a_change_batch_then_rerun_converges(
    index: int, reference: dict[str, object], new_lake: Callable[[str], Lake], ledger: FaultLedger
) -> None:
    point = _schedule("change", reference["change"])[index]  # type: ignore[arg-type]
    lake = new_lake(f"chg{index}")
    lake.copy_from(reference["after_snapshot"])  # type: ignore[arg-type]
    lake.land(2)
    _kill_and_recover(lake, "change", point, ledger)
