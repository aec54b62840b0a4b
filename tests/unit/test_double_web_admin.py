"""The Dremio double's web-admin server: /live, and /metrics under Dremio 25.2's names
with the double's own counts (a stand-in: docs/dremio-contract.md)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from lakehouse_dremio_double import __main__ as double_main
from lakehouse_dremio_double.metrics import JobMetrics, web_admin_server
from lakehouse_infra.dremio import dremio_conf


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    answer = httpx.get(f"{url}/metrics", timeout=5)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(answer.text)
        for s in family.samples
    }


def test_the_coordinator_counts_jobs_as_dremio_names_them() -> None:
    jobs = JobMetrics()
    server = web_admin_server("127.0.0.1", 0, jobs=jobs, executor=False)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        assert httpx.get(f"{url}/live", timeout=5).text == "OK"
        before = scrape(url)
        assert before["jobs_active", ()] == 0
        assert not [k for k in before if k[0] == "jobs_total"]  # counters appear when used
        jobs.started("REST")
        jobs.ended("REST", None)
        jobs.started("FLIGHT")
        jobs.ended("FLIGHT", "VALIDATION")
        jobs.started("REST")  # still running
        after = scrape(url)
        user = ("user_type", "user")
        assert after["jobs_total", (user, ("workload_type", "REST"))] == 2
        assert after["jobs_total", (user, ("workload_type", "FLIGHT"))] == 1
        failed = (("error_origin", "COORDINATOR"), ("error_type", "VALIDATION"), user,
                  ("workload_type", "FLIGHT"))  # fmt: skip
        assert after["jobs_failed_total", failed] == 1
        assert after["jobs_active", ()] == 1
        assert after["jvm_memory_used_bytes", (("area", "heap"), ("id", "double-process"))] > 0
        assert httpx.get(f"{url}/metrics/", timeout=5).status_code == 404  # an exact path
    finally:
        server.shutdown()


def test_an_executor_reports_no_fragments_and_no_jobs() -> None:
    server = web_admin_server("127.0.0.1", 0, jobs=None, executor=True)
    try:
        found = scrape(f"http://127.0.0.1:{server.server_address[1]}")
        assert found["exec_fragments_active", ()] == 0
        assert not [k for k in found if k[0].startswith("jobs_")]
    finally:
        server.shutdown()


def test_the_double_reads_web_admin_from_the_stacks_dremio_conf(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The double listens where the stack's dremio.conf tells Dremio to."""
    (tmp_path / "dremio.conf").write_text(dremio_conf("lakehouse", "zk:2181"))
    monkeypatch.setattr(double_main, "CONF", tmp_path)
    assert double_main.web_admin() == ("0.0.0.0", 9010)  # noqa: S104
    (tmp_path / "dremio.conf").write_text(dremio_conf("lakehouse", "zk:2181", metrics=False))
    assert double_main.web_admin() is None
