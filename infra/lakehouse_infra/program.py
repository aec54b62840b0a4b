"""The Pulumi program: validate the stack's configuration, then declare and wire the systems.

Validation happens before the first resource is declared, so a bad value never leaves a
half-deployed stack behind. Each component receives its own configuration section and
the handles of what it depends on (an endpoint, a readiness resource, an image), never
the whole stack; the wiring between them is this module's only job.

``deploy()`` is what ``infra/__main__.py`` runs under ``pulumi up`` and what
``lakehouse up`` runs as an inline Automation API program.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from lakehouse_core import names
from lakehouse_core import network as flows
from lakehouse_core.images import dremio_bootstrap_image_ref, job_image_ref
from lakehouse_core.spark_applications import job_settings
from lakehouse_core.stack_config import StackConfig, parse_config
from lakehouse_infra import k8s as kube
from lakehouse_infra.credentials import LakeCredentials, spark_connect_token
from lakehouse_infra.dremio import Dremio
from lakehouse_infra.dremio_bootstrap import DremioBootstrap
from lakehouse_infra.history_server import HistoryServer
from lakehouse_infra.ingress import IngressController, Route
from lakehouse_infra.monitoring import Monitoring, Scraping
from lakehouse_infra.network import Network
from lakehouse_infra.object_store import ObjectStore, StoreCredentials
from lakehouse_infra.pipeline import Pipeline
from lakehouse_infra.spark_connect import SparkConnect
from lakehouse_infra.spark_platform import LiveUi, SparkPlatform
from lakehouse_infra.tls import InternalTls
from lakehouse_infra.zookeeper import ZooKeeper


def deploy(cfg: StackConfig | None = None) -> None:
    """Declare the stack. ``cfg``: settings already read from the stack file (``lakehouse
    up``, ``render``); without it, Pulumi's own config of the stack (``pulumi up``)."""
    cfg = cfg or pulumi_stack_config()
    settings = pulumi.Config(names.PROJECT)
    opts = _provider_options(cfg)
    credentials = LakeCredentials.create(settings, admin_user=cfg.dremio.admin_user)
    job_image = cfg.images.resolve(cfg.images.job, job_image_ref())
    bootstrap_image = cfg.images.resolve(cfg.images.dremio_bootstrap, dremio_bootstrap_image_ref())
    hosts = cfg.ingress.hosts
    network = Network.of(cfg)
    addresses = cfg.addresses
    tls = (
        InternalTls("internal-tls", cfg=cfg, config=settings, opts=opts)
        if cfg.internal_tls_on
        else None
    )

    obs, allow = cfg.observability, cfg.ingress.allowlists
    live_ui = _live_ui(cfg)
    # Traefik reads routes only where there are some.
    route_namespaces = [names.STORAGE_NAMESPACE, names.DREMIO_NAMESPACE]
    jobs_routes = obs.history_server and cfg.ui_routed(allow.spark_history)
    if live_ui or jobs_routes or cfg.connect_routed:
        route_namespaces.append(cfg.spark.jobs_namespace)
    if cfg.own_prometheus and cfg.ui_routed(allow.prometheus):
        route_namespaces.append(names.MONITORING_NAMESPACE)
    ingress = IngressController(
        "ingress",
        cfg=cfg.ingress,
        environment=cfg.environment,
        charts_dir=cfg.charts_dir,
        network=network,
        route_namespaces=route_namespaces,
        tls=tls,
        metrics=obs.metrics,
        opts=opts,
    )
    store = ObjectStore(
        "object-store",
        cfg=cfg.object_store,
        bucket=cfg.bucket,
        credentials=StoreCredentials(
            credentials.minio_root,
            credentials.spark,
            credentials.dremio,
            credentials.history,
            credentials.metrics,
            credentials.connect,
        ),
        console_url=ingress.url(hosts.console),
        network=network,
        addresses=addresses,
        tls=tls,
        opts=opts,
    )
    spark = SparkPlatform(
        "spark",
        cfg=cfg.spark,
        environment=cfg.environment,
        charts_dir=cfg.charts_dir,
        s3=credentials.spark,
        network=network,
        tls=tls,
        live_ui=live_ui,
        metrics=obs.metrics,
        opts=opts,
    )
    if live_ui and live_ui.middlewares:
        ingress.allowlist(
            "spark-ui",
            cfg.spark.jobs_namespace,
            tuple(cfg.ingress.allowlists.spark_ui),
            "spark-jobs",
            [spark.jobs_namespace],
        )
    query_namespace = kube.namespace(
        names.DREMIO_NAMESPACE, "query-engine", "restricted", opts or pulumi.ResourceOptions()
    )
    in_query = pulumi.ResourceOptions.merge(
        opts, pulumi.ResourceOptions(depends_on=[query_namespace])
    )
    network.default_deny(flows.QUERY, "query-engine", in_query)
    zookeeper = ZooKeeper(
        "zookeeper",
        cfg=cfg.zookeeper,
        namespace=query_namespace,
        network=network,
        addresses=addresses,
        metrics=obs.metrics,
        opts=opts,
    )
    dremio = Dremio(
        "dremio",
        cfg=cfg.dremio,
        bucket=cfg.bucket,
        namespace=query_namespace,
        zookeeper_connect=zookeeper.connect,
        zookeeper_host=zookeeper.client_host,
        zookeeper_ready=zookeeper.ready,
        store_endpoint_host=store.endpoint_host,
        store_ready=store.ready,
        s3=credentials.dremio,
        network=network,
        client_url=addresses.dremio_client_url(),
        trust=tls.trust(names.DREMIO_NAMESPACE, in_query) if tls else None,
        metrics=obs.metrics,
        opts=opts,
    )
    bootstrap = DremioBootstrap(
        "dremio-bootstrap",
        bucket=cfg.bucket,
        admin=credentials.dremio_admin,
        admin_email=cfg.dremio.admin_email,
        s3=credentials.dremio,
        store_endpoint_host=store.endpoint_host,
        store_ready=store.ready,
        dremio_ready=dremio.ready,
        namespace=query_namespace,
        image=bootstrap_image,
        image_pull_policy=cfg.images.pull_policy,
        network=network,
        dremio_url=addresses.dremio_client_url(),
        store_tls=addresses.minio_tls,
        opts=opts,
    )
    history = (
        HistoryServer(
            "spark-history",
            namespace=cfg.spark.jobs_namespace,
            image=job_image,
            image_pull_policy=cfg.images.pull_policy,
            bucket=cfg.bucket,
            event_log_days=obs.event_log_days,
            s3_endpoint=addresses.minio_endpoint(),
            s3=credentials.history,
            trust_cluster_ca=cfg.internal_tls_on,
            network=network,
            ready=[*spark.ready, store.ready],
            opts=opts,
        )
        if obs.history_server
        else None
    )
    monitoring = (
        Monitoring(
            "monitoring",
            scraping=Scraping(cfg.own_prometheus, cfg.monitors_on, obs.dashboards),
            namespaces=network.namespaces,
            addresses=addresses,
            minio_metrics=credentials.metrics,
            network=network,
            tls=tls,
            opts=pulumi.ResourceOptions.merge(
                opts,
                # The namespaces it reads pods in (and declares monitors in) exist first.
                pulumi.ResourceOptions(
                    depends_on=[
                        store.namespace,
                        query_namespace,
                        spark.operator_namespace,
                        spark.jobs_namespace,
                        ingress.namespace,
                    ]
                ),
            ),
        )
        if obs.metrics
        else None
    )
    connect = (
        SparkConnect(
            "spark-connect",
            cfg=cfg.connect,
            settings=job_settings(cfg, job_image),
            namespace=cfg.spark.jobs_namespace,
            service_account=cfg.spark.service_account,
            s3=credentials.connect,
            token=spark_connect_token(settings, opts or pulumi.ResourceOptions()),
            network=network,
            ready=[*spark.ready, store.ready],
            opts=opts,
        )
        if cfg.connect_on
        else None
    )
    Pipeline(
        "pipeline",
        cfg=cfg.pipeline,
        settings=job_settings(cfg, job_image),
        ready=[*spark.ready, store.ready, *([monitoring] if monitoring else [])],
        opts=opts,
    )
    for route in _routes(cfg, store, dremio, bootstrap, query_namespace):
        ingress.route(route)
    for route in _observability_routes(cfg, spark, history, monitoring):
        ingress.route(route)
    if connect is not None and cfg.connect_routed:
        ingress.route(
            Route(
                "spark-connect",
                cfg.spark.jobs_namespace,
                hosts.spark_connect,
                names.SPARK_CONNECT_SERVICE,
                names.SPARK_CONNECT_PORT,
                "spark-connect",
                [spark.jobs_namespace, connect.service],
                allowlist=tuple(allow.spark_connect),
            )
        )
        pulumi.export("sparkConnectUrl", cfg.connect_url())
    _exports(cfg, ingress, credentials, job_image, spark.jobs_namespace_name)
    _observability_exports(cfg, ingress, live_ui, history, monitoring)


