"""The bootstrap Job: ``python3 -m lakehouse_dremio.bootstrap`` (runs from the job image).

Waits for Dremio, creates the first admin user unless one exists, adds (or updates) the
lake's S3 source and promotes the Delta tables that exist. Every step checks before it
acts, so the Job can run any number of times. Settings come from the environment, which
the Pulumi program fills from Secrets.
"""

from __future__ import annotations

import logging
import os
import sys

from lakehouse_core.catalog import CATALOG
from lakehouse_dremio.client import DremioClient, DremioError
from lakehouse_dremio.lake import LakeSource, promote_tables

log = logging.getLogger("lakehouse_dremio.bootstrap")
REQUIRED = (
    "DREMIO_URL",
    "DREMIO_ADMIN_USER",
    "DREMIO_ADMIN_PASSWORD",
    "LAKE_BUCKET",
    "LAKE_S3_ENDPOINT",
    "LAKE_ACCESS_KEY",
    "LAKE_SECRET_KEY",
)


def run(env: dict[str, str], client: DremioClient | None = None) -> int:
    missing = [k for k in REQUIRED if not env.get(k)]
    if missing:
        log.error("missing environment variables: %s", ", ".join(missing))
        return 2
    catalog = CATALOG.with_bucket(env["LAKE_BUCKET"])
    client = client or DremioClient(env["DREMIO_URL"], timeout=30)
    user, password = env["DREMIO_ADMIN_USER"], env["DREMIO_ADMIN_PASSWORD"]
    try:
        log.info("waiting for Dremio at %s", env["DREMIO_URL"])
        client.wait_until_ready(timeout=float(env.get("DREMIO_READY_TIMEOUT", "900")))
        created = client.create_first_user(
            user, password, env.get("DREMIO_ADMIN_EMAIL", "admin@lakehouse.local")
        )
        log.info("admin user %s: %s", user, "created" if created else "already exists")
        client.login(user, password)
        source = LakeSource(
            bucket=catalog.bucket,
            endpoint=env["LAKE_S3_ENDPOINT"],
            access_key=env["LAKE_ACCESS_KEY"],
            secret_key=env["LAKE_SECRET_KEY"],
            name=env.get("LAKE_SOURCE", "lake"),
        )
        log.info("source %s: %s", source.name, client.ensure_source(source.definition()))
        for table, outcome in promote_tables(client, catalog, ()).items():
            log.info("table %s: %s", table, outcome)
    except DremioError as err:
        log.error("bootstrap failed: %s", err)
        return 1
    log.info("Dremio is ready: the lake is source %r", source.name)
    return 0


def main() -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stdout
    )
    return run(dict(os.environ))


if __name__ == "__main__":
    sys.exit(main())
