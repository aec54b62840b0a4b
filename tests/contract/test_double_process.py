"""The Dremio double as its image runs it: its own process, stopped by a signal.

In a container the double is PID 1, and PID 1 gets no default signal handling: unless the
double handles SIGTERM itself, every pod deletion waits out the grace period (two minutes
for Dremio's pods). Dremio's JVM stops on SIGTERM; the double must too.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_double_stops_at_once_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    ports = ["--port", str(port), "--flight-port", str(free_port())]
    process = subprocess.Popen(
        [sys.executable, "-m", "lakehouse_dremio_double", "serve", *ports, "--data", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, process.communicate()[0]
            try:
                url = f"http://127.0.0.1:{port}/apiv2/server_status"
                with urllib.request.urlopen(url, timeout=2) as answer:
                    assert answer.status == 200
                break
            except OSError:
                assert time.monotonic() < deadline, "the double never answered"
                time.sleep(0.2)
        process.send_signal(signal.SIGTERM)
        started = time.monotonic()
        output, _ = process.communicate(timeout=10)
        assert process.returncode == 0, output
        assert time.monotonic() - started < 5
        assert "stopping (signal received)" in output
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
