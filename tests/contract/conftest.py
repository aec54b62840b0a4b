"""Contract fixtures: a real MinIO holding small real Delta tables, and the Dremio double.

The tables are written with delta-rs (an independent Delta writer); the double (a stand-in
for Dremio 25.2, not Dremio) reads them through the rules check and delta-rs, as it does
in the local cluster.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

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

    def write(self, key: str, table: pa.Table, mode: str = "overwrite") -> None:
        write_deltalake(
            f"s3://{BUCKET}/{key}",
            table,
            mode=mode,
            storage_options=self.options(),  # type: ignore[arg-type]
        )

    def source(self) -> LakeSource:
        host = self.endpoint.url.removeprefix("http://")
        return LakeSource(BUCKET, host, self.endpoint.access_key, self.endpoint.secret_key)


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
def dremio(tmp_path: Path) -> Iterator[DremioDouble]:
    with DremioDouble(tmp_path / "dremio-data") as double:
        yield double


def client_for(dremio: DremioDouble, **kwargs: object) -> DremioClient:
    return DremioClient(dremio.url, retry=NO_WAIT, sleep=lambda _s: None, **kwargs)  # type: ignore[arg-type]


def logged_in(dremio: DremioDouble) -> DremioClient:
    client = client_for(dremio)
    client.create_first_user(ADMIN, PASSWORD, "a@b.c")
    client.login(ADMIN, PASSWORD)
    return client


@pytest.fixture
def with_source(dremio: DremioDouble, lake: Lake) -> DremioClient:
    client = logged_in(dremio)
    client.ensure_source(lake.source().definition())
    return client
