"""Spark sessions for people: remote through a stack's Spark Connect server, or local.

``session(stack="dev")`` opens a Spark Connect session through the stack's ingress with the
stack's token; ``session(local=True)`` a Spark session on this machine against the local
lake (`lakehouse local up`). Either way ``table(spark, "silver.orders")`` reads a table of
the catalog by its name, and ``register_views(spark)`` makes each one a temporary view
(``silver_orders``) for SQL. Notebooks (notebooks/) read ``$LAKEHOUSE_SESSION``
(``local`` or a stack's name) through ``session_from_env()``.

The Connect client sends the token on every call (``authorization: Bearer ...``). Over
TLS (prod) the standard client does so itself; over the dev ingress's plain HTTP/2 it
would insist on TLS, so the channel here is built without it, the token added as call
metadata: what Spark 4.0's server checks (PreSharedKeyAuthenticationInterceptor).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, cast

from lakehouse_core.catalog import CATALOG, LakeCatalog, Layer
from lakehouse_core.errors import LakehouseError
from lakehouse_core.gold import GOLD_NAMES

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

SESSION_ENV = "LAKEHOUSE_SESSION"


class ConnectError(LakehouseError):
    """No session could be opened, or a table name is not the catalog's."""


def catalog_tables(catalog: LakeCatalog = CATALOG) -> dict[str, str]:
    """``layer.table`` -> the table's URI, for every table the pipeline writes."""
    found = {
        f"{layer.value}.{t}": catalog.table_uri(layer, t) for layer, t in catalog.dataset_tables()
    }
    found |= {f"gold.{t}": catalog.table_uri(Layer.GOLD, t) for t in GOLD_NAMES}
    return found


def table(spark: SparkSession, name: str, bucket: str | None = None) -> DataFrame:
    """A table of the lake by its catalog name (``silver.orders``)."""
    tables = catalog_tables(CATALOG.with_bucket(bucket) if bucket else CATALOG)
    uri = tables.get(name)
    if uri is None:
        raise ConnectError(
            f"there is no table {name!r} in the catalog",
            hint=f"tables: {', '.join(sorted(tables))}",
        )
    return spark.read.format("delta").load(uri)


def audit(spark: SparkSession, layer: str, bucket: str | None = None) -> DataFrame:
    """A layer's audit ledger: one row per table and batch (or gold refresh)."""
    catalog = CATALOG.with_bucket(bucket) if bucket else CATALOG
    try:
        chosen = Layer(layer)
    except ValueError:
        raise ConnectError(f"{layer!r} is not a layer", hint="bronze, silver or gold") from None
    return spark.read.format("delta").load(catalog.system_table_uri(catalog.audit_table(chosen)))


def register_views(spark: SparkSession, bucket: str | None = None) -> list[str]:
    """A temporary view per table that exists (``silver_orders``); their names."""
    made = []
    for name in catalog_tables(CATALOG.with_bucket(bucket) if bucket else CATALOG):
        try:
            table(spark, name, bucket).createOrReplaceTempView(name.replace(".", "_"))
        except Exception as err:  # a table the pipeline has not written yet
            if "is not a Delta table" in str(err) or "PATH_NOT_FOUND" in str(err):
                continue
            raise
        made.append(name.replace(".", "_"))
    return made


CONNECT_MODE_ENV = "SPARK_CONNECT_MODE_ENABLED"


