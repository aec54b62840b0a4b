"""The node's daemons: started inside the namespace, recorded by pid, stopped by that pid.

A pid file holds the pid and the program's path; a process is only ever signalled after
its /proc entry shows that program again (pids are reused). Nothing is stopped by name.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from lakehouse_bed import netns

PROXY_VARIABLES = ("http_proxy", "https_proxy", "no_proxy", "all_proxy")


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The daemons' environment: no proxy variables (gRPC honours them, and an API server
    that inherits one cannot call the operator's webhook), plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k.lower() not in PROXY_VARIABLES}
    env.update(extra or {})
    return env


def cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


@dataclass(frozen=True)
class Daemon:
    name: str
    argv: Sequence[str]
    pid_dir: Path
    log_dir: Path
    env: Mapping[str, str] | None = None

    @property
    def pid_file(self) -> Path:
        return self.pid_dir / f"{self.name}.json"

    @property
    def log_file(self) -> Path:
        return self.log_dir / f"{self.name}.log"

    def recorded_pid(self) -> int | None:
        try:
            data = json.loads(self.pid_file.read_text())
        except (OSError, ValueError):
            return None
        pid = int(data["pid"])
        return pid if cmdline(pid)[:1] == [data["program"]] else None

    def running(self) -> bool:
        return self.recorded_pid() is not None

    def start(self) -> int:
        pid = self.recorded_pid()
        if pid is not None:
            return pid
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.pid_dir.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as log:
            # nsenter execs the daemon in place: the child's pid is the daemon's.
            process = subprocess.Popen(
                netns.nsenter(list(self.argv)),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=clean_env(self.env),
                start_new_session=True,
            )
        time.sleep(0.2)
        self.pid_file.write_text(json.dumps({"pid": process.pid, "program": self.argv[0]}))
        if process.poll() is not None:
            raise RuntimeError(f"{self.name} exited at once:\n{self.log_tail()}")
        return process.pid

    def stop(self, timeout: float = 20.0) -> bool:
        """SIGTERM, then SIGKILL after ``timeout``; False when it was not running."""
        pid = self.recorded_pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and cmdline(pid):
            time.sleep(0.2)
        if cmdline(pid):
            os.kill(pid, signal.SIGKILL)
            time.sleep(0.5)
        with contextlib.suppress(ChildProcessError):  # our own child: reap it
            os.waitpid(pid, os.WNOHANG)
        self.pid_file.unlink(missing_ok=True)
        return True

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"
