"""Dremio's catalog as a backup keeps it, and putting it back (REST API v3).

What the lakehouse's Dremio holds beyond the lake itself: the spaces, their folders and
views (each view's SQL and context), and the reflections' definitions; the tables of the
lake source are promoted again from the lake after a restore (``lake.promote_tables``), so
they are listed only for the record. Secrets never leave: the source's keys are set again
by the stack. Dremio 25.2's own ``dremio-admin backup`` needs the coordinator's disk; the
REST export works through the ingress (docs/recovery.md).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from lakehouse_dremio.client import DremioClient, DremioRequestError

STATE_FORMAT = 1


def _entity(client: DremioClient, entity_id: str) -> dict[str, Any]:
    return dict(client.get_json(f"/api/v3/catalog/{quote(entity_id, safe='')}"))


def _walk_space(client: DremioClient, entity: dict[str, Any], out: dict[str, list[Any]]) -> None:
    for child in entity.get("children", []):
        kind = child.get("type")
        if kind == "CONTAINER" and child.get("containerType") == "FOLDER":
            out["folders"].append(list(child["path"]))
            _walk_space(client, _entity(client, child["id"]), out)
        elif kind == "DATASET" and child.get("datasetType") == "VIRTUAL":
            view = _entity(client, child["id"])
            out["views"].append(
                {
                    "path": list(view["path"]),
                    "sql": view.get("sql", ""),
                    "sqlContext": list(view.get("sqlContext") or []),
                }
            )


def export_state(client: DremioClient, tables_at: list[str]) -> dict[str, Any]:
    """The spaces, folders, views and reflections of a logged-in client's Dremio, and the
    tables promoted below ``tables_at`` (the lake's Delta folder in its source: Dremio's
    user may not read the bucket's other prefixes, so a walk from the source's root is
    refused at the first of them)."""
    root = client.get_json("/api/v3/catalog")
    state: dict[str, Any] = {"format": STATE_FORMAT, "spaces": [], "folders": [], "views": []}
    for item in root.get("data", []):
        if item.get("containerType") == "SPACE":
            name = item["path"][0]
            state["spaces"].append(name)
            _walk_space(client, _entity(client, item["id"]), state)
    promoted: list[list[str]] = []

    def tables(path: list[str]) -> None:
        for name, child in (client.children(path) or {}).items():
            if child.get("type") == "DATASET":
                promoted.append([*path, name])
            elif child.get("type") == "CONTAINER":
                tables([*path, name])

    tables(list(tables_at))
    state["promoted"] = sorted(promoted)
    try:
        reflections = client.get_json("/api/v3/reflection")
    except DremioRequestError as err:
        if err.status != 404:
            raise
        reflections = {"data": []}
    keep = ("name", "type", "datasetId", "enabled", "displayFields", "dimensionFields",
            "measureFields", "partitionFields", "sortFields", "distributionFields")  # fmt: skip
    state["reflections"] = [
        {k: r[k] for k in keep if k in r} | {"datasetPath": r.get("datasetPath")}
        for r in reflections.get("data", [])
    ]
    return state


def import_state(client: DremioClient, state: dict[str, Any]) -> dict[str, int]:
    """Create the spaces, folders and views of ``state`` that are missing (existing ones are
    left as they are); how many of each were created."""
    made = {"spaces": 0, "folders": 0, "views": 0}
    for name in state.get("spaces", []):
        if client.catalog_by_path([name]) is None:
            client.post_json("/api/v3/catalog", {"entityType": "space", "name": name})
            made["spaces"] += 1
    for path in sorted(state.get("folders", []), key=len):
        if client.catalog_by_path(path) is None:
            client.post_json("/api/v3/catalog", {"entityType": "folder", "path": path})
            made["folders"] += 1
    for view in state.get("views", []):
        if client.catalog_by_path(view["path"]) is None:
            body = {
                "entityType": "dataset",
                "type": "VIRTUAL_DATASET",
                "path": view["path"],
                "sql": view["sql"],
                "sqlContext": view.get("sqlContext", []),
            }
            client.post_json("/api/v3/catalog", body)
            made["views"] += 1
    return made
