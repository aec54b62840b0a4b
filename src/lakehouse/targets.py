"""Which lake a command works on: the local MinIO, a deployed stack's, or an S3 endpoint.

``generate``, ``land`` and ``pipeline run --local`` all take the same three ways of naming
it, and resolve them here, once.
"""

from __future__ import annotations

from dataclasses import dataclass

from lakehouse.s3 import S3Endpoint
from lakehouse_core.errors import LakehouseError


@dataclass(frozen=True)
class Lake:
    endpoint: S3Endpoint
    bucket: str
    where: str  # for messages: "the local MinIO", "stack dev", "http://..."


class NoLakeNamed(LakehouseError):
    hint = (
        "give --local (the MinIO of `lakehouse local up`), --stack NAME (a deployed stack), "
        "or --endpoint URL with --access-key and --secret-key"
    )


def resolve(
    *,
    local: bool,
    stack: str | None,
    endpoint: str | None,
    access_key: str | None,
    secret_key: str | None,
    bucket: str | None,
) -> Lake:
    chosen = [
        name
        for name, given in (("--local", local), ("--stack", stack), ("--endpoint", endpoint))
        if given
    ]
    if len(chosen) > 1:
        raise NoLakeNamed(f"{' and '.join(chosen)} name different lakes; give one")
    if local:
        from lakehouse.local import service

        lake = service.current()
        return Lake(lake.s3(), bucket or lake.bucket, f"the local MinIO ({lake.endpoint})")
    if stack:
        return _stack_lake(stack, bucket)
    if endpoint:
        if not (access_key and secret_key):
            raise NoLakeNamed(f"--endpoint {endpoint} needs --access-key and --secret-key")
        from lakehouse_core.catalog import DEFAULT_BUCKET

        return Lake(
            S3Endpoint(endpoint, access_key, secret_key), bucket or DEFAULT_BUCKET, endpoint
        )
    raise NoLakeNamed("no lake named")


def _stack_lake(stack: str, bucket: str | None) -> Lake:
    """A deployed stack's lake, through its S3 ingress host, as the Spark user."""
    from lakehouse.ops.cluster import Cluster
    from lakehouse.ops.endpoints import ensure_resolvable
    from lakehouse.ops.stacks import load_stack_config

    cfg = load_stack_config(stack)
    creds = Cluster(cfg.kube_context).spark_s3(cfg.spark.jobs_namespace)
    url = ensure_resolvable(cfg.ingress.url(cfg.ingress.hosts.s3))
    return Lake(S3Endpoint(url, creds.user, creds.password), bucket or cfg.bucket, f"stack {stack}")
