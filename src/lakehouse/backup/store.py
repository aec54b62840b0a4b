"""Where backups live: a directory, or an S3 bucket and prefix (any S3 endpoint), in the
layout of ``lakehouse_core.backup_layout`` (files by checksum, one manifest per backup,
written last)."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Protocol

from lakehouse.s3 import S3Endpoint
from lakehouse.targets import Lake
from lakehouse_core.backup_layout import (
    MANIFEST_SUFFIX,
    MANIFESTS_DIR,
    OBJECTS_DIR,
    manifest_key,
    object_key,
)
from lakehouse_core.errors import LakehouseError

CHUNK = 1 << 20


class BackupError(LakehouseError):
    """A backup or restore could not be done; nothing was changed where it says so."""


class BackupStore(Protocol):
    where: str

    def check_writable(self) -> None: ...
    def has(self, sha256: str) -> bool: ...
    def put(self, sha256: str, source: Path) -> None: ...
    def open(self, sha256: str) -> IO[bytes]: ...
    def write_manifest(self, backup_id: str, text: str) -> None: ...
    def read_manifest(self, backup_id: str) -> str: ...
    def manifests(self) -> list[str]: ...
    def delete_manifest(self, backup_id: str) -> None: ...
    def objects(self) -> list[str]: ...
    def delete_object(self, sha256: str) -> None: ...


def sha256_of(stream: IO[bytes]) -> str:
    digest = hashlib.sha256()
    while chunk := stream.read(CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


class DirectoryStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.where = str(root)

    def check_writable(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            probe = self.root / f".probe-{uuid.uuid4().hex}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as err:
            raise BackupError(
                f"cannot write the backup folder {self.root}: {err.strerror or err}",
                hint="give a folder you may write (it is created if missing)",
            ) from None

    def has(self, sha256: str) -> bool:
        return (self.root / object_key(sha256)).is_file()

    def put(self, sha256: str, source: Path) -> None:
        target = self.root / object_key(sha256)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.{uuid.uuid4().hex}")
        shutil.copyfile(source, partial)
        os.replace(partial, target)  # whole, or not there at all

    def open(self, sha256: str) -> IO[bytes]:
        try:
            return (self.root / object_key(sha256)).open("rb")
        except FileNotFoundError:
            raise BackupError(
                f"the backup in {self.root} lacks a file it lists ({sha256[:12]}...)",
                hint="the backup is incomplete: restore another one (`lakehouse backup list`)",
            ) from None

    def write_manifest(self, backup_id: str, text: str) -> None:
        folder = self.root / MANIFESTS_DIR
        folder.mkdir(parents=True, exist_ok=True)
        partial = folder / f".{backup_id}{MANIFEST_SUFFIX}.partial"
        partial.write_text(text)
        os.replace(partial, self.root / manifest_key(backup_id))

    def read_manifest(self, backup_id: str) -> str:
        path = self.root / manifest_key(backup_id)
        if not path.is_file():
            raise BackupError(
                f"no backup {backup_id} in {self.root}",
                hint=f"`lakehouse backup list --from {self.root}` lists the backups there",
            )
        return path.read_text()

    def manifests(self) -> list[str]:
        folder = self.root / MANIFESTS_DIR
        return sorted(p.stem for p in folder.glob(f"*{MANIFEST_SUFFIX}")) if folder.is_dir() else []

    def delete_manifest(self, backup_id: str) -> None:
        (self.root / manifest_key(backup_id)).unlink(missing_ok=True)

    def objects(self) -> list[str]:
        folder = self.root / OBJECTS_DIR
        return sorted(p.name for p in folder.glob("*/*") if not p.name.startswith("."))

    def delete_object(self, sha256: str) -> None:
        (self.root / object_key(sha256)).unlink(missing_ok=True)


class S3Store:
    """``s3://bucket/prefix`` on the endpoint of ``$AWS_ENDPOINT_URL`` (else AWS), with the
    standard AWS credential chain (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, ...)."""

    def __init__(self, url: str, endpoint: S3Endpoint | None = None) -> None:
        import boto3

        bucket, _, prefix = url.removeprefix("s3://").partition("/")
        self.bucket, self.prefix = bucket, prefix.strip("/")
        self.where = url
        if endpoint is None:
            self.client: Any = boto3.client(
                "s3", endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None
            )
        else:  # the lake's own endpoint: the lake's own client (path-style, its retries)
            from lakehouse.s3 import ObjectStore

            self.client = ObjectStore(endpoint, bucket).client

    def _key(self, name: str) -> str:
        return f"{self.prefix}/{name}" if self.prefix else name

    def _call(self, what: str, call: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return call()
        except (BotoCoreError, ClientError) as err:
            raise BackupError(
                f"the backup target {self.where} refused or did not answer {what}: {err}",
                hint="check the URL, $AWS_ENDPOINT_URL and the AWS_* credentials, and that "
                "they may write there",
            ) from None

    def check_writable(self) -> None:
        key = self._key(f".probe-{uuid.uuid4().hex}")
        self._call("a test write", lambda: self.client.put_object(Bucket=self.bucket, Key=key))
        self._call("a delete", lambda: self.client.delete_object(Bucket=self.bucket, Key=key))

    def has(self, sha256: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(object_key(sha256)))
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def put(self, sha256: str, source: Path) -> None:
        key = self._key(object_key(sha256))
        self._call(
            f"writing {key}",
            lambda: self.client.upload_file(str(source), self.bucket, key),
        )

    def open(self, sha256: str) -> IO[bytes]:
        key = self._key(object_key(sha256))
        spool = tempfile.TemporaryFile()  # noqa: SIM115 (returned open, the caller closes it)
        self._call(f"reading {key}", lambda: self.client.download_fileobj(self.bucket, key, spool))
        spool.seek(0)
        return spool

    def write_manifest(self, backup_id: str, text: str) -> None:
        key = self._key(manifest_key(backup_id))
        self._call(
            "writing the manifest",
            lambda: self.client.put_object(Bucket=self.bucket, Key=key, Body=text.encode()),
        )

    def read_manifest(self, backup_id: str) -> str:
        key = self._key(manifest_key(backup_id))
        answer = self._call(
            f"reading backup {backup_id}",
            lambda: self.client.get_object(Bucket=self.bucket, Key=key),
        )
        return str(answer["Body"].read().decode())

    def _list(self, prefix: str) -> Iterator[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self._key(prefix)
        )
        for page in self._call("a listing", lambda: list(pages)):
            for item in page.get("Contents", []):
                yield str(item["Key"])

    def manifests(self) -> list[str]:
        return sorted(
            k.rsplit("/", 1)[-1].removesuffix(MANIFEST_SUFFIX)
            for k in self._list(f"{MANIFESTS_DIR}/")
            if k.endswith(MANIFEST_SUFFIX)
        )

    def delete_manifest(self, backup_id: str) -> None:
        key = self._key(manifest_key(backup_id))
        self._call("a delete", lambda: self.client.delete_object(Bucket=self.bucket, Key=key))

    def objects(self) -> list[str]:
        return sorted(k.rsplit("/", 1)[-1] for k in self._list(f"{OBJECTS_DIR}/"))

    def delete_object(self, sha256: str) -> None:
        key = self._key(object_key(sha256))
        self._call("a delete", lambda: self.client.delete_object(Bucket=self.bucket, Key=key))


def open_store(where: str, lake: Lake | None = None) -> BackupStore:
    """A backup store from what the user typed: ``s3://bucket/prefix`` or a folder.

    An S3 URL in ``lake``'s own bucket (the scheduled backup's ``backups/``) is reached
    with the lake's endpoint and keys; any other with ``$AWS_ENDPOINT_URL`` and ``AWS_*``."""
    if where.startswith("s3://"):
        if len(where) <= len("s3://") or where[len("s3://")] == "/":
            raise BackupError(
                f"{where!r} names no bucket", hint="give s3://<bucket>/<prefix> or a folder"
            )
        bucket = where.removeprefix("s3://").split("/", 1)[0]
        same_bucket = lake is not None and bucket == lake.bucket
        return S3Store(where, lake.endpoint if lake is not None and same_bucket else None)
    if "://" in where:
        raise BackupError(
            f"{where!r} is neither a folder nor an s3:// URL",
            hint="give s3://<bucket>/<prefix> or a folder",
        )
    return DirectoryStore(Path(where).expanduser())
