"""One writer of the lake: the cluster's Lease (against an in-memory API) and the local lock."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from lakehouse.local.lock import LakeBusy, LakeLock
from lakehouse_jobs.lease import Conflict, Lease, LeaseBusy, holding_of


class MemoryLeases:
    """Leases as the API server keeps them: resourceVersion checked on every replace."""

    def __init__(self) -> None:
        self.objects: dict[str, dict[str, Any]] = {}
        self.version = 0

    def get(self, namespace: str, name: str) -> dict[str, Any] | None:
        found = self.objects.get(f"{namespace}/{name}")
        return copy.deepcopy(found) if found else None

    def create(self, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        key = f"{namespace}/{body['metadata']['name']}"
        if key in self.objects:
            raise Conflict(key)
        return self._store(key, body)

    def replace(self, namespace: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
        key = f"{namespace}/{name}"
        if (
            body["metadata"].get("resourceVersion")
            != self.objects[key]["metadata"]["resourceVersion"]
        ):
            raise Conflict(key)
        return self._store(key, body)

    def _store(self, key: str, body: dict[str, Any]) -> dict[str, Any]:
        self.version += 1
        stored = copy.deepcopy(body)
        stored["metadata"]["resourceVersion"] = str(self.version)
        self.objects[key] = stored
        return copy.deepcopy(stored)


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def lease(api: MemoryLeases, who: str, clock: Clock) -> Lease:
    return Lease(api, "jobs", "lakehouse-pipeline", who, duration=60, clock=clock)


def test_the_first_run_takes_the_lease_and_a_second_is_refused_with_who_holds_it() -> None:
    api, clock = MemoryLeases(), Clock()
    lease(api, "cli/host/1", clock).acquire()
    with pytest.raises(LeaseBusy) as busy:
        lease(api, "driver/pod-x", clock).acquire()
    assert "held by cli/host/1" in busy.value.message and "wait for that run" in busy.value.hint


def test_a_released_or_expired_lease_can_be_taken() -> None:
    api, clock = MemoryLeases(), Clock()
    first = lease(api, "cli/host/1", clock)
    first.acquire()
    first.release()
    second = lease(api, "driver/pod-x", clock)
    second.acquire()
    clock.now += 61  # the driver died without releasing: after the duration it is free
    lease(api, "cli/host/2", clock).acquire()
    holding = holding_of(api.get("jobs", "lakehouse-pipeline") or {})
    assert holding is not None and holding.holder == "cli/host/2"


def test_renewing_keeps_it_and_the_holder_may_take_it_again() -> None:
    api, clock = MemoryLeases(), Clock()
    mine = lease(api, "cli/host/1", clock)
    mine.acquire()
    clock.now += 50
    mine.renew()
    clock.now += 50  # 100 s after acquiring, 50 after renewing: still held
    with pytest.raises(LeaseBusy):
        lease(api, "other", clock).acquire()
    mine.acquire()  # re-entrant for its holder


def test_two_runs_racing_for_a_free_lease_get_one_winner() -> None:
    api, clock = MemoryLeases(), Clock()
    lease(api, "a", clock).acquire()
    lease(api, "a", clock).release()
    stale = api.get("jobs", "lakehouse-pipeline")
    lease(api, "b", clock).acquire()  # b wins the race
    racer = lease(api, "c", clock)
    racer.api = type("Stale", (), {  # c read the Lease before b wrote it
        "get": lambda self, ns, n: copy.deepcopy(stale),
        "replace": lambda self, ns, n, body: api.replace(ns, n, body),
        "create": lambda self, ns, body: api.create(ns, body),
    })()  # fmt: skip
    with pytest.raises(LeaseBusy):
        racer.acquire()


def test_the_local_lock_refuses_a_second_writer_and_frees_on_exit(tmp_path: Path) -> None:
    with LakeLock("http://127.0.0.1:9000", "lake", tmp_path):
        probe = (
            "import sys; from pathlib import Path; from lakehouse.local.lock import LakeLock\n"
            f"LakeLock('http://127.0.0.1:9000', 'lake', Path({str(tmp_path)!r})).acquire()\n"
        )
        other = subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, text=True, check=False
        )
        assert other.returncode != 0 and "another run is writing the lake" in other.stderr
        with pytest.raises(LakeBusy):  # the same process, a second handle: refused too
            LakeLock("http://127.0.0.1:9000", "lake", tmp_path).acquire()
    LakeLock("http://127.0.0.1:9000", "lake", tmp_path).acquire()  # free again
    LakeLock("http://127.0.0.1:9000", "other-lake", tmp_path).acquire()  # another lake
