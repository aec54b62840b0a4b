"""An S3-compatible endpoint (MinIO) and the few object operations the application needs.

``ObjectStore`` imports boto3 only when it is built. Every failure a user can cause (an
endpoint that does not answer, keys it refuses) surfaces as an ``ObjectStoreError`` that
names the endpoint and what to check.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from lakehouse_core.errors import LakehouseError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

P = ParamSpec("P")
R = TypeVar("R")

REFUSED_CODES = ("AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "403")


@dataclass(frozen=True)
class S3Endpoint:
    url: str  # for example http://127.0.0.1:9000
    access_key: str
    secret_key: str
    region: str = "us-east-1"

    def __repr__(self) -> str:  # never print the secret
        return f"S3Endpoint(url={self.url!r}, access_key={self.access_key!r}, secret_key='***')"

    def delta_rs_options(self) -> dict[str, str]:
        """delta-rs's ``storage_options`` for this endpoint (MinIO: path-style, plain HTTP
        allowed, no DynamoDB lock: reads, and writes only where one writer is sure)."""
        return {
            "AWS_ENDPOINT_URL": self.url,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_REGION": self.region,
            "AWS_ALLOW_HTTP": "true",
            "AWS_S3_ALLOW_UNSAFE_RENAME": "true",
        }


class ObjectStoreError(LakehouseError):
    """The S3 endpoint did not answer, or refused what was asked."""


def _error_code(err: Exception) -> str:
    response: Any = getattr(err, "response", {}) or {}
    return str(response.get("Error", {}).get("Code", ""))


def _translated(method: Callable[P, R]) -> Callable[P, R]:
    """Turn botocore's connection and permission errors into ObjectStoreErrors with a hint."""

    @wraps(method)
    def call(*args: P.args, **kwargs: P.kwargs) -> R:
        from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

        store: ObjectStore = args[0]  # type: ignore[assignment]
        try:
            return method(*args, **kwargs)
        except EndpointConnectionError as err:
            raise ObjectStoreError(
                f"the S3 endpoint {store.endpoint.url} does not answer ({err})",
                hint="check the URL and that the object store is running "
                "(`lakehouse local up`, or `lakehouse status` for a cluster)",
            ) from err
        except NoCredentialsError as err:
            raise ObjectStoreError(
                "no S3 credentials were given",
                hint="pass --access-key and --secret-key (or LAKEHOUSE_S3_ACCESS_KEY and "
                "LAKEHOUSE_S3_SECRET_KEY)",
            ) from err
        except ClientError as err:
            if _error_code(err) in REFUSED_CODES:
                raise ObjectStoreError(
                    f"the S3 endpoint {store.endpoint.url} refused access key "
                    f"{store.endpoint.access_key!r} on bucket {store.bucket!r} "
                    f"({_error_code(err)})",
                    hint="check the keys, and that the user may write landing/ in this bucket",
                ) from err
            raise

    return call


class ObjectStore:
    """The few object operations the project needs, against one bucket."""

    def __init__(self, endpoint: S3Endpoint, bucket: str) -> None:
        import boto3
        from botocore.config import Config

        self.endpoint = endpoint
        self.bucket = bucket
        self.client: S3Client = boto3.client(
            "s3",
            endpoint_url=endpoint.url,
            aws_access_key_id=endpoint.access_key,
            aws_secret_access_key=endpoint.secret_key,
            region_name=endpoint.region,
            config=Config(
                s3={"addressing_style": "path"},
                retries={"max_attempts": 5, "mode": "standard"},
                connect_timeout=10,
                read_timeout=120,
            ),
        )

    @_translated
    def ensure_bucket(self) -> None:
        from botocore.exceptions import ClientError

        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError as err:
            if _error_code(err) not in ("404", "NoSuchBucket", "NotFound"):
                raise
            self.client.create_bucket(Bucket=self.bucket)

    @_translated
    def put_bytes(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=key, Body=data)

    @_translated
    def put_file(self, key: str, path: Path) -> None:
        self.client.upload_file(str(path), self.bucket, key)

    @_translated
    def get_bytes(self, key: str) -> bytes | None:
        from botocore.exceptions import ClientError

        try:
            response = self.client.get_object(Bucket=self.bucket, Key=key)
        except ClientError as err:
            if _error_code(err) in ("NoSuchKey", "404"):
                return None
            raise
        body: Any = response["Body"]
        return bytes(body.read())

    @_translated
    def download(self, key: str, path: Path) -> None:
        self.client.download_file(self.bucket, key, str(path))

    @_translated
    def copy(self, source_key: str, key: str) -> None:
        """A server-side copy inside the bucket."""
        self.client.copy_object(
            Bucket=self.bucket, Key=key, CopySource={"Bucket": self.bucket, "Key": source_key}
        )

    @_translated
    def delete(self, keys: list[str]) -> None:
        for start in range(0, len(keys), 1000):
            batch: list[Any] = [{"Key": k} for k in keys[start : start + 1000]]
            if batch:
                self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch})

    @_translated
    def keys(self, prefix: str) -> list[str]:
        return list(self._keys(prefix))

    def _keys(self, prefix: str) -> Iterator[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                yield item["Key"]
