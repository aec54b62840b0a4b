"""What the provisioning Job sets on the bucket and its users, on a real MinIO with the real mc."""

from __future__ import annotations

import os
import secrets
import subprocess

import pytest
from botocore.exceptions import ClientError

from lakehouse.local.minio import LocalMinio, ensure_mc_binary
from lakehouse.s3 import ObjectStore, S3Endpoint
from lakehouse_infra.metrics_token import metrics_token
from lakehouse_infra.minio_provisioning import EVENTS_MARKER, lifecycle, provision_files

from .conftest import new_lake

pytestmark = pytest.mark.integration

BUCKET = "provisioned-lake"


def test_versioning_and_the_lifecycle_rule_are_accepted_as_written(s3_endpoint: S3Endpoint) -> None:
    _, store = new_lake(s3_endpoint, "lifecycle")
    client = store.client
    client.put_bucket_versioning(Bucket=store.bucket, VersioningConfiguration={"Status": "Enabled"})
    rules = lifecycle(7)
    client.put_bucket_lifecycle_configuration(
        Bucket=store.bucket,
        LifecycleConfiguration=rules,  # type: ignore[arg-type]  # the Job's own JSON
    )
    stored = client.get_bucket_lifecycle_configuration(Bucket=store.bucket)["Rules"]
    assert stored == rules["Rules"], "MinIO dropped or changed part of the rule"
    assert client.get_bucket_versioning(Bucket=store.bucket)["Status"] == "Enabled"


