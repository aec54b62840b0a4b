"""The Dremio client against a server that speaks Dremio's documented API, failures included."""

from __future__ import annotations

import threading
import time

import pyarrow as pa
import pytest

from lakehouse_core.catalog import CATALOG, Layer
from lakehouse_dremio import bootstrap
from lakehouse_dremio.client import (
    DremioAuthError,
    DremioClient,
    DremioJobFailed,
    DremioRequestError,
    DremioTimeout,
    DremioUnavailable,
    RetryPolicy,
    quote_path,
)
from lakehouse_dremio.flight import flight_query
from lakehouse_dremio.lake import LakeSource, promote_tables

from .fake_dremio import FakeDremio
from .fake_flight import FakeDremioFlight

ADMIN, PASSWORD = "lakehouse-admin", "s3cretPassw0rd"
NO_WAIT = RetryPolicy(attempts=4, initial_delay=0.0, max_delay=0.0)


def client_for(dremio: FakeDremio, **kwargs: object) -> DremioClient:
    return DremioClient(dremio.url, retry=NO_WAIT, sleep=lambda _s: None, **kwargs)  # type: ignore[arg-type]


def logged_in(dremio: FakeDremio) -> DremioClient:
    client = client_for(dremio)
    client.create_first_user(ADMIN, PASSWORD, "a@b.c")
    client.login(ADMIN, PASSWORD)
    return client


def test_first_user_is_created_once(dremio: FakeDremio) -> None:
    client = client_for(dremio)
    assert client.create_first_user(ADMIN, PASSWORD, "a@b.c") is True
    assert client.create_first_user(ADMIN, PASSWORD, "a@b.c") is False


def test_weak_password_is_refused_with_dremios_rule(dremio: FakeDremio) -> None:
    with pytest.raises(DremioRequestError, match="at least 8 letters long"):
        client_for(dremio).create_first_user(ADMIN, "short", "a@b.c")


def test_wrong_password_is_a_401_auth_error(dremio: FakeDremio) -> None:
    client = client_for(dremio)
    client.create_first_user(ADMIN, PASSWORD, "a@b.c")
    with pytest.raises(DremioAuthError, match="Invalid username or password"):
        client.login(ADMIN, "wrong-passw0rd")
    assert dremio.state.requests.count(("POST", "/apiv2/login")) == 1, "auth errors are not retried"


def test_calls_without_a_token_are_refused(dremio: FakeDremio) -> None:
    with pytest.raises(DremioAuthError):
        client_for(dremio).submit("SELECT 1")


def test_a_failed_job_surfaces_dremios_error_message(dremio: FakeDremio) -> None:
    dremio.state.failing_queries["SELECT * FROM nope"] = "Object 'nope' not found within 'lake'"
    with pytest.raises(DremioJobFailed, match="ended FAILED: Object 'nope' not found") as info:
        logged_in(dremio).sql("SELECT * FROM nope")
    assert info.value.state == "FAILED"


def test_503_while_starting_is_retried_until_dremio_answers(dremio: FakeDremio) -> None:
    client = logged_in(dremio)
    dremio.state.query_results["SELECT 1"] = [{"x": 1}]
    dremio.state.unavailable_requests = 2
    assert client.sql("SELECT 1").rows == [{"x": 1}]
    assert dremio.state.unavailable_requests == 0


def test_503_for_too_long_gives_up_with_a_clear_message(dremio: FakeDremio) -> None:
    client = logged_in(dremio)
    dremio.state.unavailable_requests = 100
    with pytest.raises(DremioUnavailable, match=r"answered 503 MASTER_DOWN on POST /api/v3/sql"):
        client.submit("SELECT 1")


def test_backoff_grows_between_retries(dremio: FakeDremio) -> None:
    slept: list[float] = []
    client = DremioClient(
        dremio.url,
        retry=RetryPolicy(attempts=5, initial_delay=0.5, max_delay=2.0),
        sleep=slept.append,
    )
    dremio.state.unavailable_requests = 4
    assert client.create_first_user(ADMIN, PASSWORD, "a@b.c")
    assert slept == [0.5, 1.0, 2.0, 2.0]


def test_a_slow_dremio_times_out(dremio: FakeDremio) -> None:
    dremio.state.slow_seconds = 1.0
    client = DremioClient(
        dremio.url,
        timeout=0.2,
        retry=RetryPolicy(attempts=2, initial_delay=0.0),
        sleep=lambda _s: None,
    )
    with pytest.raises(DremioUnavailable, match="timed out"):
        client.create_first_user(ADMIN, PASSWORD, "a@b.c")


def test_wait_until_ready_rides_out_refused_connections() -> None:
    server = FakeDremio()
    port = server.server.server_address[1]
    client = DremioClient(f"http://127.0.0.1:{port}", retry=NO_WAIT)
    starter = threading.Timer(0.6, server.start)
    starter.start()
    try:
        started = time.monotonic()
        client.wait_until_ready(timeout=10, poll=0.1)
        assert time.monotonic() - started >= 0.5
    finally:
        starter.join()
        server.stop()


