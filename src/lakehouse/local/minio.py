"""A real MinIO server as a local process on 127.0.0.1, for the demo, the tests and the bench.

The binary comes from ``$MINIO_BINARY``, else ``minio`` on PATH, else the project cache,
else it is built once with ``go install`` at the pinned module version (MinIO publishes
no binaries any more). Credentials are random per process: nothing here has a default
password.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from lakehouse import versions
from lakehouse.paths import cache_dir


class MinioUnavailable(RuntimeError):
    """No MinIO binary could be found or built; the message says how to get one."""


def cached_binary_path() -> Path:
    return cache_dir() / "minio" / versions.MINIO_GO_VERSION / "minio"


def find_minio_binary() -> Path | None:
    explicit = os.environ.get("MINIO_BINARY")
    if explicit:
        path = Path(explicit)
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise MinioUnavailable(
                f"MINIO_BINARY={explicit} is not an executable file; point it at a minio "
                "server binary or unset it to let the project build one"
            )
        return path
    cached = cached_binary_path()
    if cached.is_file():
        return cached
    on_path = shutil.which("minio")
    return Path(on_path) if on_path else None


def build_minio_binary(log: Callable[[str], None] = print) -> Path:
    """``go install`` the pinned MinIO into the cache (a few minutes on two cores, once)."""
    go = shutil.which("go")
    if go is None:
        raise MinioUnavailable(
            "MinIO is needed but not installed, and Go is missing to build it. Install Go "
            "(https://go.dev/dl/), or set MINIO_BINARY to a minio server binary."
        )
    target = cached_binary_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    module = f"{versions.MINIO_GO_MODULE}@{versions.MINIO_GO_VERSION}"
    log(f"building the MinIO server once: go install {module} (takes a few minutes)")
    env = {**os.environ, "GOBIN": str(target.parent), "CGO_ENABLED": "0"}
    result = subprocess.run(
        [go, "install", module], env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0 or not target.is_file():
        raise MinioUnavailable(
            f"go install {module} failed (exit {result.returncode}):\n{result.stderr[-2000:]}\n"
            "Set MINIO_BINARY to an existing minio server binary to skip the build."
        )
    log(f"MinIO built: {target}")
    return target


def ensure_minio_binary(log: Callable[[str], None] = print) -> Path:
    return find_minio_binary() or build_minio_binary(log)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class MinioCredentials:
    access_key: str
    secret_key: str

    @classmethod
    def generate(cls) -> MinioCredentials:
        return cls(f"lakehouse-{secrets.token_hex(4)}", secrets.token_urlsafe(24))


class LocalMinio:
    """One MinIO server process with a private data directory; a context manager.

    ``with LocalMinio() as minio: ...`` starts it, waits for cluster health, and stops it
    (and removes a temporary data directory) on exit, also when the body raises.
    """

    def __init__(
        self,
        data_dir: Path | None = None,
        binary: Path | None = None,
        port: int | None = None,
        log: Callable[[str], None] = print,
        startup_timeout: float = 60.0,
    ) -> None:
        self._log = log
        self._binary = binary
        self._owns_data_dir = data_dir is None
        self.data_dir = data_dir or Path(tempfile.mkdtemp(prefix="lakehouse-minio-"))
        self.port = port or _free_port()
        self.credentials = MinioCredentials.generate()
        self._startup_timeout = startup_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._log_file = self.data_dir.parent / f"{self.data_dir.name}.log"

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> LocalMinio:
        binary = self._binary or ensure_minio_binary(self._log)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "MINIO_ROOT_USER": self.credentials.access_key,
            "MINIO_ROOT_PASSWORD": self.credentials.secret_key,
            "MINIO_BROWSER": "off",
            "MINIO_UPDATE": "off",
        }
        log_handle = self._log_file.open("wb")
        self._process = subprocess.Popen(
            [
                str(binary),
                "server",
                str(self.data_dir),
                "--address",
                f"127.0.0.1:{self.port}",
                "--quiet",
            ],
            env=env,
            stdout=log_handle,
            stderr=subprocess.STDOUT,
        )
        log_handle.close()
        self._wait_healthy()
        self._log(f"MinIO {self.endpoint} is up (data in {self.data_dir})")
        return self

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + self._startup_timeout
        url = f"{self.endpoint}/minio/health/cluster"
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise MinioUnavailable(
                    f"MinIO exited with code {self._process.returncode} while starting:\n"
                    f"{self.log_tail()}"
                )
            try:
                with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (loopback)
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.2)
        self.stop()
        raise MinioUnavailable(
            f"MinIO did not report cluster health within {self._startup_timeout:.0f}s:\n"
            f"{self.log_tail()}"
        )

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self._log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        if self._owns_data_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            self._log_file.unlink(missing_ok=True)

    def __enter__(self) -> LocalMinio:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
