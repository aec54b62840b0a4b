"""Dremio's catalog as a backup keeps it (spaces, folders, views, reflections, the lake's
promoted tables) and as a restore puts it back, through the REST API v3: against the
double, or a real Dremio 25.2 when DREMIO_URL is given (docs/dremio-contract.md)."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from lakehouse_dremio.catalog_state import export_state, import_state
from lakehouse_dremio.client import DremioClient, DremioRequestError
from lakehouse_dremio_double.server import DremioDouble

from .conftest import Lake, logged_in


def test_spaces_folders_and_views_survive_an_export_and_an_import(
    with_source: DremioClient, lake: Lake, tmp_path: Path
) -> None:
    client = with_source
    space = f"analytics_{secrets.token_hex(3)}"
    client.post_json("/api/v3/catalog", {"entityType": "space", "name": space})
    client.post_json("/api/v3/catalog", {"entityType": "folder", "path": [space, "finance"]})
    view = {
        "entityType": "dataset",
        "type": "VIRTUAL_DATASET",
        "path": [space, "finance", "big_orders"],
        "sql": "SELECT 1 AS one",
        "sqlContext": [space],
    }
    client.post_json("/api/v3/catalog", view)
    state = export_state(client, [lake.source().name])
    assert space in state["spaces"]
    assert [space, "finance"] in state["folders"]
    assert {
        "path": [space, "finance", "big_orders"],
        "sql": "SELECT 1 AS one",
        "sqlContext": [space],
    } in state["views"]
    assert isinstance(state["reflections"], list)
    # Into a Dremio that has none of it: everything is created; a second import changes nothing.
    with DremioDouble(tmp_path / "fresh") as fresh:
        target = logged_in(fresh)
        assert import_state(target, state) == {"spaces": 1, "folders": 1, "views": 1}
        assert import_state(target, state) == {"spaces": 0, "folders": 0, "views": 0}
        made = target.catalog_by_path([space, "finance", "big_orders"])
        assert made is not None and made["sql"] == "SELECT 1 AS one"
        assert made["sqlContext"] == [space]


@pytest.mark.double_only
def test_a_view_outside_any_space_is_refused(with_source: DremioClient) -> None:
    with pytest.raises(DremioRequestError) as err:
        with_source.post_json(
            "/api/v3/catalog",
            {"entityType": "dataset", "type": "VIRTUAL_DATASET", "path": ["nowhere", "v"],
             "sql": "SELECT 1"},
        )  # fmt: skip
    assert err.value.status == 404
