"""The pipeline's own figures, pushed to a Prometheus Pushgateway when a run ends.

A driver lives for minutes; a scrape every 30 s would miss most of it. So each run pushes
what it did, per layer and table, to the Pushgateway the stack names
(``LAKEHOUSE_PUSHGATEWAY``), which keeps the last push of each layer for Prometheus: rows
in, applied, superseded and rejected, batches, seconds, and when the layer last
succeeded or failed. Without that variable (local runs, kubectl on a cluster without
it) nothing is pushed. Standard library only (the job image carries no client library):
the text exposition format over HTTP PUT and POST.
"""

from __future__ import annotations

import logging
import os
import time
import urllib.error
import urllib.request
from collections import defaultdict
from collections.abc import Iterable

from lakehouse_core.names import PUSHGATEWAY_ENV
from lakehouse_jobs.audit import BatchResult

log = logging.getLogger(__name__)

JOB = "lakehouse_pipeline"
ROW_KINDS = ("in", "applied", "superseded", "rejected")


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _line(name: str, labels: dict[str, str], value: float) -> str:
    body = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(labels.items()))
    return f"{name}{{{body}}} {float(value)!r}"  # full precision: timestamps


def exposition(
    layer: str, results: Iterable[BatchResult], seconds: float, finished_at: float
) -> str:
    """One successful layer run, in Prometheus' text format."""
    rows: dict[tuple[str, str], int] = defaultdict(int)
    batches: dict[str, int] = defaultdict(int)
    last_batch: dict[str, int] = {}
    for r in results:
        for kind, count in zip(
            ROW_KINDS,
            (r.rows_in, r.rows_applied, r.rows_superseded, r.rows_rejected),
            strict=True,
        ):
            rows[r.table_name, kind] += count
        batches[r.table_name] += 1
        last_batch[r.table_name] = max(last_batch.get(r.table_name, 0), r.batch_id)
    lines = [
        "# TYPE lakehouse_layer_last_run_seconds gauge",
        _line("lakehouse_layer_last_run_seconds", {"layer": layer}, seconds),
        "# TYPE lakehouse_layer_last_success_timestamp_seconds gauge",
        _line("lakehouse_layer_last_success_timestamp_seconds", {"layer": layer}, finished_at),
        "# TYPE lakehouse_layer_last_run_batches gauge",
        _line("lakehouse_layer_last_run_batches", {"layer": layer}, sum(batches.values())),
        "# TYPE lakehouse_table_last_run_rows gauge",
    ]
    lines += [
        _line("lakehouse_table_last_run_rows", {"layer": layer, "table": t, "kind": k}, n)
        for (t, k), n in sorted(rows.items())
    ]
    lines.append("# TYPE lakehouse_table_last_batch gauge")
    lines += [
        _line("lakehouse_table_last_batch", {"layer": layer, "table": t}, b)
        for t, b in sorted(last_batch.items())
    ]
    lines.append("# TYPE lakehouse_table_last_success_timestamp_seconds gauge")
    lines += [
        _line(
            "lakehouse_table_last_success_timestamp_seconds",
            {"layer": layer, "table": t},
            finished_at,
        )
        for t in sorted(batches)
    ]
    return "\n".join(lines) + "\n"


def _send(method: str, layer: str, body: str) -> None:
    base = os.environ.get(PUSHGATEWAY_ENV)
    if not base:
        return
    url = f"{base.rstrip('/')}/metrics/job/{JOB}/layer/{layer}"
    request = urllib.request.Request(  # noqa: S310 (the stack's own Pushgateway URL)
        url, data=body.encode(), method=method, headers={"Content-Type": "text/plain"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10):  # noqa: S310
            pass
    except (urllib.error.URLError, OSError) as err:
        # The figures are for watching; losing them must never fail a run that succeeded.
        log.warning("could not push the %s layer's metrics to %s: %s", layer, base, err)


def push_success(layer: str, results: Iterable[BatchResult], seconds: float) -> None:
    """Replace the layer's group with this run's figures."""
    _send("PUT", layer, exposition(layer, results, seconds, time.time()))


def push_failure(layer: str) -> None:
    """Add the time of a failed run to the layer's group, keeping its last success."""
    body = (
        "# TYPE lakehouse_layer_last_failure_timestamp_seconds gauge\n"
        + _line("lakehouse_layer_last_failure_timestamp_seconds", {"layer": layer}, time.time())
        + "\n"
    )
    _send("POST", layer, body)
