"""Contract fixtures: a real MinIO holding small real Delta tables, and a Dremio to talk to.

The tables are written with delta-rs (an independent Delta writer). The Dremio is the
double (a stand-in for Dremio 25.2, not Dremio), which reads them through the rules check
and delta-rs as it does in the local cluster; or, when ``DREMIO_URL`` names one, a real
Dremio: then every test runs its same body against it, except those marked
``double_only`` (they inject faults, or need a Dremio with no user yet), which keep the
double. docs/dremio-contract.md ties each behaviour to Dremio 25.2's source.

For a real Dremio: ``DREMIO_URL`` (REST, e.g. http://localhost:9047), ``DREMIO_USER`` and
``DREMIO_PASSWORD`` of an admin, ``DREMIO_FLIGHT`` (grpc+tcp://host:32010) and
``DREMIO_LAKE_HOST`` (host:port at which that Dremio reaches the tests' MinIO; the tests
create a source named ``lake`` on it).
"""

from __future__ import annotations

import datetime as dt
import decimal
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pyarrow as pa
import pytest
from deltalake import write_deltalake
from pyarrow.fs import S3FileSystem

from lakehouse.local.minio import LocalMinio
from lakehouse.s3 import ObjectStore, S3Endpoint
from lakehouse_dremio.client import DremioClient, RetryPolicy
from lakehouse_dremio.lake import LakeSource
from lakehouse_dremio_double.server import DremioDouble

BUCKET = "lakehouse"
ADMIN, PASSWORD = "lakehouse-admin", "s3cretPassw0rd"
NO_WAIT = RetryPolicy(attempts=4, initial_delay=0.0, max_delay=0.0)

ORDERS = pa.table(
    {
        "o_orderkey": pa.array([1, 2, 3], pa.int64()),
        "o_totalprice": pa.array(
            [decimal.Decimal("10.50"), decimal.Decimal("0.07"), None], pa.decimal128(15, 2)
        ),
        "o_orderdate": pa.array([dt.date(1996, 1, 2), dt.date(1997, 3, 4), None], pa.date32()),
        "o_updated": pa.array(
            [dt.datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=dt.timezone.utc), None, None],
            pa.timestamp("us", tz="UTC"),
        ),
        "o_comment": ["first", 'it\'s "quoted"', None],
    }
)


@dataclass(frozen=True)
class Lake:
    endpoint: S3Endpoint
    fs: S3FileSystem

    def options(self) -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL": self.endpoint.url,
            "AWS_ACCESS_KEY_ID": self.endpoint.access_key,
            "AWS_SECRET_ACCESS_KEY": self.endpoint.secret_key,
            "AWS_REGION": "us-east-1",
            "AWS_ALLOW_HTTP": "true",
        }

    def write(
        self, key: str, table: pa.Table, mode: Literal["overwrite", "append"] = "overwrite"
    ) -> None:
        write_deltalake(f"s3://{BUCKET}/{key}", table, mode=mode, storage_options=self.options())

    def source(self) -> LakeSource:
        host = os.environ.get("DREMIO_LAKE_HOST") if REAL_URL else None
        host = host or self.endpoint.url.removeprefix("http://")
        return LakeSource(BUCKET, host, self.endpoint.access_key, self.endpoint.secret_key)


REAL_URL = os.environ.get("DREMIO_URL")


@dataclass(frozen=True)
class RealDremio:
    """A real Dremio the user named; it has users already (its admin's are given)."""

    url: str
    flight_endpoint: str
    user: str
    password: str


# Either the double or a real Dremio: what a test body talks to.
Dremio = DremioDouble | RealDremio


def credentials(dremio: Dremio) -> tuple[str, str]:
    """The admin a test logs in as: the double's first user, or the real one's admin."""
    if isinstance(dremio, RealDremio):
        return dremio.user, dremio.password
    return ADMIN, PASSWORD


@pytest.fixture(scope="session")
def lake() -> Iterator[Lake]:
    with LocalMinio(log=lambda _m: None) as minio:
        endpoint = S3Endpoint(
            minio.endpoint, minio.credentials.access_key, minio.credentials.secret_key
        )
        ObjectStore(endpoint, BUCKET).ensure_bucket()
        fs = S3FileSystem(
            access_key=endpoint.access_key,
            secret_key=endpoint.secret_key,
            endpoint_override=endpoint.url,
            scheme="http",
            region="us-east-1",
        )
        lake = Lake(endpoint, fs)
        lake.write("deltalake/silver/orders", ORDERS)
        lake.write("deltalake/gold/big", pa.table({"n": pa.array(range(1234), pa.int64())}))
        yield lake


@pytest.fixture
def dremio(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Dremio]:
    if REAL_URL and request.node.get_closest_marker("double_only") is None:
        yield RealDremio(
            REAL_URL,
            os.environ.get("DREMIO_FLIGHT", ""),
            os.environ["DREMIO_USER"],
            os.environ["DREMIO_PASSWORD"],
        )
        return
    with DremioDouble(tmp_path / "dremio-data") as double:
        yield double


def client_for(dremio: Dremio, **kwargs: object) -> DremioClient:
    return DremioClient(dremio.url, retry=NO_WAIT, sleep=lambda _s: None, **kwargs)  # type: ignore[arg-type]


def logged_in(dremio: Dremio) -> DremioClient:
    client = client_for(dremio)
    if isinstance(dremio, DremioDouble):
        client.create_first_user(ADMIN, PASSWORD, "a@b.c")
    client.login(*credentials(dremio))
    return client


@pytest.fixture
def with_source(dremio: Dremio, lake: Lake) -> DremioClient:
    client = logged_in(dremio)
    client.ensure_source(lake.source().definition())
    return client
