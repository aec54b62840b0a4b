"""An S3-compatible endpoint (MinIO) and a small object-store client on top of boto3.

``S3Endpoint`` is plain data, importable by the Spark jobs; ``ObjectStore`` imports boto3
only when it is built, so the job image needs no boto3.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


@dataclass(frozen=True)
class S3Endpoint:
    url: str  # for example http://127.0.0.1:9000
    access_key: str
    secret_key: str
    region: str = "us-east-1"

    def __repr__(self) -> str:  # never print the secret
        return f"S3Endpoint(url={self.url!r}, access_key={self.access_key!r}, secret_key='***')"


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

    def ensure_bucket(self) -> None:
        from botocore.exceptions import ClientError

        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError as err:
            code = str(err.response.get("Error", {}).get("Code", ""))
            if code not in ("404", "NoSuchBucket", "NotFound"):
                raise
            self.client.create_bucket(Bucket=self.bucket)

    def put_bytes(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=key, Body=data)

    def put_file(self, key: str, path: Path) -> None:
        self.client.upload_file(str(path), self.bucket, key)

    def get_bytes(self, key: str) -> bytes | None:
        from botocore.exceptions import ClientError

        try:
            response = self.client.get_object(Bucket=self.bucket, Key=key)
        except ClientError as err:
            if str(err.response.get("Error", {}).get("Code", "")) in ("NoSuchKey", "404"):
                return None
            raise
        body: Any = response["Body"]
        return bytes(body.read())

    def keys(self, prefix: str) -> Iterator[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                yield item["Key"]