def _live_ui(cfg: StackConfig) -> LiveUi | None:
    """Each running application's UI through the ingress (where the stack routes it)."""
    allowlist = cfg.ingress.allowlists.spark_ui
    if not cfg.live_ui_routed:
        return None
    tls = cfg.ingress.tls
    return LiveUi(
        domain=cfg.ingress.hosts.spark_ui,
        class_name=cfg.ingress.class_name,
        scheme="https" if tls.enabled else "http",
        middlewares=(f"{cfg.spark.jobs_namespace}-spark-ui-allowlist@kubernetescrd",)
        if allowlist
        else (),
        tls_secret=(tls.secret_name or "spark-ui-tls") if tls.enabled else None,
    )


def _observability_routes(
    cfg: StackConfig,
    spark: SparkPlatform,
    history: HistoryServer | None,
    monitoring: Monitoring | None,
) -> list[Route]:
    """The history server and the stack's Prometheus: UIs without a login of their own, so
    in prod only behind their allowlists (see StackConfig.ui_routed)."""
    hosts, allow = cfg.ingress.hosts, cfg.ingress.allowlists
    routes = []
    if history is not None and cfg.ui_routed(allow.spark_history):
        routes.append(
            Route(
                "spark-history",
                cfg.spark.jobs_namespace,
                hosts.spark_history,
                names.SPARK_HISTORY,
                names.SPARK_HISTORY_PORT,
                "spark-history",
                [spark.jobs_namespace, history.service],
                allowlist=tuple(allow.spark_history),
            )
        )
    service = monitoring.prometheus_service if monitoring else None
    if monitoring is not None and service is not None and cfg.ui_routed(allow.prometheus):
        routes.append(
            Route(
                "prometheus",
                names.MONITORING_NAMESPACE,
                hosts.prometheus,
                names.PROMETHEUS,
                names.PROMETHEUS_PORT,
                "monitoring",
                [monitoring.namespace, service],
                allowlist=tuple(allow.prometheus),
            )
        )
    return routes


