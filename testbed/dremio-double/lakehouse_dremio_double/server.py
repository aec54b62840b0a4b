"""The double as a whole: its store, REST API and Flight server, started and stopped together.

``DremioDouble(...).start()`` serves on 127.0.0.1 with free ports for the tests; the image
runs ``serve`` (see ``__main__``) on Dremio's ports as a coordinator, or only holds the
fabric port as an executor, after waiting for ZooKeeper as Dremio does.
"""

from __future__ import annotations

import threading
from pathlib import Path
from types import TracebackType

from lakehouse_dremio_double.catalog import Catalog
from lakehouse_dremio_double.flight import DoubleFlightServer
from lakehouse_dremio_double.rest import Api, Faults, Sessions, http_server
from lakehouse_dremio_double.state import KVStore

VERSION = "25.2.0"


class KVStoreTooOld(RuntimeError):
    """Dremio refuses a store of an older version until `dremio-admin upgrade` ran."""


def open_store(data_dir: Path | None, version: str = VERSION, *, upgrade: bool = False) -> KVStore:
    kv = KVStore(data_dir, version)
    if kv.store.version != version:
        if not upgrade:
            raise KVStoreTooOld(
                f"KVStore has an older version ({kv.store.version}) than the server ({version}), "
                "please run the upgrade tool first"
            )
        kv.store.version = version
    kv.save()
    return kv


class DremioDouble:
    def __init__(
        self,
        data_dir: Path | None = None,
        *,
        host: str = "127.0.0.1",
        rest_port: int = 0,
        flight_port: int = 0,
        version: str = VERSION,
    ) -> None:
        self.kv = open_store(data_dir, version)
        self.faults = Faults()
        self.api = Api(Catalog(self.kv), Sessions(), self.faults)
        self.http = http_server(self.api, host, rest_port)
        self.flight = DoubleFlightServer(self.api, f"grpc+tcp://{host}:{flight_port}")
        self._thread = threading.Thread(target=self.http.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.http.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def flight_endpoint(self) -> str:
        host = self.http.server_address[0]
        return f"grpc+tcp://{host!s}:{self.flight.port}"

    def start(self) -> DremioDouble:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.http.shutdown()
        self.http.server_close()
        self.flight.shutdown()

    def __enter__(self) -> DremioDouble:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
