"""The pipeline's figures through a real Pushgateway (built from its Go module, as the
stack runs it): what a driver pushes when a layer ends is what `lakehouse status` reads
back, a failure is kept beside the last success, and a second success replaces the first.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from lakehouse.gobuild import GoTarget, build
from lakehouse.ops.observed import pipeline_figures
from lakehouse_core import versions
from lakehouse_core.names import PUSHGATEWAY_ENV
from lakehouse_jobs import metrics
from lakehouse_jobs.audit import BatchResult

pytestmark = pytest.mark.integration

PUSHGATEWAY = GoTarget(
    name="pushgateway",
    module="github.com/prometheus/pushgateway",
    version=versions.PUSHGATEWAY_GO_VERSION,
    binaries={"pushgateway": "github.com/prometheus/pushgateway"},
)


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary: Path = build(PUSHGATEWAY, log=lambda _m: None)["pushgateway"]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = tmp_path_factory.mktemp("pushgateway")
    process = subprocess.Popen(
        [str(binary), f"--web.listen-address=127.0.0.1:{port}",
         f"--persistence.file={data}/store"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/-/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the Pushgateway did not start"
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def read(url: str):  # type: ignore[no-untyped-def]
    return pipeline_figures(httpx.get(f"{url}/api/v1/metrics", timeout=5).json()["data"])


def test_status_reads_back_what_the_driver_pushed(
    gateway: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PUSHGATEWAY_ENV, gateway)
    first = [
        BatchResult("silver", "orders", 1, rows_in=10, rows_applied=8, rows_rejected=2),
        BatchResult("silver", "users", 1, rows_in=4, rows_applied=4),
    ]
    metrics.push_success("silver", first, 12.5)
    [silver], tables = read(gateway)
    assert (silver.layer, silver.seconds, silver.last_failure) == ("silver", 12.5, None)
    assert silver.rows == {"in": 14, "applied": 12, "superseded": 0, "rejected": 2}
    assert {t.table for t in tables} == {"orders", "users"}
    assert abs((silver.last_success or 0) - time.time()) < 60

    metrics.push_failure("silver")
    [silver], _ = read(gateway)
    assert silver.last_failure is not None and silver.rows["in"] == 14  # success kept

    metrics.push_success("silver", [BatchResult("silver", "orders", 2, rows_in=3)], 2.0)
    [silver], tables = read(gateway)
    assert silver.rows["in"] == 3 and silver.seconds == 2.0
    assert silver.last_failure is None  # a success replaces the layer's group
    assert [t.table for t in tables] == ["orders"]


def test_an_unreachable_gateway_never_fails_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here
    monkeypatch.setenv(PUSHGATEWAY_ENV, f"http://127.0.0.1:{port}")
    metrics.push_success("gold", [], 1.0)  # warns, does not raise
