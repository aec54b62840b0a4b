"""The pipeline's figures reach a Pushgateway in Prometheus' own text format: one group
per layer, replaced by each successful run, a failure added beside the last success."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from prometheus_client.parser import text_string_to_metric_families

from lakehouse_core.names import PUSHGATEWAY_ENV
from lakehouse_jobs import metrics
from lakehouse_jobs.audit import BatchResult

RESULTS = [
    BatchResult(
        "silver", "orders", 1, rows_in=10, rows_applied=8, rows_superseded=1, rows_rejected=1
    ),
    BatchResult("silver", "orders", 2, rows_in=5, rows_applied=5),
    BatchResult("silver", "users", 1, rows_in=3, rows_applied=3),
]


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_the_exposition_parses_and_sums_each_tables_rows() -> None:
    found = samples(metrics.exposition("silver", RESULTS, 12.5, 1_765_000_000.0))
    rows = "lakehouse_table_last_run_rows"
    assert found[rows, (("kind", "in"), ("layer", "silver"), ("table", "orders"))] == 15
    assert found[rows, (("kind", "rejected"), ("layer", "silver"), ("table", "orders"))] == 1
    assert found[rows, (("kind", "applied"), ("layer", "silver"), ("table", "users"))] == 3
    assert found["lakehouse_layer_last_run_seconds", (("layer", "silver"),)] == 12.5
    assert found["lakehouse_layer_last_run_batches", (("layer", "silver"),)] == 3
    assert found["lakehouse_table_last_batch", (("layer", "silver"), ("table", "orders"))] == 2
    assert (
        found[
            "lakehouse_table_last_success_timestamp_seconds",
            (("layer", "silver"), ("table", "users")),
        ]
        == 1_765_000_000.0
    )


@pytest.fixture
def gateway(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, str, str]]]:
    received: list[tuple[str, str, str]] = []

    class Gateway(BaseHTTPRequestHandler):
        def _take(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"])).decode()
            received.append((self.command, self.path, body))
            self.send_response(202)
            self.end_headers()

        do_PUT = do_POST = _take  # noqa: N815 (http.server's method names)

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Gateway)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv(PUSHGATEWAY_ENV, f"http://127.0.0.1:{server.server_address[1]}")
    yield received
    server.shutdown()
    server.server_close()


def test_a_success_replaces_the_layers_group_and_a_failure_is_added(
    gateway: list[tuple[str, str, str]],
) -> None:
    metrics.push_success("silver", RESULTS, 3.0)
    metrics.push_failure("gold")
    [(put, put_path, body), (post, post_path, failure)] = gateway
    assert (put, put_path) == ("PUT", "/metrics/job/lakehouse_pipeline/layer/silver")
    assert (post, post_path) == ("POST", "/metrics/job/lakehouse_pipeline/layer/gold")
    assert samples(body)["lakehouse_layer_last_run_seconds", (("layer", "silver"),)] == 3.0
    assert "lakehouse_layer_last_failure_timestamp_seconds" in {n for n, _ in samples(failure)}


def test_without_a_gateway_nothing_is_sent_and_an_unreachable_one_never_fails_the_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(PUSHGATEWAY_ENV, raising=False)
    metrics.push_success("bronze", RESULTS, 1.0)  # no variable: no request at all
    monkeypatch.setenv(PUSHGATEWAY_ENV, "http://127.0.0.1:9")  # nobody listens
    metrics.push_success("bronze", RESULTS, 1.0)  # logs a warning, raises nothing
