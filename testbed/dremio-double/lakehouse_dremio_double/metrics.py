"""Dremio's web-admin server as the double serves it (a stand-in, not Dremio): ``/live`` and
``/metrics`` on ``services.web-admin.host``/``port`` of dremio.conf, on every role.

Dremio 25.2 (LivenessService, Metrics.java) serves a Micrometer Prometheus registry there.
The double exports the subset the project's dashboards use, under Dremio's names, with the
double's own figures: the jobs it ran (``jobs_total``, ``jobs_failed_total``,
``jobs_active``, coordinator only, as in AttemptManager and ForemenWorkManager), the
executor's active fragments (always 0: the double runs every query on its coordinator),
and its process's memory as ``jvm_memory_used_bytes{area="heap"}`` (it has no JVM).
docs/dremio-contract.md lists what is Dremio's and what is the double's.
"""

from __future__ import annotations

import os
import resource
import threading
import time
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

STARTED = time.time()
# workload_type values (UserBitShared.proto WorkloadType) of the double's entry points.
WORKLOADS = {"REST": "REST", "FLIGHT": "FLIGHT"}


class JobMetrics:
    """What the coordinator's job meters count, kept by the double's API."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.total: dict[str, int] = defaultdict(int)
        self.failed: dict[tuple[str, str], int] = defaultdict(int)
        self.active = 0

    def started(self, query_type: str) -> None:
        with self._lock:
            self.total[WORKLOADS.get(query_type, "UNKNOWN")] += 1
            self.active += 1

    def ended(self, query_type: str, error_type: str | None) -> None:
        with self._lock:
            self.active -= 1
            if error_type is not None:
                self.failed[WORKLOADS.get(query_type, "UNKNOWN"), error_type] += 1

    def lines(self) -> list[str]:
        with self._lock:
            out = ["# TYPE jobs_active gauge", f"jobs_active {self.active}"]
            if self.total:  # Dremio's counters appear with their first increment
                out.append("# TYPE jobs_total counter")
                out += [
                    f'jobs_total{{user_type="user",workload_type="{w}"}} {n}'
                    for w, n in sorted(self.total.items())
                ]
            if self.failed:
                out.append("# TYPE jobs_failed_total counter")
                out += [
                    f'jobs_failed_total{{error_origin="COORDINATOR",error_type="{e}",'
                    f'user_type="user",workload_type="{w}"}} {n}'
                    for (w, e), n in sorted(self.failed.items())
                ]
            return out


def _rss_bytes() -> int:
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def exposition(jobs: JobMetrics | None, executor: bool) -> str:
    """The text Prometheus reads (format 0.0.4)."""
    cpu = sum(os.times()[:2])
    rss = _rss_bytes()
    lines = [
        "# TYPE process_cpu_seconds_total counter",
        f"process_cpu_seconds_total {cpu:.2f}",
        "# TYPE process_resident_memory_bytes gauge",
        f"process_resident_memory_bytes {rss}",
        "# TYPE process_start_time_seconds gauge",
        f"process_start_time_seconds {STARTED:.3f}",
        "# TYPE jvm_memory_used_bytes gauge",
        f'jvm_memory_used_bytes{{area="heap",id="double-process"}} {rss}',
    ]
    if jobs is not None:
        lines += jobs.lines()
    if executor:
        lines += ["# TYPE exec_fragments_active gauge", "exec_fragments_active 0"]
    return "\n".join(lines) + "\n"


def web_admin_server(
    host: str, port: int, jobs: JobMetrics | None, executor: bool
) -> ThreadingHTTPServer:
    """The web-admin server, serving from a daemon thread."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_args: Any) -> None:
            pass

        def do_GET(self) -> None:
            if self.path == "/live":
                body, kind = b"OK", "text/plain"
            elif self.path.split("?", 1)[0] == "/metrics":
                body = exposition(jobs, executor).encode()
                kind = "text/plain; version=0.0.4; charset=utf-8"
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer((host, port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
