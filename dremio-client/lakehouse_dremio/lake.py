"""What the lakehouse asks of Dremio: the S3 source over the bucket, and its Delta tables."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from lakehouse_core.catalog import DREMIO_SOURCE_NAME, LakeCatalog, Layer
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
                    {"name": "dremio.s3.compat", "value": "true"},
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


def lake_tables(catalog: LakeCatalog, gold_tables: Iterable[str]) -> list[tuple[Layer, str]]:
    """Every Delta table of the lake: the datasets' bronze and silver tables, then gold."""
    return [*catalog.dataset_tables(), *((Layer.GOLD, name) for name in gold_tables)]


def promote_tables(
    client: DremioClient,
    catalog: LakeCatalog,
    gold_tables: Iterable[str],
    refresh: bool = True,
) -> dict[str, str]:
    """Promote every Delta table of the lake that exists; refresh those already promoted.

    Returns table -> outcome ('promoted', 'refreshed', 'missing' or 'failed: ...').
    """
    outcomes: dict[str, str] = {}
    for layer, table in lake_tables(catalog, gold_tables):
        path = catalog.dremio_path(layer, table)
        key = f"{layer.value}.{table}"
        try:
            outcome = client.promote_delta(path)
            if outcome == "already" and refresh:
                client.refresh_metadata(path)
                outcome = "refreshed"
        except DremioError as err:
            outcome = f"failed: {err}"
            log.warning("%s: %s", key, err)
        outcomes[key] = outcome
    return outcomes