def pulumi_stack_config() -> StackConfig:
    """The stack's settings as Pulumi passes them to the program, through the one reader."""
    from pulumi.runtime import config as runtime_config

    return parse_config({**runtime_config.get_config_env(), **runtime_config.CONFIG.get()})


def _provider_options(cfg: StackConfig) -> pulumi.ResourceOptions | None:
    if not cfg.kube_context:
        return None
    # Pinning the context keeps `pulumi up` of the dev stack off any other cluster.
    provider = k8s.Provider("kubernetes", context=cfg.kube_context)
    return pulumi.ResourceOptions(providers={"kubernetes": provider})


def _routes(
    cfg: StackConfig,
    store: ObjectStore,
    dremio: Dremio,
    bootstrap: DremioBootstrap,
    query_namespace: pulumi.Resource,
) -> list[Route]:
    """The hosts of the stack. Dremio's exist only once its admin does (the bootstrap Job
    has completed): a reachable Dremio without a user would take anyone's first-user
    signup. MinIO's console gets a route only where the stack exposes it."""
    hosts, allow = cfg.ingress.hosts, cfg.ingress.allowlists
    storage = [store.namespace, store.api_service, store.console_service]
    console = Route(
        "minio-console",
        names.STORAGE_NAMESPACE,
        hosts.console,
        names.MINIO_CONSOLE_SERVICE,
        names.MINIO_CONSOLE_PORT,
        "object-store",
        storage,
        allowlist=tuple(allow.console),
    )
    return [
        *([console] if cfg.console_exposed else []),
        Route(
            "minio-s3",
            names.STORAGE_NAMESPACE,
            hosts.s3,
            names.MINIO,
            names.MINIO_API_PORT,
            "object-store",
            storage,
            allowlist=tuple(allow.s3),
        ),
        Route(
            "dremio",
            names.DREMIO_NAMESPACE,
            hosts.dremio,
            names.DREMIO_CLIENT_SERVICE,
            names.DREMIO_WEB_PORT,
            "query-engine",
            [query_namespace, dremio.client_service, bootstrap.job],
            allowlist=tuple(allow.dremio),
        ),
        Route(
            "dremio-flight",
            names.DREMIO_NAMESPACE,
            hosts.flight,
            names.DREMIO_FLIGHT_SERVICE,
            names.DREMIO_FLIGHT_PORT,
            "query-engine",
            [query_namespace, dremio.flight_service, bootstrap.job],
            allowlist=tuple(allow.flight),
        ),
    ]


def _exports(
    cfg: StackConfig,
    ingress: IngressController,
    credentials: LakeCredentials,
    job_image: str,
    jobs_namespace: str,
) -> None:
    hosts = cfg.ingress.hosts
    pulumi.export("dremioUrl", ingress.url(hosts.dremio))
    pulumi.export("flightEndpoint", cfg.ingress.flight_endpoint())
    if cfg.console_exposed:
        pulumi.export("minioConsoleUrl", ingress.url(hosts.console))
    pulumi.export("s3Url", ingress.url(hosts.s3))
    pulumi.export("bucket", cfg.bucket)
    pulumi.export("jobImage", job_image)
    pulumi.export("jobsNamespace", jobs_namespace)
    pulumi.export("dremioNamespace", names.DREMIO_NAMESPACE)
    pulumi.export("storageNamespace", names.STORAGE_NAMESPACE)
    pulumi.export("dremioAdminUser", credentials.dremio_admin.user)
    pulumi.export("dremioAdminPassword", credentials.dremio_admin.password)


def _observability_exports(
    cfg: StackConfig,
    ingress: IngressController,
    live_ui: LiveUi | None,
    history: HistoryServer | None,
    monitoring: Monitoring | None,
) -> None:
    hosts, allow = cfg.ingress.hosts, cfg.ingress.allowlists
    if history is not None and cfg.ui_routed(allow.spark_history):
        pulumi.export("sparkHistoryUrl", ingress.url(hosts.spark_history))
    if live_ui is not None:
        pulumi.export("sparkUiUrl", live_ui.url("<application>"))
    own = monitoring is not None and monitoring.prometheus_service is not None
    if own and cfg.ui_routed(allow.prometheus):
        pulumi.export("prometheusUrl", ingress.url(hosts.prometheus))
