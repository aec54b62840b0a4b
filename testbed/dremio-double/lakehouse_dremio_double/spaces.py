"""Spaces, folders and views, as Dremio 25.2's catalog API v3 creates and lists them (a
stand-in: the double stores a view's SQL and context and lists it; it does not plan or run
it, and does not check the SQL as Dremio does on create)."""

from __future__ import annotations

import uuid
from typing import Any

from lakehouse_dremio_double.catalog import ApiError, iso, java_list, now_ms
from lakehouse_dremio_double.state import KVStore, new_tag


class Spaces:
    def __init__(self, kv: KVStore) -> None:
        self.kv = kv

    def _by_path(self, path: list[str]) -> dict[str, Any] | None:
        lowered = [p.lower() for p in path]
        return next(
            (e for e in self.kv.store.spaces.values() if [p.lower() for p in e["path"]] == lowered),
            None,
        )

    def owns(self, path: list[str]) -> bool:
        return bool(path) and self._by_path(path[:1]) is not None

    def root_items(self) -> list[dict[str, Any]]:
        return [
            {"id": e["id"], "path": e["path"], "tag": e["tag"], "type": "CONTAINER",
             "containerType": "SPACE", "createdAt": e["createdAt"]}
            for e in self.kv.store.spaces.values()
            if e["kind"] == "space"
        ]  # fmt: skip

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        kind = body.get("entityType")
        if kind == "space":
            path = [str(body.get("name", ""))]
        else:
            path = [str(p) for p in body.get("path") or []]
        if kind == "dataset":
            if body.get("type") != "VIRTUAL_DATASET":
                raise ApiError(400, "Only virtual datasets can be created in a space.")
            kind = "view"
        if kind not in ("space", "folder", "view") or not path or not path[0]:
            raise ApiError(400, f"Unsupported entity [{body.get('entityType')}].")
        if self._by_path(path) is not None:
            raise ApiError(409, f"The entity [{java_list(path)}] already exists.")
        if kind != "space" and self._by_path(path[:-1]) is None:
            raise ApiError(404, f"Could not find entity with path [{java_list(path[:-1])}]")
        entity: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "path": path,
            "tag": new_tag(),
            "kind": kind,
            "createdAt": iso(now_ms()),
        }
        if kind == "view":
            entity["sql"] = str(body.get("sql", ""))
            entity["sqlContext"] = list(body.get("sqlContext") or [])
        with self.kv.lock:
            self.kv.store.spaces[entity["id"]] = entity
            self.kv.save()
        return self.entity(entity)

    def _children(self, path: list[str]) -> list[dict[str, Any]]:
        found = []
        for e in self.kv.store.spaces.values():
            if len(e["path"]) == len(path) + 1 and e["path"][: len(path)] == path:
                if e["kind"] == "view":
                    found.append({"id": e["id"], "path": e["path"], "tag": e["tag"],
                                  "type": "DATASET", "datasetType": "VIRTUAL"})  # fmt: skip
                else:
                    found.append({"id": e["id"], "path": e["path"], "tag": e["tag"],
                                  "type": "CONTAINER", "containerType": "FOLDER"})  # fmt: skip
        return found

    def entity(self, e: dict[str, Any]) -> dict[str, Any]:
        if e["kind"] == "view":
            return {"entityType": "dataset", "type": "VIRTUAL_DATASET", "id": e["id"],
                    "path": e["path"], "tag": e["tag"], "sql": e["sql"],
                    "sqlContext": e["sqlContext"], "createdAt": e["createdAt"]}  # fmt: skip
        base = {"entityType": e["kind"], "id": e["id"], "path": e["path"], "tag": e["tag"],
                "children": self._children(e["path"])}  # fmt: skip
        if e["kind"] == "space":
            base["name"] = e["path"][0]
        return base

    def by_path(self, path: list[str]) -> dict[str, Any]:
        found = self._by_path(path)
        if found is None:
            raise ApiError(404, f"Could not find entity with path [{java_list(path)}]")
        return self.entity(found)

    def by_id(self, entity_id: str) -> dict[str, Any] | None:
        found = self.kv.store.spaces.get(entity_id)
        return self.entity(found) if found else None
