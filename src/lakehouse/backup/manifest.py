"""What a backup holds: every Delta table at one committed version, the landing files, and
Dremio's catalog, each file by its SHA-256 (the backup store keeps files by checksum, so a
file already there is never copied again).

A manifest names the release that wrote it; a restore refuses one from a newer format.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from lakehouse_core.backup_layout import FORMAT


class StoredFile(BaseModel):
    """One object of the lake (its key under the bucket) and its content's checksum."""

    model_config = ConfigDict(frozen=True)

    key: str
    sha256: str
    size: int


class TableCopy(BaseModel):
    """A Delta table at one committed version: its log up to that version and exactly the
    data files the version references."""

    prefix: str  # the table's key prefix, e.g. deltalake/silver/orders
    version: int
    log: list[StoredFile]
    data: list[StoredFile]

    @property
    def files(self) -> list[StoredFile]:
        return [*self.data, *self.log]


class Manifest(BaseModel):
    format: int = FORMAT
    release: str  # the lakehouse version that wrote it
    backup_id: str  # UTC time it was taken, e.g. 20261205T171500Z
    source: str  # which lake, for people
    bucket: str
    tables: list[TableCopy]
    landing: list[StoredFile]
    dremio: StoredFile | None = None  # Dremio's catalog export (JSON), when a Dremio was there
    settings: dict[str, object] = {}  # the stack's non-secret settings, when from a stack

    def all_files(self) -> list[StoredFile]:
        files = [f for t in self.tables for f in t.files] + self.landing
        return files + ([self.dremio] if self.dremio else [])

    @property
    def size(self) -> int:
        return sum(f.size for f in self.all_files())
