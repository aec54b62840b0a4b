"""Real MinIO servers as local processes on 127.0.0.1: for the demo, local runs, the tests
and the benchmark.

* ``LocalMinio``: one server with a private data directory (a context manager);
* ``DistributedMinio``: four servers with one drive each, one erasure set at EC:2 as the
  dev stack runs it, each server killable and restartable on its own (the fault tests).

The binary comes from ``$MINIO_BINARY``, else the project cache, else ``minio`` on PATH,
else it is built once with ``go install`` at the pinned module version (MinIO publishes
no binaries any more). Credentials are random unless given: nothing here has a default
password. Processes are stopped by the handle that started them, never by name.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import tenacity

from lakehouse import gobuild
from lakehouse_core import versions
from lakehouse_core.errors import LakehouseError
from lakehouse_core.paths import cache_dir

# Where DistributedMinio checks that every server takes writes (after a restart).
WRITE_PROBE_BUCKET, WRITE_PROBE_KEY = "minio-write-probe", "probe"


class MinioUnavailable(LakehouseError):
    """No MinIO binary could be found or built; the message says how to get one."""


# The MinIO client at the mc image's commit: the tests run the provisioning Job's script
# with it, and the test bed builds the mc image from the same program.
MC_PROGRAM = gobuild.GoTarget(
    name="mc-image",
    module=versions.MC_GO_MODULE,
    version=versions.MC_IMAGE_GO_VERSION,
    binaries={"mc": versions.MC_GO_MODULE},
    inherit_replaces=True,
    # mc publishes RELEASE.* tags only; the proxy serves this release's commit by its
    # pseudo-version, which the checksum database has never been asked for.
    unlisted_in_sumdb=(versions.MC_GO_MODULE,),
)


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


def ensure_mc_binary(log: Callable[[str], None] = print) -> Path:
    """The MinIO client at the mc image's pinned commit (``$MC_BINARY``, or built once).

    The tests run the provisioning Job's own script with it against a local MinIO, so the
    policies and users are proven on a real server without a cluster.
    """
    explicit = os.environ.get("MC_BINARY")
    if explicit:
        if not os.access(explicit, os.X_OK):
            raise MinioUnavailable(
                f"MC_BINARY={explicit} is not an executable file",
                hint="point it at an mc binary, or unset it to let the project build one",
            )
        return Path(explicit)
    if not gobuild.is_built(MC_PROGRAM):
        log("building the MinIO client once from the Go module proxy (about a minute)")
        gobuild.build(MC_PROGRAM, log)
    return gobuild.binary(MC_PROGRAM, "mc")


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


class MinioServer:
    """One ``minio server`` process: started, stopped, killed and restarted by its handle."""

    def __init__(
        self,
        binary: Path,
        args: Sequence[str],
        env: Mapping[str, str],
        log_file: Path,
        *,
        detach: bool = False,
    ) -> None:
        self.binary, self.args, self.env, self.log_file = binary, list(args), dict(env), log_file
        self.detach = detach
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        if self.running():
            return
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as handle:
            self.process = subprocess.Popen(
                [str(self.binary), *self.args],
                env=self.env,
                stdout=handle,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                # A detached server outlives the command that started it (`lakehouse local up`).
                start_new_session=self.detach,
            )

    def stop(self, timeout: float = 15.0) -> None:
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)

    def kill(self) -> int | None:
        """SIGKILL: the server dies mid-request, as a crashed node would. Returns its exit
        status (``-SIGKILL`` when this call killed it; None when it was not running)."""
        if self.process is None or self.process.poll() is not None:
            return None
        self.process.send_signal(signal.SIGKILL)
        return self.process.wait(timeout=10)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def _health(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (loopback)
            return bool(response.status == 200)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def wait_healthy(
    endpoint: str, servers: Sequence[MinioServer], timeout: float, check: str = "cluster"
) -> None:
    """Wait until the cluster (``check=cluster``: write quorum) or one server answers."""
    url = f"{endpoint}/minio/health/{check}"

    def healthy() -> bool:
        for server in servers:
            if server.process is not None and server.process.poll() is not None:
                raise MinioUnavailable(
                    f"MinIO exited with code {server.process.returncode} while starting:\n"
                    f"{server.log_tail()}"
                )
        return _health(url)

    try:
        tenacity.Retrying(
            retry=tenacity.retry_if_result(lambda ok: not ok),
            wait=tenacity.wait_fixed(0.2),
            stop=tenacity.stop_after_delay(timeout),
        )(healthy)
    except tenacity.RetryError:
        tails = "\n".join(s.log_tail(10) for s in servers)
        raise MinioUnavailable(
            f"MinIO did not report {check} health within {timeout:.0f}s:\n{tails}"
        ) from None


def server_env(credentials: MinioCredentials) -> dict[str, str]:
    return {
        **os.environ,
        "MINIO_ROOT_USER": credentials.access_key,
        "MINIO_ROOT_PASSWORD": credentials.secret_key,
        "MINIO_BROWSER": "off",
        "MINIO_UPDATE": "off",
    }


class LocalMinio:
    """One MinIO server process with a private data directory; a context manager.

    ``with LocalMinio() as minio: ...`` starts it, waits for cluster health, and stops it
    (and removes a temporary data directory) on exit, also when the body raises.
    """

    def __init__(
        self,
        data_dir: Path | None = None,
        *,
        binary: Path | None = None,
        port: int | None = None,
        log: Callable[[str], None] = print,
        startup_timeout: float = 60.0,
        credentials: MinioCredentials | None = None,
    ) -> None:
        self._log = log
        self._binary = binary
        self._owns_data_dir = data_dir is None
        self.data_dir = data_dir or Path(tempfile.mkdtemp(prefix="lakehouse-minio-"))
        self.port = port or _free_port()
        self.credentials = credentials or MinioCredentials.generate()
        self._startup_timeout = startup_timeout
        self.server: MinioServer | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> LocalMinio:
        binary = self._binary or ensure_minio_binary(self._log)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        args = ["server", str(self.data_dir), "--address", f"127.0.0.1:{self.port}", "--quiet"]
        log_file = self.data_dir.parent / f"{self.data_dir.name}.log"
        self.server = MinioServer(binary, args, server_env(self.credentials), log_file)
        self.server.start()
        try:
            wait_healthy(self.endpoint, [self.server], self._startup_timeout)
        except MinioUnavailable:
            self.stop()
            raise
        self._log(f"MinIO {self.endpoint} is up (data in {self.data_dir})")
        return self

    def log_tail(self, lines: int = 30) -> str:
        return self.server.log_tail(lines) if self.server else "(not started)"

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            if self._owns_data_dir:
                self.server.log_file.unlink(missing_ok=True)
        if self._owns_data_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> LocalMinio:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class DistributedMinio:
    """Four (or more) MinIO servers on 127.0.0.1, one drive each, forming one erasure set.

    With 4 drives MinIO's default parity is EC:2: reads survive two lost servers, writes
    one. Each server can be killed (SIGKILL), stopped and started again on its own; the
    cluster keeps its data directories across restarts. ``endpoint`` is the first server's
    address (any server answers for the whole cluster).
    """

    def __init__(
        self,
        servers: int = 4,
        *,
        root: Path | None = None,
        binary: Path | None = None,
        log: Callable[[str], None] = print,
        startup_timeout: float = 90.0,
    ) -> None:
        if servers < 4:
            raise ValueError("distributed MinIO needs at least 4 servers")
        self._log = log
        self._binary = binary
        self._owns_root = root is None
        self.root = root or Path(tempfile.mkdtemp(prefix="lakehouse-minio-cluster-"))
        self.ports = [_free_port() for _ in range(servers)]
        self.credentials = MinioCredentials.generate()
        self._startup_timeout = startup_timeout
        self.servers: list[MinioServer] = []

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.ports[0]}"

    def endpoints(self) -> list[str]:
        return [f"http://127.0.0.1:{port}" for port in self.ports]

    def start(self) -> DistributedMinio:
        binary = self._binary or ensure_minio_binary(self._log)
        drives = [self.root / f"drive{i}" for i in range(len(self.ports))]
        for drive in drives:
            drive.mkdir(parents=True, exist_ok=True)
        layout = [f"http://127.0.0.1:{p}{d}" for p, d in zip(self.ports, drives, strict=True)]
        env = server_env(self.credentials)
        # Where /.dockerenv exists (a container, as CI runners often are), MinIO counts as
        # orchestrated and waits forever for a loopback host to resolve to another
        # address; _MINIO_SERVER_LOCAL is its own way to name the endpoint that is this
        # server, so each finds itself among the four and starts.
        self.servers = [
            MinioServer(
                binary,
                ["server", *layout, "--address", f"127.0.0.1:{port}", "--quiet"],
                # The test drives are folders on the root filesystem, which distributed
                # MinIO refuses unless told it is a test setup (as the dev stack on kind).
                {**env, "_MINIO_SERVER_LOCAL": f"127.0.0.1:{port}", "MINIO_CI_CD": "1"},
                self.root / f"server{i}.log",
            )
            for i, port in enumerate(self.ports)
        ]
        for server in self.servers:
            server.start()
        try:
            wait_healthy(self.endpoint, self.servers, self._startup_timeout)
        except MinioUnavailable:
            self.stop()
            raise
        self._log(f"distributed MinIO: {len(self.servers)} servers on ports {self.ports}")
        return self

    def kill(self, index: int) -> int | None:
        return self.servers[index].kill()

    def restart(self, index: int, wait: bool = True) -> None:
        server = self.servers[index]
        server.stop()
        server.start()
        if wait:
            wait_healthy(self.endpoints()[index], [server], self._startup_timeout, check="live")

    def wait_healthy(self, timeout: float | None = None) -> None:
        """Wait until every server reports the write quorum and takes a write.

        The health endpoint is not enough after a restart: a server that saw its peers go
        away reconnects to their drives on its own schedule (about 45 s here) and refuses
        writes with SlowDownWrite until then, while already reporting the cluster healthy.
        """
        limit = timeout or self._startup_timeout
        for endpoint in self.endpoints():
            wait_healthy(endpoint, self.servers, limit)
        for endpoint in self.endpoints():
            self._wait_writable(endpoint, limit)

    def _wait_writable(self, endpoint: str, timeout: float) -> None:
        from lakehouse.s3 import ObjectStore, S3Endpoint

        access, secret = self.credentials.access_key, self.credentials.secret_key
        store = ObjectStore(S3Endpoint(endpoint, access, secret), WRITE_PROBE_BUCKET)

        def probe() -> None:
            store.ensure_bucket()
            store.put_bytes(WRITE_PROBE_KEY, b"probe")

        try:
            tenacity.Retrying(
                wait=tenacity.wait_fixed(1),
                stop=tenacity.stop_after_delay(timeout),
                reraise=True,
            )(probe)
        except Exception as err:
            raise MinioUnavailable(
                f"MinIO at {endpoint} reports healthy but refuses writes after "
                f"{timeout:.0f}s: {err}"
            ) from err

    def stop(self) -> None:
        for server in self.servers:
            server.stop()
        if self._owns_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> DistributedMinio:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
