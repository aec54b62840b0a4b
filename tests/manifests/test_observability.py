"""What both stacks render for seeing into the lakehouse: event logs on every application,
the history server, the live UI routes, every metrics endpoint with its scraper (the dev
stack's own Prometheus, prod's PodMonitors) and the dashboards."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from lakehouse.render import Rendering, render_stack
from lakehouse_core import names, scrape
from lakehouse_core import network as flows
from lakehouse_core.paths import REPO_ROOT
from lakehouse_core.stack_config import ConfigError
from lakehouse_infra.dashboards import DASHBOARDS

from .conftest import values_of

JOBS_NS = "lakehouse-jobs"
PROD_INGRESS = yaml.safe_load((REPO_ROOT / "Pulumi.prod.yaml").read_text())["config"][
    "lakehouse:ingress"
]


def applications(rendering: Rendering) -> list[dict[str, Any]]:
    found = []
    for kind in ("SparkApplication", "ScheduledSparkApplication"):
        for app in rendering.of_kind(kind):
            found.append(app["spec"].get("template", app["spec"]))
    return found


def test_every_application_logs_its_events_and_serves_metrics(rendering: Rendering) -> None:
    apps = applications(rendering)
    assert apps
    for spec in apps:
        conf = spec["sparkConf"]
        assert conf["spark.eventLog.enabled"] == "true"
        assert conf["spark.eventLog.dir"] == "s3a://lakehouse/spark-events/"
        assert conf["spark.metrics.namespace"] == scrape.SPARK_METRICS_NAMESPACE
        assert conf["spark.ui.killEnabled"] == "false"
        env = {e["name"]: e.get("value") for e in spec["driver"]["env"]}
        assert env[names.PUSHGATEWAY_ENV].startswith("http://pushgateway.lakehouse-monitoring.svc.")


def test_the_history_server_reads_with_its_own_user(rendering: Rendering) -> None:
    deployment = rendering.find("Deployment", names.SPARK_HISTORY, JOBS_NS)
    pod = deployment["spec"]["template"]["spec"]
    [container] = pod["containers"]
    assert (
        container["image"].startswith("lakehouse/spark-jobs:") or "spark-jobs" in container["image"]
    )
    assert container["args"] == ["org.apache.spark.deploy.history.HistoryServer"]
    opts = {e["name"]: e for e in container["env"]}["SPARK_HISTORY_OPTS"]["value"]
    assert "-Dspark.history.fs.logDirectory=s3a://lakehouse/spark-events/" in opts
    assert "-Dspark.history.fs.cleaner.enabled=true" in opts
    assert "-Dspark.history.fs.cleaner.maxAge=14d" in opts
    secret = {e["name"]: e for e in container["env"]}[names.SECRET_KEY_ENV]
    assert secret["valueFrom"]["secretKeyRef"]["name"] == names.HISTORY_S3_SECRET
    assert pod["automountServiceAccountToken"] is False
    assert container["securityContext"]["readOnlyRootFilesystem"] is True


def test_dev_routes_the_uis_and_prod_only_behind_allowlists(
    renderings: dict[str, Rendering],
) -> None:
    dev, prod = renderings["dev"], renderings["prod"]
    hosts = {i["spec"]["rules"][0]["host"] for i in dev.of_kind("Ingress")}
    assert {"spark-history.localhost", "prometheus.localhost"} <= hosts
    ui = values_of(dev.release("spark-operator"))["controller"]["uiIngress"]
    assert ui["enable"] is True and ui["urlFormat"] == "{{$appName}}.spark-ui.localhost"
    prod_hosts = {i["spec"]["rules"][0]["host"] for i in prod.of_kind("Ingress")}
    assert not any("spark" in h or "prometheus" in h for h in prod_hosts)
    assert values_of(prod.release("spark-operator"))["controller"]["uiIngress"] == {"enable": False}


def test_prod_allowlists_open_the_spark_uis_behind_middlewares() -> None:
    rendering = render_stack(
        "prod",
        overrides={
            "ingress": {
                **PROD_INGRESS,
                "hosts": {**PROD_INGRESS["hosts"], "sparkHistory": "spark.example.com",
                          "sparkUi": "apps.spark.example.com"},
                "allowlists": {"sparkHistory": ["10.1.0.0/16"], "sparkUi": ["10.2.0.0/16"]},
            }
        },
    )  # fmt: skip
    history = rendering.find("Ingress", "spark-history", JOBS_NS)
    assert history["spec"]["tls"][0]["hosts"] == ["spark.example.com"]
    assert history["metadata"]["annotations"][
        "traefik.ingress.kubernetes.io/router.middlewares"
    ] == (f"{JOBS_NS}-spark-history-allowlist@kubernetescrd")
    ui = values_of(rendering.release("spark-operator"))["controller"]["uiIngress"]
    assert ui["urlFormat"] == "{{$appName}}.apps.spark.example.com"
    assert ui["annotations"]["traefik.ingress.kubernetes.io/router.middlewares"] == (
        f"{JOBS_NS}-spark-ui-allowlist@kubernetescrd"
    )
    assert ui["tls"] == [{"hosts": ["*.apps.spark.example.com"], "secretName": "spark-ui-tls"}]
    middleware = rendering.find("Middleware", "spark-ui-allowlist", JOBS_NS)
    assert middleware["spec"]["ipAllowList"]["sourceRange"] == ["10.2.0.0/16"]
    # The operator may read the Ingresses it creates (the chart's rules leave list/watch out).
    role = rendering.find("Role", "spark-operator-ui-ingress-reader", JOBS_NS)
    assert role["rules"][0]["verbs"] == ["get", "list", "watch"]


def test_dev_scrapes_every_target_with_its_own_prometheus(dev: Rendering) -> None:
    config = dev.find("ConfigMap", "prometheus-config", names.MONITORING_NAMESPACE)
    jobs = {
        j["job_name"]: j for j in yaml.safe_load(config["data"]["prometheus.yml"])["scrape_configs"]
    }
    assert set(jobs) == {t.job for t in scrape.TARGETS}
    minio = jobs["minio-cluster"]
    assert minio["authorization"]["credentials_file"].endswith("/token")
    assert minio["kubernetes_sd_configs"][0]["namespaces"]["names"] == ["lakehouse-storage"]
    deployment = dev.find("Deployment", names.PROMETHEUS, names.MONITORING_NAMESPACE)
    assert deployment["spec"]["template"]["spec"]["serviceAccountName"] == names.PROMETHEUS
    roles = [r for r in dev.of_kind("Role") if r["metadata"]["name"] == "lakehouse-prometheus"]
    assert {r["metadata"]["namespace"] for r in roles} == {
        "lakehouse-storage", "lakehouse-dremio", "lakehouse-spark", "lakehouse-ingress",
        JOBS_NS, names.MONITORING_NAMESPACE,
    }  # fmt: skip
    assert all(r["rules"] == [{"apiGroups": [""], "resources": ["pods"],
                               "verbs": ["get", "list", "watch"]}] for r in roles)  # fmt: skip
    assert not dev.of_kind("PodMonitor")


def test_prod_declares_a_pod_monitor_per_target(prod: Rendering) -> None:
    monitors = {m["metadata"]["name"]: m for m in prod.of_kind("PodMonitor")}
    assert set(monitors) == {f"lakehouse-{t.job}" for t in scrape.TARGETS}
    minio = monitors["lakehouse-minio-node"]
    [endpoint] = minio["spec"]["podMetricsEndpoints"]
    assert minio["metadata"]["namespace"] == "lakehouse-storage"
    assert endpoint["scheme"] == "https"  # prod serves MinIO over TLS inside the cluster
    assert endpoint["authorization"]["credentials"]["name"] == names.MINIO_METRICS_TOKEN_SECRET
    assert endpoint["tlsConfig"]["ca"]["configMap"]["name"] == names.CA_BUNDLE
    assert monitors["lakehouse-pipeline"]["spec"]["podMetricsEndpoints"][0]["honorLabels"]
    assert not [d for d in prod.of_kind("Deployment") if d["metadata"]["name"] == "prometheus"]
    # The NetworkPolicies admit the cluster's Prometheus, from its namespace.
    policy = prod.find("NetworkPolicy", "minio", "lakehouse-storage")
    peers = [p for rule in policy["spec"]["ingress"] for p in rule["from"]]
    assert {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}},
        "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}},
    } in peers


def test_components_serve_their_metrics_ports(rendering: Rendering) -> None:
    zk = rendering.find("StatefulSet", names.ZOOKEEPER, names.DREMIO_NAMESPACE)
    [container] = zk["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e["value"] for e in container["env"] if "value" in e}
    assert "metricsProvider.httpPort=7000" in env["ZOO_CFG_EXTRA"]
    assert {"name": "metrics", "containerPort": 7000} in container["ports"]
    conf = rendering.find("ConfigMap", "dremio-conf", names.DREMIO_NAMESPACE)["data"]["dremio.conf"]
    assert 'web-admin.host: "0.0.0.0"' in conf and "web-admin.port: 9010" in conf
    for name in (names.DREMIO_COORDINATOR, names.DREMIO_EXECUTOR):
        pod = rendering.find("StatefulSet", name, names.DREMIO_NAMESPACE)["spec"]["template"]
        [dremio] = pod["spec"]["containers"]
        assert {"name": "metrics", "containerPort": 9010} in dremio["ports"]
        assert dremio["livenessProbe"]["httpGet"] == {"path": "/live", "port": "metrics"}
    traefik = values_of(rendering.release("traefik"))
    assert traefik["metrics"]["prometheus"]["entryPoint"] == "metrics"
    operator = values_of(rendering.release("spark-operator"))
    assert operator["prometheus"]["metrics"] == {"enable": True, "port": 8080}


def test_the_dashboards_ship_as_labelled_config_maps(rendering: Rendering) -> None:
    maps = [
        c for c in rendering.of_kind("ConfigMap")
        if c["metadata"]["labels"].get("grafana_dashboard") == "1"
    ]  # fmt: skip
    assert len(maps) == len(DASHBOARDS)
    for config_map in maps:
        [(key, text)] = config_map["data"].items()
        board = json.loads(text)
        assert key == f"{board['uid']}.json"
        assert board["panels"] and all(p["targets"] for p in board["panels"])


def test_a_scraper_needs_metrics_and_only_one_scraper() -> None:
    with pytest.raises(ConfigError, match="prometheus and prometheusOperator are both on"):
        render_stack(
            "dev", overrides={"observability": {"prometheus": True, "prometheusOperator": True}}
        )
    with pytest.raises(ConfigError, match="a scraper is on but metrics is off"):
        render_stack("dev", overrides={"observability": {"metrics": False, "prometheus": True}})


def test_metrics_off_leaves_no_monitoring(dev: Rendering) -> None:
    quiet = render_stack("dev", overrides={"observability": {"metrics": False}})
    assert not [
        o for o in quiet.objects if o["metadata"].get("namespace") == names.MONITORING_NAMESPACE
    ]
    for spec in applications(quiet):
        assert "spark.metrics.namespace" not in spec["sparkConf"]
        assert names.PUSHGATEWAY_ENV not in {e["name"] for e in spec["driver"]["env"]}


def test_every_target_has_a_flow_from_the_scraper() -> None:
    """A target the NetworkPolicies do not open to Prometheus would never be scraped."""
    from lakehouse_core import network as flows

    for target in scrape.TARGETS:
        assert any(
            f.source == flows.PROMETHEUS
            and f.destination.namespace == target.role.namespace
            and set(f.destination.labels) <= set(target.role.labels)
            for f in flows.FLOWS
        ), target.job


def test_the_connect_server_reads_the_lake_and_asks_for_a_token(
    renderings: dict[str, Rendering],
) -> None:
    dev, prod = renderings["dev"], renderings["prod"]
    server = dev.find("Deployment", names.SPARK_CONNECT, JOBS_NS)
    pod = server["spec"]["template"]["spec"]
    [container] = pod["containers"]
    env = {e["name"]: e for e in container["env"]}
    token = env["SPARK_CONNECT_AUTHENTICATE_TOKEN"]["valueFrom"]["secretKeyRef"]
    assert token["name"] == names.CONNECT_TOKEN_SECRET
    assert env[names.SECRET_KEY_ENV]["valueFrom"]["secretKeyRef"]["name"] == names.CONNECT_S3_SECRET
    args = container["args"]
    confs = dict(a.split("=", 1) for a in args[args.index("--conf") + 1 :: 2] if "=" in a)
    assert confs["spark.sql.warehouse.dir"] == "s3a://lakehouse/scratch/warehouse"
    assert confs["spark.dynamicAllocation.enabled"] == "true"
    # No executor is held forever by an idle session's cache or shuffle files.
    for key in ("cachedExecutorIdleTimeout", "shuffleTracking.timeout"):
        assert confs[f"spark.dynamicAllocation.{key}"].endswith("s"), key
    assert confs["spark.connect.session.manager.defaultSessionTimeout"]
    # Its executors shuffle with each other on the port their NetworkPolicy opens (client
    # mode sets none for them: a random port, refused, as the bed's notebooks found).
    [block_manager] = flows.SPARK_BLOCK_MANAGER
    assert confs["spark.blockManager.port"] == str(block_manager.number)
    assert {confs["spark.driver.port"], confs["spark.driver.blockManager.port"]} == {
        str(p.number) for p in flows.SPARK_DRIVER_PORTS
    }
    assert not [a for a in args if "secret" in a.lower() or "token=" in a.lower()]
    assert container["readinessProbe"]["tcpSocket"]["port"] == "grpc"
    service = dev.find("Service", names.SPARK_CONNECT_SERVICE, JOBS_NS)
    assert (
        service["metadata"]["annotations"]["traefik.ingress.kubernetes.io/service.serversscheme"]
        == "h2c"
    )
    route = dev.find("Ingress", "spark-connect", JOBS_NS)
    assert route["spec"]["rules"][0]["host"] == "spark.localhost"
    # Prod runs none unless asked; asked, it is routed only behind an allowlist, with TLS.
    assert not [
        d for d in prod.of_kind("Deployment") if d["metadata"]["name"] == names.SPARK_CONNECT
    ]
    asked = render_stack("prod", overrides={
        "connect": {"enabled": True},
        "ingress": {**PROD_INGRESS, "allowlists": {"sparkConnect": ["10.3.0.0/16"]}},
    })  # fmt: skip
    routed = asked.find("Ingress", "spark-connect", JOBS_NS)
    assert routed["spec"]["tls"] and "router.middlewares" in str(routed["metadata"]["annotations"])
