"""Catalog semantics of Dremio 25.2 for S3 sources: entities by path, promotion, refresh.

Answers are shaped as the 25.2 source shapes them (``CatalogServiceHelper``): an unpromoted
folder has the internal id ``dremio:/<path>``, no tag, and its children; a missing path
inside a source is an internal error (a wrapped FileNotFoundException, HTTP 500), a path
whose first segment is no source is a 404; promotion reads the Delta log at once, so a
table Dremio cannot read fails the promotion itself. A promoted table is pinned at the
version read then: new commits stay invisible until ``ALTER TABLE ... REFRESH METADATA``.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from lakehouse_dremio.delta_rules import DremioCannotRead, TableSnapshot
from lakehouse_dremio_double.lake import PathMissing, SourceFiles
from lakehouse_dremio_double.state import Dataset, KVStore, new_tag

# What Dremio 25.2 shows in place of a secret it holds (SecretRef.getDisplayString).
EXISTING_SECRET = "$DREMIO_EXISTING_VALUE$"  # noqa: S105 (a placeholder, not a secret)


class ApiError(Exception):
    """An answer other than 200: status, message, and the body shape Dremio uses."""

    def __init__(self, status: int, message: str, shape: str = "mapper") -> None:
        super().__init__(message)
        self.status, self.message, self.shape = status, message, shape

    def body(self) -> dict[str, Any] | None:
        if self.shape == "empty":
            return None
        body: dict[str, Any] = {"errorMessage": self.message, "moreInfo": ""}
        if self.shape == "generic":  # GenericErrorMessage(msg): hand-built responses
            body["stackTrace"] = []
        elif self.shape == "user":  # a UserException through UserExceptionMapper
            body["context"] = []
        return body


def java_list(path: list[str]) -> str:
    return "[" + ", ".join(path) + "]"


def internal_id(path: list[str]) -> str:
    return "dremio:/" + "/".join(path)


def dotted(path: list[str]) -> str:
    return ".".join(path)


def now_ms() -> int:
    return int(time.time() * 1000)


def iso(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms / 1000)) + f".{ms % 1000:03d}Z"


class Catalog:
    def __init__(self, kv: KVStore) -> None:
        self.kv = kv
        self._files: dict[str, SourceFiles] = {}

    # --- sources --------------------------------------------------------------------------
    def files(self, source: dict[str, Any]) -> SourceFiles:
        key = f"{source['id']}:{source['tag']}"
        if key not in self._files:
            self._files[key] = SourceFiles(source)
        return self._files[key]

    def source_of(self, path: list[str]) -> dict[str, Any]:
        source = self.kv.source_by_name(path[0]) if path else None
        if source is None:
            raise ApiError(404, f"Could not find entity with path [{java_list(path)}]")
        return source

    def create_source(self, body: dict[str, Any]) -> dict[str, Any]:
        if body.get("id"):
            raise ApiError(400, "Source id is immutable.")
        if body.get("tag"):
            raise ApiError(400, "Source tag is immutable.")
        name = str(body.get("name", ""))
        if self.kv.source_by_name(name) is not None:
            raise ApiError(409, f"A source with the name [{name}] already exists.")
        with self.kv.lock:
            source = {
                **body,
                "entityType": "source",
                "id": str(uuid.uuid4()),
                "tag": new_tag(),
                "createdAt": iso(now_ms()),
            }
            self.kv.store.sources[source["id"]] = source
            self.kv.save()
        return self.source_entity(source)

    def update_source(self, source_id: str, body: dict[str, Any]) -> dict[str, Any]:
        current = self.kv.store.sources.get(source_id)
        if current is None:
            raise ApiError(404, f"Could not find entity with id [{source_id}]")
        if body.get("id") != source_id:
            raise ApiError(404, "Ids must match.")
        if body.get("name") != current["name"]:
            raise ApiError(404, "Source name is immutable.")
        if body.get("type") != current["type"]:
            raise ApiError(404, "Source type is immutable.")
        if body.get("tag") is None:
            raise ApiError(409, f"Source already exists with name {current['name']}.", "user")
        if body["tag"] != current["tag"]:
            raise ApiError(
                409,
                f"Source [{current['name']}] has been updated, and the given configuration is "
                f"out of date (current tag: {current['tag']}, given: {body['tag']})",
            )
        config = dict(body.get("config") or {})
        if config.get("accessSecret") == EXISTING_SECRET:  # "keep the one you have"
            config["accessSecret"] = current["config"].get("accessSecret")
        with self.kv.lock:
            updated = {**current, **body, "config": config, "tag": new_tag()}
            self.kv.store.sources[source_id] = updated
            self.kv.save()
        return self.source_entity(updated, children=False)

    def source_entity(self, source: dict[str, Any], children: bool = True) -> dict[str, Any]:
        # Dremio never returns a secret: a set one reads as a placeholder, which an update
        # may send back to keep it (Source.java, ConnectionConf.clearSecrets, SecretRef).
        config = dict(source["config"])
        if config.get("accessSecret"):
            config["accessSecret"] = EXISTING_SECRET
        entity = {
            "entityType": "source",
            "config": config,
            "state": {"status": "good", "messages": []},
            "id": source["id"],
            "tag": source["tag"],
            "type": source["type"],
            "name": source["name"],
            "createdAt": source["createdAt"],
            "metadataPolicy": source.get("metadataPolicy", {}),
            "children": [],
            "allowCrossSourceSelection": False,
            "disableMetadataValidityCheck": False,
        }
        if children:
            entity["children"] = self._children(source, [source["name"]])
        return entity

    def root_items(self) -> list[dict[str, Any]]:
        """The sources, as GET /api/v3/catalog lists them."""
        return [
            {"id": s["id"], "path": [s["name"]], "tag": s["tag"], "type": "CONTAINER",
             "containerType": "SOURCE", "createdAt": s["createdAt"]}
            for s in self.kv.store.sources.values()
        ]  # fmt: skip

    def by_id(self, entity_id: str) -> dict[str, Any]:
        source = self.kv.store.sources.get(entity_id)
        if source is not None:
            return self.source_entity(source)
        dataset = self.kv.store.datasets.get(entity_id)
        if dataset is not None:
            return self.dataset_entity(dataset)
        raise ApiError(404, f"Could not find entity with id [{entity_id}]")

    # --- entities ---------------------------------------------------------------------------
    def by_path(self, path: list[str]) -> dict[str, Any]:
        path = [p for p in path if p]
        source = self.source_of(path)
        if len(path) == 1:
            return self.source_entity(source)
        dataset = self.kv.dataset_by_path(path)
        if dataset is not None:
            return self.dataset_entity(dataset)
        kind = self._kind(source, path)
        if kind == "file":
            return {"entityType": "file", "id": internal_id(path), "path": path}
        return {
            "entityType": "folder",
            "id": internal_id(path),
            "path": path,
            "children": self._children(source, path),
        }

    def _kind(self, source: dict[str, Any], path: list[str]) -> str:
        try:
            return self.files(source).kind(path[1:])
        except PathMissing as missing:
            exception = (
                "com.dremio.plugins.util.ContainerNotFoundException"
                if str(missing).startswith("Bucket [")
                else "java.io.FileNotFoundException"
            )
            raise ApiError(500, f"{exception}: {missing}") from None

    def _children(self, source: dict[str, Any], path: list[str]) -> list[dict[str, Any]]:
        out = []
        for entry in self.files(source).children(path[1:]):
            child = [*path, entry.name]
            dataset = self.kv.dataset_by_path(child)
            if dataset is not None:
                out.append(
                    {"id": dataset.id, "path": child, "type": "DATASET", "datasetType": "PROMOTED"}
                )
            elif entry.is_folder:
                out.append(
                    {
                        "id": internal_id(child),
                        "path": child,
                        "type": "CONTAINER",
                        "containerType": "FOLDER",
                    }
                )
            else:
                out.append({"id": internal_id(child), "path": child, "type": "FILE"})
        return out

    def dataset_entity(self, dataset: Dataset, *, refreshed: bool = True) -> dict[str, Any]:
        source = self.source_of(dataset.path)
        snapshot = self.files(source).snapshot(dataset.path[1:], dataset.version)
        entity = {
            "entityType": "dataset",
            "id": dataset.id,
            "type": "PHYSICAL_DATASET",
            "path": dataset.path,
            "createdAt": iso(dataset.created_at),
            "tag": dataset.tag,
            "format": {"type": "Delta", "fullPath": dataset.path, "isFolder": True},
            "approximateStatisticsAllowed": False,
            "fields": [{"name": n, "type": t.as_json()} for n, t in snapshot.columns],
        }
        if refreshed:
            entity["isMetadataExpired"] = False
            entity["lastMetadataRefreshAt"] = iso(dataset.refreshed_at)
        return entity

    # --- promotion and refresh ----------------------------------------------------------------
    def promote(self, entity_id: str, body: dict[str, Any]) -> dict[str, Any]:
        if body.get("type") != "PHYSICAL_DATASET":
            raise ApiError(400, "Promoting can only create physical datasets.")
        if not entity_id.startswith("dremio:/"):
            if entity_id in self.kv.store.datasets:
                raise ApiError(400, "Can only promote a folder or a file but found [DATASET]")
            raise ApiError(400, f"Could not find entity to promote with ud [{entity_id}]")
        id_path = [p for p in entity_id.removeprefix("dremio:/").split("/") if p]
        body_path = [str(p).strip('"') for p in body.get("path") or []]
        if body_path != id_path:
            raise ApiError(400, "Entity id does not match the path specified in the dataset.")
        if len(id_path) < 2:
            raise ApiError(400, "Dataset path should be fully qualified.")
        if body.get("format") is None:
            raise ApiError(400, "To promote a dataset, format settings are required.")
        source = self.kv.source_by_name(id_path[0])
        if source is None:
            raise ApiError(
                400, f"Could not find entity to promote with path [{java_list(id_path)}]"
            )
        if self.kv.dataset_by_path(id_path) is not None:
            raise ApiError(400, "Can only promote a folder or a file but found [DATASET]")
        self._kind(source, id_path)
        snapshot = self._read_log(source, id_path)
        dataset = self._pin(id_path, snapshot)
        return self.dataset_entity(dataset, refreshed=False)

    def _read_log(
        self, source: dict[str, Any], path: list[str], version: int | None = None
    ) -> TableSnapshot:
        files = self.files(source)
        root = files.s3a(path[1:])
        if not files.is_delta_table(path[1:]):
            raise ApiError(
                500,
                f"Failed to read metadata for delta dataset {root}. File for version 0 either "
                "doesn't exist or is not suitable for reading",
            )
        try:
            return files.snapshot(path[1:], version)
        except DremioCannotRead as err:
            raise ApiError(
                500, f"Failed to read metadata for delta dataset {root}. {err.message}"
            ) from None

    def _pin(self, path: list[str], snapshot: TableSnapshot) -> Dataset:
        with self.kv.lock:
            dataset = Dataset(
                str(uuid.uuid4()), path, snapshot.version, new_tag(), now_ms(), now_ms()
            )
            self.kv.store.datasets[dataset.id] = dataset
            self.kv.save()
        return dataset

    def refresh(self, path: list[str], auto_promotion: bool) -> tuple[bool, str]:
        """ALTER TABLE ... REFRESH METADATA: (ok, summary), or ApiError for a failed job."""
        source = self.source_of(path)
        name = dotted(path)
        dataset = self.kv.dataset_by_path(path)
        if dataset is None:
            if not auto_promotion:
                raise ApiError(400, f"Unable to refresh dataset. Dataset [{name}] not found.")
            self._pin(path, self._read_log(source, path))
            return True, f"Metadata for table '{name}' refreshed."
        snapshot = self._read_log(source, path)
        if snapshot.version == dataset.version:
            return (
                True,
                f"Table '{name}' read signature reviewed but source stated metadata is unchanged, "
                "no refresh occurred.",
            )
        with self.kv.lock:
            dataset.version, dataset.tag, dataset.refreshed_at = (
                snapshot.version,
                new_tag(),
                now_ms(),
            )
            self.kv.save()
        return True, f"Metadata for table '{name}' refreshed."

    def table_for_query(self, path: list[str], snapshot_version: int | None) -> Any:
        """The rows a query sees: the pinned version, or the ``AT SNAPSHOT`` one."""
        source = self.source_of(path)
        dataset = self.kv.dataset_by_path(path)
        if dataset is None:
            auto = bool((source.get("metadataPolicy") or {}).get("autoPromoteDatasets"))
            files = self.files(source)
            if snapshot_version is not None or not auto or not files.is_delta_table(path[1:]):
                raise ApiError(400, f"Object '{path[-1]}' not found within '{dotted(path[:-1])}'")
            dataset = self._pin(path, self._read_log(source, path))
        version = dataset.version if snapshot_version is None else snapshot_version
        files = self.files(source)
        try:
            snapshot = files.snapshot(path[1:], version)
        except DremioCannotRead as err:
            raise ApiError(400, err.message) from None
        return files.read(path[1:], snapshot)
