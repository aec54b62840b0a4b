"""The bootstrap Job: ``python3 -m lakehouse_dremio.bootstrap`` (the Dremio bootstrap image).

Waits for Dremio, then makes it match the stack: the admin user exists with the configured
password (created on a fresh Dremio; after a rotation, changed from the password the Job
applied last time), the lake is an S3 source with the current keys, and the Delta tables
that exist are promoted. Every step checks before it acts, so the Job can run any number
of times; tables not written yet are reported as missing, not as failures. Settings come
from the environment, which the Pulumi program fills from Secrets.
"""

from __future__ import annotations

import logging
import os
import sys

from lakehouse_core.catalog import CATALOG
from lakehouse_dremio.applied_secret import AppliedPasswordStore, MemoryStore, SecretStore
from lakehouse_dremio.client import DremioAuthError, DremioClient, DremioError
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


def ensure_admin(
    client: DremioClient, user: str, password: str, email: str, applied: AppliedPasswordStore
) -> str:
    """Log in as the admin with ``password``, creating the user or rotating its password."""
    if client.create_first_user(user, password, email):
        client.login(user, password)
        applied.write(password)
        return "created"
    try:
        client.login(user, password)
    except DremioAuthError:
        previous = applied.read()
        if not previous or previous == password:
            raise DremioAuthError(
                f"Dremio refused the configured password of {user}, and no earlier password "
                "is recorded to change it from",
                hint="the admin password was changed outside the project: set "
                "lakehouse:dremioAdminPassword to the current one, or reset it with "
                "`dremio-admin set-password` while Dremio is stopped",
            ) from None
        client.login(user, previous)
        client.set_password(user, password)
        client.login(user, password)
        applied.write(password)
        return "password rotated"
    if applied.read() != password:
        applied.write(password)
    return "already exists"


def run(
    env: dict[str, str],
    client: DremioClient | None = None,
    applied: AppliedPasswordStore | None = None,
) -> int:
    missing = [k for k in REQUIRED if not env.get(k)]
    if missing:
        log.error("missing environment variables: %s", ", ".join(missing))
        return 2
    catalog = CATALOG.with_bucket(env["LAKE_BUCKET"])
    client = client or DremioClient(env["DREMIO_URL"], timeout=30)
    if applied is None:
        secret = env.get("DREMIO_APPLIED_SECRET")
        applied = SecretStore(secret) if secret else MemoryStore()
    user, password = env["DREMIO_ADMIN_USER"], env["DREMIO_ADMIN_PASSWORD"]
    source = LakeSource(
        bucket=catalog.bucket,
        endpoint=env["LAKE_S3_ENDPOINT"],
        access_key=env["LAKE_ACCESS_KEY"],
        secret_key=env["LAKE_SECRET_KEY"],
        secure=env.get("LAKE_S3_TLS", "false") == "true",
        name=env.get("LAKE_SOURCE", "lake"),
    )
    try:
        log.info("waiting for Dremio at %s", env["DREMIO_URL"])
        client.wait_until_ready(timeout=float(env.get("DREMIO_READY_TIMEOUT", "900")))
        outcome = ensure_admin(
            client, user, password, env.get("DREMIO_ADMIN_EMAIL", "admin@lakehouse.local"), applied
        )
        log.info("admin user %s: %s", user, outcome)
        log.info("source %s: %s", source.name, client.ensure_source(source.definition()))
        outcomes = promote_tables(client, catalog)
    except DremioError as err:
        log.error("bootstrap failed: %s", err.message)
        if err.hint:
            log.error("hint: %s", err.hint)
        return 1
    for table, table_outcome in outcomes.items():
        log.info("table %s: %s", table, table_outcome)
    failed = [t for t, o in outcomes.items() if o.startswith("failed")]
    if failed:
        log.error("Dremio could not take %d table(s): %s", len(failed), ", ".join(failed))
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
