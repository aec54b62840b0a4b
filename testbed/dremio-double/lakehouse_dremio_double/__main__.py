"""The double's image entry points, in place of Dremio's own scripts (a stand-in, not Dremio):

* ``python -m lakehouse_dremio_double start-fg`` is ``/opt/dremio/bin/dremio start-fg``: it
  takes its role and ZooKeeper from ``DREMIO_JAVA_SERVER_EXTRA_OPTS`` and its storage from
  /opt/dremio/conf (dremio.conf, core-site.xml), waits for ZooKeeper, and as coordinator
  checks that it can write its distributed storage, opens its store (refusing an older
  one) and serves REST on 9047 and Flight on 32010; every role holds the fabric port.
* ``python -m lakehouse_dremio_double upgrade`` is ``/opt/dremio/bin/dremio-admin upgrade``.
* ``python -m lakehouse_dremio_double serve`` runs it with no cluster around it.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import sys
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path

CONF = Path(os.environ.get("DREMIO_CONF_DIR", "/opt/dremio/conf"))
DATA = Path(os.environ.get("DREMIO_DATA_DIR", "/opt/dremio/data"))
VERSION = os.environ.get("DREMIO_DOUBLE_VERSION", "25.2.0")


# Dremio's exit status when its services fail to start (UserBitShared.proto, ProcessExit).
SERVICE_START_FAILURE = 4


def log(message: str) -> None:
    print(time.strftime("%Y-%m-%d %H:%M:%S"), "dremio-double:", message, flush=True)


def run_until_terminated() -> int:
    """Serve until SIGTERM or SIGINT, then exit 0, as Dremio's JVM does on SIGTERM.

    In its container the double is PID 1, and the kernel drops signals PID 1 has no
    handler for: without one, every pod deletion would wait out the whole grace period.
    """
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda _signum, _frame: stop.set())
    while not stop.wait(1.0):
        pass
    log("stopping (signal received)")
    return 0


def java_options() -> dict[str, str]:
    opts = os.environ.get("DREMIO_JAVA_SERVER_EXTRA_OPTS", "")
    return dict(re.findall(r"-D([\w.\-]+)=(\S+)", opts))


def core_site() -> dict[str, str]:
    path = CONF / "core-site.xml"
    if not path.is_file():
        return {}
    root = ET.parse(path).getroot()  # noqa: S314 (mounted from our own Secret)
    return {p.findtext("name", ""): p.findtext("value", "") for p in root.findall("property")}


def dist_path() -> str | None:
    conf = CONF / "dremio.conf"
    if not conf.is_file():
        return None
    found = re.search(r'dist:\s*"dremioS3:///([^"]+)"', conf.read_text())
    return found.group(1) if found else None


def web_admin() -> tuple[str, int] | None:
    """services.web-admin.host and .port of dremio.conf, if the port is set (Dremio's own
    default is 127.0.0.1 on a random port, which no one scrapes)."""
    conf = CONF / "dremio.conf"
    if not conf.is_file():
        return None
    text = conf.read_text()
    port = re.search(r"web-admin\.port:\s*(\d+)", text)
    host = re.search(r'web-admin\.host:\s*"([^"]+)"', text)
    if not port:
        return None
    return (host.group(1) if host else "127.0.0.1"), int(port.group(1))


def wait_for_zookeeper(connect: str, timeout: float = 600) -> None:
    """Dremio does not serve before its ZooKeeper serves a session; neither does the double.

    A member serves once ``srvr`` reports its mode (the four-letter word the stacks allow;
    Dremio itself opens a Curator session, which a member answers only then)."""
    deadline = time.monotonic() + timeout
    hosts = [h.rsplit(":", 1) for h in connect.split(",") if h]
    while True:
        for host, port in hosts:
            try:
                with socket.create_connection((host, int(port)), timeout=3) as conn:
                    conn.sendall(b"srvr")
                    answer = b""
                    while chunk := conn.recv(4096):
                        answer += chunk
                if b"\nMode: " in answer:
                    log(f"ZooKeeper {host}:{port} serves")
                    return
            except OSError:
                pass
        if time.monotonic() > deadline:
            raise SystemExit(f"ZooKeeper {connect} did not answer within {timeout:.0f}s")
        log(f"waiting for ZooKeeper {connect}")
        time.sleep(3)


def check_distributed_storage() -> None:
    """Dremio writes its distributed storage at start; a user that may not fails here."""
    target = dist_path()
    site = core_site()
    if not target or not site:
        return
    from pyarrow.fs import S3FileSystem

    secure = site.get("fs.s3a.connection.ssl.enabled", "false") == "true"
    fs = S3FileSystem(
        access_key=site.get("fs.s3a.access.key"),
        secret_key=site.get("fs.s3a.secret.key"),
        endpoint_override=site.get("fs.s3a.endpoint"),
        scheme="https" if secure else "http",
        region="us-east-1",
        tls_ca_file_path=os.environ.get("SSL_CERT_FILE") if secure else None,
    )
    with fs.open_output_stream(f"{target}/double/started-at") as out:
        out.write(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()).encode())
    log(f"distributed storage s3://{target} is writable")


def hold_ports(ports: list[int]) -> None:
    """Accept and close connections on the cluster ports (fabric, conduit): probes see them."""

    def accept(sock: socket.socket) -> None:
        while True:
            conn, _ = sock.accept()
            conn.close()

    for port in ports:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("0.0.0.0", port))  # noqa: S104 (inside its pod)
        sock.listen()
        threading.Thread(target=accept, args=(sock,), daemon=True).start()


def start_fg() -> int:
    from lakehouse_dremio_double.metrics import web_admin_server
    from lakehouse_dremio_double.server import DremioDouble, KVStoreTooOld

    # Until it serves, a stop request ends it at once (see run_until_terminated).
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(0))
    opts = java_options()
    coordinator = opts.get("services.coordinator.enabled", "true") == "true"
    if opts.get("zookeeper"):
        wait_for_zookeeper(opts["zookeeper"])
    hold_ports([45678, 45679])
    admin = web_admin()
    if not coordinator:
        if admin:
            web_admin_server(*admin, jobs=None, executor=True)
        log("executor: holding the fabric port (the double runs queries on the coordinator)")
        return run_until_terminated()
    try:
        check_distributed_storage()
        anywhere = "0.0.0.0"  # noqa: S104 (inside its pod)
        double = DremioDouble(
            DATA, host=anywhere, rest_port=9047, flight_port=32010, version=VERSION
        )
    except (KVStoreTooOld, OSError) as err:
        log(f"Failure while starting services. {err}")
        return SERVICE_START_FAILURE
    double.start()
    if admin:
        web_admin_server(*admin, jobs=double.api.meters, executor=False)
        log(f"web-admin (/live, /metrics) on {admin[0]}:{admin[1]}")
    log(f"Dremio API double {VERSION} serving REST on 9047 and Flight on 32010")
    return run_until_terminated()


def upgrade() -> int:
    from lakehouse_dremio_double.server import open_store

    existing = (DATA / "double-kvstore.json").is_file()
    kv = open_store(DATA, VERSION, upgrade=True)
    log(f"KVStore version is {kv.store.version}" if existing else "no KVStore yet: nothing to do")
    return 0


def serve(port: int, flight_port: int, data: Path | None) -> int:
    from lakehouse_dremio_double.server import DremioDouble

    double = DremioDouble(data, rest_port=port, flight_port=flight_port).start()
    log(f"serving REST on {double.url} and Flight on {double.flight_endpoint}")
    return run_until_terminated()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lakehouse_dremio_double", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("start-fg", help="run as /opt/dremio/bin/dremio start-fg does")
    sub.add_parser("upgrade", help="run as /opt/dremio/bin/dremio-admin upgrade does")
    serve_cmd = sub.add_parser("serve", help="serve on this machine")
    serve_cmd.add_argument("--port", type=int, default=9047)
    serve_cmd.add_argument("--flight-port", type=int, default=32010)
    serve_cmd.add_argument("--data", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.command == "start-fg":
        return start_fg()
    if args.command == "upgrade":
        return upgrade()
    return serve(args.port, args.flight_port, args.data)


if __name__ == "__main__":
    sys.exit(main())