def remote(url: str, token: str) -> SparkSession:
    """A Spark Connect session at ``url`` (sc://host:port[/;use_ssl=true]) with ``token``."""
    from pyspark.sql.connect.client import DefaultChannelBuilder
    from pyspark.sql.connect.session import SparkSession as RemoteSession

    # What pyspark's own builder.remote() marks: from here on, pyspark.sql.functions (F.col,
    # ...) build Connect columns; without it they look for a local SparkContext and fail.
    os.environ[CONNECT_MODE_ENV] = "1"
    secure = "use_ssl=true" in url
    if secure:
        made: Any = RemoteSession.builder.remote(f"{url};token={token}").create()
        return cast("SparkSession", made)

    class PlaintextWithToken(DefaultChannelBuilder):
        """h2c with the bearer token as call metadata (the dev ingress has no TLS)."""

        def toChannel(self) -> Any:  # noqa: N802 (pyspark's name)
            return self._insecure_channel(self.endpoint)

        def metadata(self) -> list[tuple[str, str]]:
            return [*super().metadata(), ("authorization", f"Bearer {token}")]

    made = RemoteSession.builder.channelBuilder(PlaintextWithToken(url)).create()
    return cast("SparkSession", made)


def check(spark: SparkSession, url: str) -> SparkSession:
    """Ask the server something cheap: its answer, or an error that says what failed.

    The client's own policy retries an unavailable server for ten minutes; this first call
    gives up after a few seconds (a server that is starting answers within them through the
    ingress's retry), then the session keeps the client's policy for its real work.
    """
    from pyspark.sql.connect.client.retries import DefaultPolicy

    client = getattr(spark, "client", None)
    patient = client.get_retry_policies() if client is not None else None
    if client is not None:
        client.set_retry_policies([DefaultPolicy(max_retries=4, max_backoff=2000)])
    try:
        spark.version  # noqa: B018 (a round trip)
    except Exception as err:
        text = f"{err} {err.__cause__}"
        if "UNAUTHENTICATED" in text or "authentication token" in text:
            raise ConnectError(
                f"the Spark Connect server at {url} refused the token",
                hint="the stack's token is in Secret lakehouse-connect-token (lakehouse "
                "connect prints it); a rotated token needs a new session",
            ) from None
        if any(m in text for m in ("UNAVAILABLE", "RETRIES_EXCEEDED")) or (
            "failed to connect" in text.lower()
        ):
            raise ConnectError(
                f"the Spark Connect server at {url} does not answer",
                hint="is the stack up with connect.enabled (`lakehouse status`), and does the "
                "host resolve to the ingress?",
            ) from None
        raise
    finally:
        if client is not None and patient is not None:
            client.set_retry_policies(patient)
    return spark


def stack_session(stack: str) -> SparkSession:
    """A remote session through the stack's ingress, with the stack's token."""
    from lakehouse.ops.cluster import Cluster
    from lakehouse.ops.stacks import load_stack_config
    from lakehouse_core import names

    cfg = load_stack_config(stack)
    if not cfg.connect_routed:
        raise ConnectError(
            f"stack {stack} routes no Spark Connect server",
            hint="set lakehouse:connect.enabled (prod: with ingress.allowlists.sparkConnect)",
        )
    token = Cluster(cfg.kube_context).secret(cfg.spark.jobs_namespace, names.CONNECT_TOKEN_SECRET)
    url = cfg.connect_url()
    return check(remote(url, token[names.CONNECT_TOKEN_KEY]), url)


def local_session() -> SparkSession:
    """Spark on this machine against the local lake (`lakehouse local up`)."""
    from lakehouse.local import service
    from lakehouse.local.spark import LocalSpark
    from lakehouse.local.spark import local_session as make

    lake = service.current()
    return make("lakehouse-notebook", LocalSpark(lake.s3(), cores=2, driver_memory="2g"))


def session(stack: str | None = None, *, local: bool = False) -> SparkSession:
    if local == (stack is not None):
        raise ConnectError(
            "name a stack or local, one of them", hint="session('dev') or session(local=True)"
        )
    return local_session() if local else stack_session(str(stack))


def session_from_env() -> SparkSession:
    """What ``$LAKEHOUSE_SESSION`` names: ``local``, or a stack (default: local)."""
    chosen = os.environ.get(SESSION_ENV, "local")
    return session(local=True) if chosen == "local" else session(chosen)
