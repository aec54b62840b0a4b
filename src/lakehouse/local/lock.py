"""One writer of a lake on this machine: an exclusive lock per (endpoint, bucket).

Local runs (``lakehouse pipeline run --local``, ``pipeline maintain --local``, the demo,
the tests) take it before they write. The lock is the kernel's (``flock``) on a file in the
cache: it is released when the process ends however it ends (a killed run never leaves a
stale lock behind), and the file names the holder for the message a second run prints.
The cluster's equivalent is the pipeline's Lease (``lakehouse_jobs.lease``).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import time
from pathlib import Path
from types import TracebackType
from typing import IO

from lakehouse_core.errors import LakehouseError
from lakehouse_core.paths import cache_dir


class LakeBusy(LakehouseError):
    """Another process on this machine is writing the same lake."""


class LakeLock:
    def __init__(self, endpoint: str, bucket: str, folder: Path | None = None) -> None:
        self.lake = f"{endpoint.rstrip('/')}/{bucket}"
        digest = hashlib.sha256(self.lake.encode()).hexdigest()[:16]
        self.path = (folder or cache_dir() / "locks") / f"lake-{digest}.lock"
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "{}"
            handle.close()
            info = json.loads(holder) if holder.startswith("{") else {}
            since = time.strftime("%H:%M:%S", time.localtime(info.get("since", 0)))
            raise LakeBusy(
                f"another run is writing the lake {self.lake} (pid {info.get('pid', '?')}, "
                f"since {since})",
                hint="wait for it to finish: two writers of one Delta table are unsafe",
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"pid": os.getpid(), "since": time.time(), "lake": self.lake}))
        handle.flush()
        self._file = handle

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None

    def __enter__(self) -> LakeLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
