"""The double's view of an S3 source: folders, files and Delta tables, as Dremio sees them.

A source entity (as the project creates it: access key, secret, ``fs.s3a.endpoint``, path
style) gives an S3 filesystem; paths inside the source start with the bucket. Tables are
read through the project's Dremio 25.2 rules check first, then by delta-rs, and shaped the
way Dremio presents them (timestamps in milliseconds without a zone, small integers as
INTEGER, complex types it drops left out).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lakehouse_dremio.delta_rules import TableSnapshot, check_table

if TYPE_CHECKING:
    import pyarrow as pa
    from pyarrow.fs import S3FileSystem


class PathMissing(FileNotFoundError):
    """A path inside the source that does not exist (Dremio answers 500 for it)."""


@dataclass(frozen=True)
class Entry:
    name: str
    is_folder: bool


def _properties(source: dict[str, Any]) -> dict[str, str]:
    return {p["name"]: p["value"] for p in source["config"].get("propertyList", [])}


class SourceFiles:
    def __init__(self, source: dict[str, Any]) -> None:
        config = source["config"]
        self.name = str(source["name"])
        props = _properties(source)
        host = props.get("fs.s3a.endpoint", "")
        self.secure = bool(config.get("secure", False))
        scheme = "https" if self.secure else "http"
        self.endpoint = host if "://" in host else f"{scheme}://{host}"
        self.access_key = str(config.get("accessKey", ""))
        self.secret_key = str(config.get("accessSecret", ""))
        self.buckets = list(config.get("whitelistedBuckets") or [])
        self._fs: S3FileSystem | None = None

    @property
    def fs(self) -> S3FileSystem:
        if self._fs is None:
            from pyarrow.fs import S3FileSystem

            self._fs = S3FileSystem(
                access_key=self.access_key,
                secret_key=self.secret_key,
                endpoint_override=self.endpoint,
                scheme="https" if self.secure else "http",
                region="us-east-1",
                connect_timeout=5,
                request_timeout=30,
                # TLS inside the cluster: the stack's CA, as OpenSSL's variable names it
                # (delta-rs reads the same variable).
                tls_ca_file_path=os.environ.get("SSL_CERT_FILE") if self.secure else None,
            )
        return self._fs

    @staticmethod
    def key(path: list[str]) -> str:
        """bucket/key for a path inside the source ([bucket, folder, ...])."""
        return "/".join(path)

    def s3a(self, path: list[str]) -> str:
        return f"s3a://{self.key(path)}"

    def kind(self, path: list[str]) -> str:
        """'folder', 'file', or PathMissing with Hadoop's message for S3A."""
        from pyarrow.fs import FileType

        if not path:
            return "folder"
        if self.buckets and path[0] not in self.buckets:
            raise PathMissing(f"Bucket [{path[0]}] not found.")
        info = self.fs.get_file_info(self.key(path))
        if info.type == FileType.File:
            return "file"
        if info.type == FileType.Directory:
            return "folder"
        raise PathMissing(f"No such file or directory: {self.s3a(path)}")

    def children(self, path: list[str]) -> list[Entry]:
        from pyarrow.fs import FileSelector, FileType

        if not path:
            return [Entry(b, True) for b in self.buckets]
        infos = self.fs.get_file_info(FileSelector(self.key(path), allow_not_found=True))
        return sorted(
            (Entry(i.base_name, i.type == FileType.Directory) for i in infos),
            key=lambda e: e.name,
        )

    def is_delta_table(self, path: list[str]) -> bool:
        try:
            return any(e.name == "_delta_log" and e.is_folder for e in self.children(path))
        except OSError:
            return False

    def snapshot(self, path: list[str], version: int | None = None) -> TableSnapshot:
        """The rules check's verdict (DremioCannotRead with Dremio's message, if it refuses)."""
        return check_table(self.fs, self.key(path), version)

    def read(self, path: list[str], snapshot: TableSnapshot) -> pa.Table:
        """The rows at the snapshot's version, as Dremio shows them."""
        from deltalake import DeltaTable

        options = {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_REGION": "us-east-1",
            "AWS_ALLOW_HTTP": str(not self.secure).lower(),
        }
        table = DeltaTable(
            f"s3://{self.key(path)}", version=snapshot.version, storage_options=options
        ).to_pyarrow_table()
        return as_dremio_shows(table, snapshot)


def as_dremio_shows(table: pa.Table, snapshot: TableSnapshot) -> pa.Table:
    """Only the columns Dremio keeps, typed as Dremio reads them."""
    import pyarrow as pa

    columns, fields = [], []
    for name, kind in snapshot.columns:
        column = table.column(name)
        if kind.name == "TIMESTAMP":
            # Dremio reads Delta timestamps as milliseconds, without a time zone.
            column = column.cast(pa.timestamp("us", tz="UTC")).cast(pa.timestamp("us"))
            column = column.cast(pa.timestamp("ms"), safe=False)
        elif kind.name == "INTEGER" and column.type != pa.int32():
            column = column.cast(pa.int32())
        columns.append(column)
        fields.append(pa.field(name, column.type))
    return pa.Table.from_arrays(columns, schema=pa.schema(fields))