def test_wait_until_ready_gives_up(dremio: FakeDremio) -> None:
    dremio.state.unavailable_requests = 10_000
    with pytest.raises(DremioTimeout, match="was not ready after"):
        client_for(dremio).wait_until_ready(timeout=0.3, poll=0.05)


def test_results_longer_than_500_rows_are_paged(dremio: FakeDremio) -> None:
    rows = [{"n": str(i)} for i in range(1234)]
    dremio.state.query_results["SELECT n FROM big"] = rows
    result = logged_in(dremio).sql("SELECT n FROM big")
    assert result.rows == rows and result.row_count == 1234 and result.columns == ["n"]
    assert dremio.state.max_page_seen == 500
    with pytest.raises(ValueError, match="page_size"):
        logged_in(dremio).results(result.job_id, page_size=501)


def test_source_is_created_then_updated_in_place(dremio: FakeDremio) -> None:
    client = logged_in(dremio)
    source = LakeSource("lakehouse", "minio.lakehouse-storage.svc.cluster.local:9000", "k", "s")
    assert client.ensure_source(source.definition()) == "created"
    assert client.ensure_source({**source.definition(), "description": "v2"}) == "updated"
    [entity] = [e for e in dremio.state.entities.values() if e.get("entityType") == "source"]
    assert entity["config"]["compatibilityMode"] is True
    assert {"name": "fs.s3a.path.style.access", "value": "true"} in entity["config"]["propertyList"]
    assert entity["tag"] == "1" and entity["description"] == "v2"


def test_tables_are_promoted_refreshed_or_reported_missing(dremio: FakeDremio) -> None:
    catalog = CATALOG.with_bucket("lakehouse")
    orders = catalog.dremio_path(Layer.SILVER, "orders")
    gold = catalog.dremio_path(Layer.GOLD, "pricing_summary")
    dremio.state.folders |= {tuple(orders), tuple(gold)}
    client = logged_in(dremio)
    first = promote_tables(client, catalog, ["pricing_summary"])
    assert first["silver.orders"] == "promoted" and first["gold.pricing_summary"] == "promoted"
    assert first["silver.lineitem"] == "missing"
    second = promote_tables(client, catalog, ["pricing_summary"])
    assert second["silver.orders"] == "refreshed"
    assert quote_path(orders) in dremio.state.refreshed


def test_bootstrap_job_is_safe_to_run_twice(dremio: FakeDremio) -> None:
    env = {
        "DREMIO_URL": dremio.url,
        "DREMIO_ADMIN_USER": ADMIN,
        "DREMIO_ADMIN_PASSWORD": PASSWORD,
        "LAKE_BUCKET": "lakehouse",
        "LAKE_S3_ENDPOINT": "minio:9000",
        "LAKE_ACCESS_KEY": "lakehouse-dremio",
        "LAKE_SECRET_KEY": "x" * 32,
        "DREMIO_READY_TIMEOUT": "5",
    }
    dremio.state.folders.add(tuple(CATALOG.dremio_path(Layer.GOLD, "order_status_summary")))
    assert bootstrap.run(env, client_for(dremio)) == 0
    assert bootstrap.run(env, client_for(dremio)) == 0
    assert len(dremio.state.users) == 1
    sources = [e for e in dremio.state.entities.values() if e.get("entityType") == "source"]
    assert len(sources) == 1 and sources[0]["tag"] == "1"


def test_bootstrap_names_missing_settings(
    dremio: FakeDremio, caplog: pytest.LogCaptureFixture
) -> None:
    assert bootstrap.run({"DREMIO_URL": dremio.url}) == 2
    assert "LAKE_BUCKET" in caplog.text and "DREMIO_ADMIN_PASSWORD" in caplog.text


def test_bootstrap_fails_cleanly_on_a_wrong_password(dremio: FakeDremio) -> None:
    client = client_for(dremio)
    client.create_first_user(ADMIN, "other-passw0rd", "a@b.c")
    env = {
        "DREMIO_URL": dremio.url,
        "DREMIO_ADMIN_USER": ADMIN,
        "DREMIO_ADMIN_PASSWORD": PASSWORD,
        "LAKE_BUCKET": "lakehouse",
        "LAKE_S3_ENDPOINT": "m:9000",
        "LAKE_ACCESS_KEY": "k",
        "LAKE_SECRET_KEY": "s",
        "DREMIO_READY_TIMEOUT": "5",
    }
    assert bootstrap.run(env, client_for(dremio)) == 1


def test_arrow_flight_query_with_basic_then_bearer_auth() -> None:
    table = pa.table({"nation": ["FRANCE", "PERU"], "revenue": [1.5, 2.5]})
    server = FakeDremioFlight({ADMIN: PASSWORD}, {"SELECT * FROM gold": table})
    try:
        endpoint = f"grpc+tcp://127.0.0.1:{server.port}"
        assert flight_query(endpoint, ADMIN, PASSWORD, "SELECT * FROM gold").equals(table)
        from pyarrow import flight

        with pytest.raises(flight.FlightUnauthenticatedError):
            flight_query(endpoint, ADMIN, "wrong", "SELECT * FROM gold")
    finally:
        server.shutdown()
