"""What the lakehouse asks of Dremio: the S3 source over the bucket, and its Delta tables.

Tables are found the way Dremio can tell: among the children of their layer's folder
(``lake.<bucket>.deltalake.<layer>``). A table not written yet is *missing*, never a
failure: on a fresh deploy most are.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from lakehouse_core.catalog import DREMIO_SOURCE_NAME, LakeCatalog, Layer
from lakehouse_core.gold import GOLD_NAMES
from lakehouse_dremio.client import DremioClient, DremioError

log = logging.getLogger(__name__)

HOUR_MS = 3_600_000


@dataclass(frozen=True)
class LakeSource:
    bucket: str
    endpoint: str  # host:port, no scheme (Dremio adds it from `secure`)
    access_key: str
    secret_key: str
    secure: bool = False
    name: str = DREMIO_SOURCE_NAME

    def __repr__(self) -> str:
        return f"LakeSource(name={self.name!r}, bucket={self.bucket!r}, secret_key='***')"

    def definition(self) -> dict[str, Any]:
        """The body of POST /api/v3/catalog for an S3 source on MinIO."""
        return {
            "entityType": "source",
            "name": self.name,
            "type": "S3",
            "config": {
                "credentialType": "ACCESS_KEY",
                "accessKey": self.access_key,
                "accessSecret": self.secret_key,
                "secure": self.secure,
                # Required for MinIO: no AWS-only calls (STS, bucket regions).
                "compatibilityMode": True,
                "rootPath": "/",
                "whitelistedBuckets": [self.bucket],
                "propertyList": [
                    {"name": "fs.s3a.endpoint", "value": self.endpoint},
                    {"name": "fs.s3a.path.style.access", "value": "true"},
                ],
                "defaultCtasFormat": "PARQUET",
            },
            "metadataPolicy": {
                "authTTLMs": 24 * HOUR_MS,
                "namesRefreshMs": HOUR_MS,
                "datasetRefreshAfterMs": HOUR_MS,
                "datasetExpireAfterMs": 3 * HOUR_MS,
                "datasetUpdateMode": "PREFETCH_QUERIED",
                "deleteUnavailableDatasets": True,
                "autoPromoteDatasets": True,
            },
        }


def lake_tables(
    catalog: LakeCatalog, gold_tables: Iterable[str] = GOLD_NAMES
) -> list[tuple[Layer, str]]:
    """Every Delta table of the lake: the datasets' bronze and silver tables, then gold."""
    return [*catalog.dataset_tables(), *((Layer.GOLD, name) for name in gold_tables)]


def promote_tables(
    client: DremioClient,
    catalog: LakeCatalog,
    gold_tables: Iterable[str] | None = None,
    refresh: bool = True,
) -> dict[str, str]:
    """Promote every Delta table that exists; refresh those already promoted.

    With ``gold_tables`` exactly those gold tables (and the catalog's datasets) are
    expected, those not written yet reported as 'missing'; without, the declared ones
    (``lakehouse_core.gold``) and whatever else the layers' folders hold.
    Returns layer.table -> 'promoted', 'refreshed', 'missing' or 'failed: <why>'.
    """
    outcomes: dict[str, str] = {}
    for layer in Layer:
        folder = catalog.dremio_path(layer, "")[:-1]
        try:
            children = client.children(folder)
        except DremioError as err:
            outcomes[f"{layer.value}.*"] = f"failed: {err}"
            continue
        expected = _expected(catalog, layer, gold_tables, children)
        for table in expected:
            outcomes[f"{layer.value}.{table}"] = _promote_one(
                client, [*folder, table], children, refresh
            )
    return outcomes


def _expected(
    catalog: LakeCatalog,
    layer: Layer,
    gold_tables: Iterable[str] | None,
    children: dict[str, dict[str, Any]] | None,
) -> list[str]:
    if layer is Layer.GOLD and gold_tables is None:
        return sorted(set(GOLD_NAMES) | set(children or {}))
    if gold_tables is None and layer is not Layer.GOLD:
        known = [t for lay, t in catalog.dataset_tables() if lay is layer]
        return sorted(set(known) | set(children or {}))
    if layer is Layer.GOLD:
        return list(gold_tables or ())
    return [t for lay, t in catalog.dataset_tables() if lay is layer]


def _promote_one(
    client: DremioClient,
    path: list[str],
    siblings: dict[str, dict[str, Any]] | None,
    refresh: bool,
) -> str:
    try:
        outcome = client.promote_delta(path, siblings)
        if outcome == "already" and refresh:
            client.refresh_metadata(path)
            outcome = "refreshed"
    except DremioError as err:
        log.warning("%s: %s", ".".join(path), err)
        return f"failed: {err}"
    return outcome
