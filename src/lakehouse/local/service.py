"""``lakehouse local up|down|status``: a MinIO on this machine that keeps your data.

Unlike the demo's throwaway server, this one runs in the background with a persistent data
directory (``<cache>/local/minio-data`` unless told otherwise) and the same random root
keys every time, kept in a state file only the user can read. ``lakehouse pipeline run
--local`` and ``lakehouse land --local`` find it there. ``down`` stops exactly the process
``up`` started (by its pid, after checking its command line), never anything by name.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from lakehouse.local.minio import (
    MinioCredentials,
    MinioServer,
    MinioUnavailable,
    ensure_minio_binary,
    server_env,
    wait_healthy,
)
from lakehouse.s3 import S3Endpoint
from lakehouse_core.catalog import DEFAULT_BUCKET
from lakehouse_core.errors import LakehouseError
from lakehouse_core.paths import cache_dir

DEFAULT_PORT = 9000


class LocalLakeNotRunning(LakehouseError):
    hint = "start it with `lakehouse local up`"


def state_dir() -> Path:
    """``$LAKEHOUSE_LOCAL_DIR``, else ``<cache>/local``: the state file, log and data."""
    explicit = os.environ.get("LAKEHOUSE_LOCAL_DIR")
    return Path(explicit) if explicit else cache_dir() / "local"


def state_file() -> Path:
    return state_dir() / "minio.json"


@dataclass(frozen=True)
class LocalLake:
    """What `lakehouse local up` started, as the state file records it."""

    pid: int
    port: int
    binary: str
    data_dir: str
    access_key: str
    secret_key: str
    bucket: str = DEFAULT_BUCKET

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def s3(self) -> S3Endpoint:
        return S3Endpoint(self.endpoint, self.access_key, self.secret_key)

    def __repr__(self) -> str:
        return f"LocalLake(endpoint={self.endpoint!r}, data_dir={self.data_dir!r}, pid={self.pid})"


def _read_state() -> LocalLake | None:
    try:
        return LocalLake(**json.loads(state_file().read_text()))
    except (OSError, ValueError, TypeError):
        return None


def _write_state(lake: LocalLake) -> None:
    state_dir().mkdir(parents=True, exist_ok=True)
    path = state_file()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(asdict(lake), handle, indent=2)


def _is_ours(lake: LocalLake) -> bool:
    """Whether the recorded pid is still the MinIO server we started (pids get reused)."""
    try:
        cmdline = Path(f"/proc/{lake.pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return (
        bool(cmdline) and cmdline[0].decode() == lake.binary and lake.data_dir.encode() in cmdline
    )


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def status() -> LocalLake | None:
    lake = _read_state()
    return lake if lake is not None and _is_ours(lake) else None


def current() -> LocalLake:
    lake = status()
    if lake is None:
        raise LocalLakeNotRunning("the local MinIO is not running")
    return lake


def up(
    data_dir: Path | None = None,
    port: int = DEFAULT_PORT,
    log: Callable[[str], None] = print,
) -> LocalLake:
    """Start the local MinIO (or return the running one) and make sure its bucket exists."""
    running = status()
    if running is not None:
        log(f"the local MinIO is already running at {running.endpoint} (pid {running.pid})")
        return running
    previous = _read_state()
    data = data_dir or (Path(previous.data_dir) if previous else state_dir() / "minio-data")
    # The keys are kept: MinIO's data directory remembers its root credentials.
    credentials = (
        MinioCredentials(previous.access_key, previous.secret_key)
        if previous and Path(previous.data_dir) == data
        else MinioCredentials.generate()
    )
    if not _port_free(port):
        raise MinioUnavailable(
            f"port {port} on 127.0.0.1 is taken by another program",
            hint="choose another one with --port",
        )
    binary = ensure_minio_binary(log)
    data.mkdir(parents=True, exist_ok=True)
    server = MinioServer(
        binary,
        ["server", str(data), "--address", f"127.0.0.1:{port}", "--quiet"],
        server_env(credentials),
        state_dir() / "minio.log",
        detach=True,
    )
    server.start()
    assert server.pid is not None
    lake = LocalLake(
        server.pid, port, str(binary), str(data), credentials.access_key, credentials.secret_key
    )
    _write_state(lake)
    try:
        wait_healthy(lake.endpoint, [server], timeout=60)
    except MinioUnavailable:
        server.stop()
        raise
    from lakehouse.s3 import ObjectStore

    ObjectStore(lake.s3(), lake.bucket).ensure_bucket()
    log(f"local MinIO up at {lake.endpoint}, data in {data}")
    return lake


def down(log: Callable[[str], None] = print) -> bool:
    """Stop the local MinIO started by `up`; False when none was running. Data stays."""
    import signal
    import time

    lake = status()
    if lake is None:
        log("the local MinIO is not running")
        return False
    os.kill(lake.pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    while _is_ours(lake) and time.monotonic() < deadline:
        time.sleep(0.2)
    if _is_ours(lake):
        os.kill(lake.pid, signal.SIGKILL)
    log(f"local MinIO stopped (pid {lake.pid}); the data stays in {lake.data_dir}")
    return True
