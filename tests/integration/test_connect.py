"""Spark Connect sessions through `lakehouse.connect`, against a real Spark Connect server
(Spark's own SparkConnectServer, started here as the stack starts it, with its pre-shared
token) over a real MinIO: a table by its name, time travel, and each way a session fails
to open, said in one line."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pyspark
import pytest
from pyspark.sql import SparkSession

from lakehouse.connect import CONNECT_MODE_ENV, ConnectError, check, remote, table
from lakehouse.local.jars import ensure_spark_jars
from lakehouse.local.spark import LocalSpark
from lakehouse.s3 import S3Endpoint
from lakehouse_core.catalog import Layer
from lakehouse_core.spark_conf import SESSION_CONF

from .conftest import new_lake

pytestmark = pytest.mark.integration


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(
    s3_endpoint: S3Endpoint, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str]]:
    """A Connect server on 127.0.0.1 with a token; its URL and token."""
    token, port = secrets.token_urlsafe(24), free_port()
    conf = {**SESSION_CONF, **LocalSpark(s3_endpoint, cores=1, driver_memory="1g").conf(),
            "spark.connect.grpc.binding.port": str(port),
            "spark.connect.grpc.binding.address": "127.0.0.1"}  # fmt: skip
    conf.pop("spark.master", None)
    submit = Path(pyspark.__file__).parent / "bin" / "spark-submit"
    argv = [str(submit), "--master", "local[1]", "--class",
            "org.apache.spark.sql.connect.service.SparkConnectServer"]  # fmt: skip
    for key, value in conf.items():
        argv += ["--conf", f"{key}={value}"]
    jars = os.pathsep.join(str(j) for j in ensure_spark_jars(log=lambda _m: None))
    env = {**os.environ, "SPARK_CONNECT_AUTHENTICATE_TOKEN": token, "SPARK_DIST_CLASSPATH": jars}
    log = tmp_path_factory.mktemp("connect") / "server.log"
    with log.open("w") as out:
        process = subprocess.Popen([*argv, "spark-internal"], env=env, stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + 180
        while True:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert process.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, "the Connect server did not listen"
            time.sleep(1)
        yield f"sc://127.0.0.1:{port}", token
    finally:
        process.terminate()
        process.wait(timeout=60)


@pytest.fixture(scope="module")
def lake(spark: SparkSession, s3_endpoint: S3Endpoint) -> str:
    """A bucket with silver.nation at two versions."""
    catalog, _ = new_lake(s3_endpoint, "connect")
    uri = catalog.table_uri(Layer.SILVER, "nation")
    first = spark.createDataFrame(
        [(1, "ARGENTINA"), (2, "BRAZIL")], "n_nationkey INT, n_name STRING"
    )
    first.write.format("delta").save(uri)
    spark.createDataFrame([(3, "CANADA")], "n_nationkey INT, n_name STRING").write.format(
        "delta"
    ).mode("append").save(uri)
    return catalog.bucket


@pytest.fixture(autouse=True)
def classic_mode_afterwards() -> Iterator[None]:
    """A remote session marks the process as a Connect client (as pyspark's builder does);
    the other tests in this process use a local session."""
    yield
    os.environ.pop(CONNECT_MODE_ENV, None)


def test_a_session_reads_a_table_by_name_and_travels_in_time(
    server: tuple[str, str], lake: str
) -> None:
    from pyspark.sql import functions as F

    url, token = server
    spark = check(remote(url, token), url)
    try:
        nation = table(spark, "silver.nation", bucket=lake)
        assert nation.count() == 3
        # The functions a notebook imports build Connect columns (a local session runs in
        # this process too: they must not reach for it).
        assert nation.where(F.col("n_nationkey") >= 2).count() == 2
        uri = f"s3a://{lake}/deltalake/silver/nation"
        then = spark.read.format("delta").option("versionAsOf", 0).load(uri)
        assert sorted(r.n_name for r in then.collect()) == ["ARGENTINA", "BRAZIL"]
        with pytest.raises(ConnectError, match=r"no table 'silver\.nope' in the catalog") as err:
            table(spark, "silver.nope", bucket=lake)
        assert "silver.orders" in (err.value.hint or "")
    finally:
        spark.stop()


def test_a_wrong_token_is_refused_in_one_line(server: tuple[str, str]) -> None:
    url, _ = server
    with pytest.raises(ConnectError, match="refused the token"):
        check(remote(url, "not-the-token"), url)


def test_a_server_that_does_not_answer_is_named(server: tuple[str, str]) -> None:
    url = f"sc://127.0.0.1:{free_port()}"
    with pytest.raises(ConnectError, match="does not answer"):
        check(remote(url, "any"), url)