@pytest.fixture(scope="module")
def provisioned(
    minio: LocalMinio, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, S3Endpoint]:
    """The provisioning Job's own script and files, run by the real mc against a real MinIO."""
    folder = tmp_path_factory.mktemp("provision")
    for name, text in provision_files(BUCKET, 7).items():
        (folder / name).write_text(text)
    users = {
        "spark": ("spark-" + secrets.token_hex(3), "-" + secrets.token_urlsafe(18)),
        "dremio": ("dremio-" + secrets.token_hex(3), secrets.token_urlsafe(18)),
        "history": ("history-" + secrets.token_hex(3), secrets.token_urlsafe(18)),
        "metrics": ("metrics-" + secrets.token_hex(3), secrets.token_urlsafe(24)),
        "connect": ("connect-" + secrets.token_hex(3), secrets.token_urlsafe(18)),
    }
    mc = ensure_mc_binary(log=lambda _m: None)
    env = {
        "PATH": f"{mc.parent}{os.pathsep}{os.environ['PATH']}",
        "PROVISION_DIR": str(folder),
        "MC_CONFIG_DIR": str(folder / ".mc"),
        "MINIO_URL": minio.endpoint,
        "BUCKET": BUCKET,
        "MINIO_ROOT_USER": minio.credentials.access_key,
        "MINIO_ROOT_PASSWORD": minio.credentials.secret_key,
        "SPARK_ACCESS_KEY": users["spark"][0],
        "SPARK_SECRET_KEY": users["spark"][1],  # starts with '-': must not read as a flag
        "DREMIO_ACCESS_KEY": users["dremio"][0],
        "DREMIO_SECRET_KEY": users["dremio"][1],
        "HISTORY_ACCESS_KEY": users["history"][0],
        "HISTORY_SECRET_KEY": users["history"][1],
        "METRICS_ACCESS_KEY": users["metrics"][0],
        "METRICS_SECRET_KEY": users["metrics"][1],
        "CONNECT_ACCESS_KEY": users["connect"][0],
        "CONNECT_SECRET_KEY": users["connect"][1],
    }
    for _ in range(2):  # a second run (a re-sync after a change) must succeed too
        run = subprocess.run(
            ["sh", str(folder / "provision.sh")],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert run.returncode == 0, run.stderr + run.stdout
    return {who: S3Endpoint(minio.endpoint, key, secret) for who, (key, secret) in users.items()}


def _can(endpoint: S3Endpoint, action: str, key: str) -> bool:
    client = ObjectStore(endpoint, BUCKET).client
    try:
        if action == "put":
            client.put_object(Bucket=BUCKET, Key=key, Body=b"x")
        elif action == "get":
            client.get_object(Bucket=BUCKET, Key=key)["Body"].read()
        elif action == "delete":
            client.delete_object(Bucket=BUCKET, Key=key)
        else:
            client.list_objects_v2(Bucket=BUCKET, Prefix=key, Delimiter="/")
    except ClientError as err:
        assert err.response["Error"]["Code"] == "AccessDenied", err
        return False
    return True


def test_the_provisioned_users_can_do_what_their_jobs_need_and_no_more(
    provisioned: dict[str, S3Endpoint], minio: LocalMinio
) -> None:
    spark, dremio = provisioned["spark"], provisioned["dremio"]
    table_file = "deltalake/silver/orders/part-0.parquet"
    assert _can(spark, "put", table_file) and _can(
        spark, "put", "landing/orders/batch=000001/a.csv"
    )
    assert _can(spark, "delete", "deltalake/silver/orders/old.parquet")
    assert not _can(spark, "put", "dremio/cache/x")
    assert not _can(spark, "list", "dremio/")
    assert _can(dremio, "get", table_file) and _can(dremio, "list", "deltalake/")
    assert not _can(dremio, "put", "deltalake/silver/orders/evil.parquet")
    assert not _can(dremio, "delete", table_file)
    assert _can(dremio, "put", "dremio/cache/x")
    assert not _can(dremio, "put", "elsewhere/x")
    # Event logs: Spark writes them, the history server reads them and cleans old ones,
    # Dremio not at all.
    event_log = "spark-events/spark-app-1/events_1_spark-app-1"
    assert _can(spark, "put", event_log) and _can(spark, "put", "spark-events/old")
    history = provisioned["history"]
    assert _can(history, "get", event_log) and _can(history, "list", "spark-events/")
    # The folder exists from the start, as a hidden marker Spark does not read as a log.
    assert _can(history, "get", f"spark-events/{EVENTS_MARKER}")
    assert not _can(history, "put", "spark-events/forged")
    assert _can(history, "delete", "spark-events/old")
    assert not _can(history, "get", table_file) and not _can(history, "list", "deltalake/")
    assert not _can(history, "delete", table_file)
    assert not _can(dremio, "get", event_log)
    # The metrics user reads no data at all.
    metrics = provisioned["metrics"]
    assert not _can(metrics, "get", table_file) and not _can(metrics, "list", "")
    # Interactive sessions read the lake and landing files, write only their scratch
    # prefix and their event logs, and never a table (the pipeline is the one writer).
    connect = provisioned["connect"]
    assert _can(connect, "get", table_file) and _can(connect, "list", "deltalake/")
    assert _can(connect, "get", "landing/orders/batch=000001/a.csv")
    assert _can(connect, "put", "scratch/warehouse/t/part-0.parquet")
    assert _can(connect, "delete", "scratch/warehouse/t/part-0.parquet")
    assert _can(connect, "put", "spark-events/connect-app/events_1")
    assert not _can(connect, "put", "deltalake/silver/orders/evil.parquet")
    assert not _can(connect, "delete", table_file)
    assert not _can(connect, "put", "landing/orders/batch=000009/evil.csv")
    assert not _can(connect, "put", "dremio/cache/x") and not _can(connect, "list", "dremio/")


def test_the_metrics_token_opens_minio_metrics_and_nothing_else(
    provisioned: dict[str, S3Endpoint], minio: LocalMinio
) -> None:
    """The token the stack signs for its metrics user is what MinIO's endpoint wants;
    without it, or signed with another key, MinIO refuses."""
    import httpx

    metrics = provisioned["metrics"]
    url = f"{minio.endpoint}/minio/v2/metrics/cluster"

    def scrape(token: str | None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.get(url, headers=headers, timeout=30)

    good = scrape(metrics_token(metrics.access_key, metrics.secret_key))
    assert good.status_code == 200, good.text
    assert "minio_cluster_capacity_usable_total_bytes" in good.text
    for bad in (None, metrics_token(metrics.access_key, "not-its-secret-key-at-all")):
        refused = scrape(bad)
        assert refused.status_code == 403, refused.text
        assert "minio_cluster" not in refused.text
    # Another user's own key signs a token MinIO refuses: it may not read metrics.
    spark = provisioned["spark"]
    assert scrape(metrics_token(spark.access_key, spark.secret_key)).status_code == 403


def test_dremio_may_browse_the_bucket_root_but_not_list_below_it(
    provisioned: dict[str, S3Endpoint],
) -> None:
    """Dremio lists a source from its root, one level deep; nothing else of the root."""
    dremio = ObjectStore(provisioned["dremio"], BUCKET).client
    top = dremio.list_objects_v2(Bucket=BUCKET, Delimiter="/")
    assert {p["Prefix"] for p in top.get("CommonPrefixes", [])} >= {"deltalake/", "landing/"}
    with pytest.raises(ClientError):
        dremio.list_objects_v2(Bucket=BUCKET)  # recursive: every key of the bucket


def test_the_bucket_is_versioned_with_the_lifecycle_rule(
    provisioned: dict[str, S3Endpoint], s3_endpoint: S3Endpoint
) -> None:
    root = ObjectStore(s3_endpoint, BUCKET).client
    assert root.get_bucket_versioning(Bucket=BUCKET)["Status"] == "Enabled"
    assert root.get_bucket_lifecycle_configuration(Bucket=BUCKET)["Rules"] == lifecycle(7)["Rules"]
