"""The Dremio client and bootstrap against the Dremio double (Dremio 25.2's semantics, read
from its source; a stand-in, not Dremio), over real Delta tables in a real MinIO.

With ``DREMIO_URL`` set (see conftest.py) the same bodies run against that real Dremio,
except the ``double_only`` ones. docs/dremio-contract.md gives the source line of Dremio
25.2 behind each behaviour asserted here."""

from __future__ import annotations

import datetime as dt
import threading
import time
from decimal import Decimal

import httpx
import pyarrow as pa
import pytest

from lakehouse_core.catalog import CATALOG
from lakehouse_dremio import bootstrap
from lakehouse_dremio.applied_secret import MemoryStore
from lakehouse_dremio.client import (
    DremioAuthError,
    DremioClient,
    DremioJobFailed,
    DremioNoUser,
    DremioRequestError,
    DremioTimeout,
    DremioUnavailable,
    RetryPolicy,
)
from lakehouse_dremio.flight import flight_query
from lakehouse_dremio.lake import promote_tables
from lakehouse_dremio_double.server import DremioDouble
from tests.delta_fixtures import reader3_with_empty_features

from .conftest import (
    ADMIN,
    BUCKET,
    PASSWORD,
    Dremio,
    Lake,
    client_for,
    credentials,
    logged_in,
)

double_only = pytest.mark.double_only

ORDERS = ["lake", BUCKET, "deltalake", "silver", "orders"]
ORDERS_SQL = "lake.lakehouse.deltalake.silver.orders"


def raw(dremio: Dremio, method: str, path: str, **kwargs: object) -> httpx.Response:
    return httpx.request(method, dremio.url + path, timeout=10, **kwargs)  # type: ignore[arg-type]


def promoted(client: DremioClient, path: list[str]) -> None:
    assert client.promote_delta(path, client.children(path[:-1])) == "promoted"


# --- users, login, tokens ---------------------------------------------------------------------


@double_only
def test_before_the_first_user_every_v2_call_is_refused_with_no_user_available(
    dremio: Dremio,
) -> None:
    login = raw(dremio, "POST", "/apiv2/login", json={"userName": ADMIN, "password": PASSWORD})
    assert login.status_code == 403
    assert login.json() == {"errorMessage": "No User Available", "moreInfo": "", "stackTrace": []}
    assert raw(dremio, "GET", "/apiv2/server_status").json() == "OK"
    with pytest.raises(DremioNoUser, match="has no user yet") as refused:
        client_for(dremio).login(ADMIN, PASSWORD)
    assert "bootstrap Job creates the admin user" in refused.value.hint


@double_only
def test_first_user_is_created_once(dremio: DremioDouble) -> None:
    client = client_for(dremio)
    assert client.create_first_user(ADMIN, PASSWORD, "a@b.c") is True
    assert client.create_first_user(ADMIN, PASSWORD, "a@b.c") is False
    again = raw(
        dremio, "PUT", "/apiv2/bootstrap/firstuser", json={"userName": "x", "password": "y"}
    )
    assert again.json() == {
        "errorMessage": "First user can only be created when no user is already registered",
        "moreInfo": "",
        "context": [],
    }


@double_only
def test_weak_password_is_refused_with_dremios_rule(dremio: DremioDouble) -> None:
    with pytest.raises(DremioRequestError, match="must be at least 8 letters long"):
        client_for(dremio).create_first_user(ADMIN, "short", "a@b.c")


@double_only
def test_a_wrong_password_is_a_401_that_names_the_user_and_is_not_retried(
    dremio: DremioDouble,
) -> None:
    client = client_for(dremio)
    client.create_first_user(ADMIN, PASSWORD, "a@b.c")
    with pytest.raises(
        DremioAuthError, match=f"Login failed: Invalid username or password, user {ADMIN}$"
    ):
        client.login(ADMIN, "wrong-passw0rd")
    assert dremio.faults.requests.count(("POST", "/apiv2/login")) == 1


def test_v3_needs_a_token_in_any_of_dremios_three_forms(dremio: Dremio) -> None:
    client = logged_in(dremio)
    token = client._token
    missing = raw(dremio, "GET", "/api/v3/catalog/by-path/lake")
    assert missing.status_code == 401 and missing.content == b""
    for header in (f"_dremio{token}", f"Bearer {token}", str(token)):
        answer = raw(
            dremio,
            "POST",
            "/api/v3/sql",
            json={"sql": "SELECT 1"},
            headers={"Authorization": header},
        )
        assert answer.status_code == 200, header


@double_only
def test_a_rotated_password_is_set_by_an_admin_without_the_old_one(dremio: DremioDouble) -> None:
    client = logged_in(dremio)
    client.set_password(ADMIN, "n3wPassword")
    client_for(dremio).login(ADMIN, "n3wPassword")
    with pytest.raises(DremioAuthError):
        client_for(dremio).login(ADMIN, PASSWORD)
    user = raw(
        dremio,
        "GET",
        f"/api/v3/user/by-name/{ADMIN}",
        headers={"Authorization": f"_dremio{client._token}"},
    ).json()
    renamed = raw(
        dremio,
        "PUT",
        f"/api/v3/user/{user['id']}",
        json={**user, "name": "other"},
        headers={"Authorization": f"_dremio{client._token}"},
    )
    assert renamed.status_code == 415
    assert renamed.json()["errorMessage"] == "Changing of user name is not supported"


# --- the catalog ------------------------------------------------------------------------------


def test_a_missing_path_inside_the_source_is_a_500_not_a_404(
    dremio: Dremio, with_source: DremioClient
) -> None:
    headers = {"Authorization": f"_dremio{with_source._token}"}
    missing = raw(
        dremio, "GET", "/api/v3/catalog/by-path/lake/lakehouse/deltalake/gold/nope", headers=headers
    )
    assert missing.status_code == 500
    assert missing.json()["errorMessage"] == (
        "java.io.FileNotFoundException: No such file or directory: "
        "s3a://lakehouse/deltalake/gold/nope"
    )
    no_source = raw(dremio, "GET", "/api/v3/catalog/by-path/nosuch/a", headers=headers)
    assert no_source.status_code == 404
    assert no_source.json()["errorMessage"] == "Could not find entity with path [[nosuch, a]]"
    assert with_source.catalog_by_path(["nosuch", "a"]) is None
    with pytest.raises(DremioRequestError, match="failed with 500"):
        with_source.catalog_by_path([*ORDERS[:-1], "nope"])
    # So a table is looked for among its folder's children instead:
    assert "nope" not in (with_source.children(ORDERS[:-1]) or {})
    assert with_source.children(["lake", BUCKET, "deltalake", "bronze"]) is None


def test_an_unpromoted_folder_has_no_tag_and_lists_its_children(
    with_source: DremioClient,
) -> None:
    folder = with_source.catalog_by_path(ORDERS[:-1])
    assert folder is not None
    assert (
        folder["entityType"] == "folder"
        and folder["id"] == "dremio:/lake/lakehouse/deltalake/silver"
    )
    assert "tag" not in folder
    [orders] = folder["children"]
    assert orders == {
        "id": "dremio:/lake/lakehouse/deltalake/silver/orders",
        "path": ORDERS,
        "type": "CONTAINER",
        "containerType": "FOLDER",
    }


def test_promotion_checks_id_against_path_before_the_format(
    dremio: Dremio, with_source: DremioClient
) -> None:
    headers = {"Authorization": f"_dremio{with_source._token}"}
    url = "/api/v3/catalog/dremio%3A%2Flake%2Flakehouse%2Fdeltalake%2Fsilver%2Forders"
    wrong_path = {"entityType": "dataset", "type": "PHYSICAL_DATASET", "path": ["lake", "x"]}
    answer = raw(dremio, "POST", url, json=wrong_path, headers=headers)
    assert answer.status_code == 400
    assert answer.json()["errorMessage"] == (
        "Entity id does not match the path specified in the dataset."
    )
    no_format = {**wrong_path, "path": ORDERS}
    assert raw(dremio, "POST", url, json=no_format, headers=headers).json()["errorMessage"] == (
        "To promote a dataset, format settings are required."
    )
    not_physical = {**no_format, "type": "VIRTUAL_DATASET"}
    assert (
        raw(dremio, "POST", url, json=not_physical, headers=headers).json()["errorMessage"]
        == "Promoting can only create physical datasets."
    )


def test_a_table_dremio_cannot_read_fails_the_promotion_itself(
    with_source: DremioClient, lake: Lake
) -> None:
    path = ["lake", BUCKET, "deltalake", "_fixtures", "unreadable"]
    reader3_with_empty_features(lake.fs, "/".join(path[1:]))
    with pytest.raises(DremioRequestError) as refused:
        with_source.promote_delta(path, with_source.children(path[:-1]))
    assert "Deltalake format version 3 is not supported. Please use version 2." in str(
        refused.value
    )
    assert "reader version <= 2" in refused.value.hint


def test_source_is_created_then_updated_in_place_and_a_stale_tag_is_refused(
    dremio: Dremio, with_source: DremioClient, lake: Lake
) -> None:
    source = lake.source().definition()
    before = with_source.catalog_by_path(["lake"])
    # Dremio never returns a secret it holds: a placeholder stands in its place.
    assert before is not None
    assert before["config"].get("accessSecret") == "$DREMIO_EXISTING_VALUE$"
    assert lake.endpoint.secret_key not in str(before)
    assert with_source.ensure_source({**source, "description": "v2"}) == "updated"
    after = with_source.catalog_by_path(["lake"])
    assert after is not None and after["tag"] != before["tag"]
    stale = raw(
        dremio,
        "PUT",
        f"/api/v3/catalog/{after['id']}",
        json={**source, "id": after["id"], "tag": before["tag"]},
        headers={"Authorization": f"_dremio{with_source._token}"},
    )
    assert stale.status_code == 409
    assert "has been updated, and the given configuration is out of date" in stale.text


# --- SQL jobs and results ---------------------------------------------------------------------


def test_results_carry_a_typed_schema_and_dremios_value_formats(
    with_source: DremioClient,
) -> None:
    promoted(with_source, ORDERS)
    result = with_source.sql(f"SELECT * FROM {ORDERS_SQL} ORDER BY o_orderkey")
    assert result.schema == [
        {"name": "o_orderkey", "type": {"name": "BIGINT"}},
        {"name": "o_totalprice", "type": {"name": "DECIMAL", "precision": 15, "scale": 2}},
        {"name": "o_orderdate", "type": {"name": "DATE"}},
        {"name": "o_updated", "type": {"name": "TIMESTAMP"}},
        {"name": "o_comment", "type": {"name": "VARCHAR"}},
    ]
    first = result.rows[0]
    # Dremio reads Delta timestamps at millisecond precision and writes them in UTC.
    assert first["o_updated"] == "2025-01-02 03:04:05.678"
    assert first["o_totalprice"] == Decimal("10.50") and first["o_orderdate"] == "1996-01-02"
    assert result.rows[2]["o_totalprice"] is None
    table = result.to_arrow()
    assert table.schema.field("o_totalprice").type == pa.decimal128(15, 2)
    assert table.column("o_updated")[0].as_py() == dt.datetime(2025, 1, 2, 3, 4, 5, 678000)
    assert table.column("o_comment").to_pylist() == ["first", 'it\'s "quoted"', None]


@double_only
def test_results_of_an_unfinished_job_name_its_state(
    dremio: DremioDouble, with_source: DremioClient
) -> None:
    dremio.faults.job_state = "RUNNING"
    job = with_source.submit("SELECT 1 AS one")
    with pytest.raises(DremioRequestError, match=r"a job that is in \[RUNNING\] state"):
        with_source.results(job)


@double_only
def test_invalid_state_ends_the_wait(dremio: DremioDouble, with_source: DremioClient) -> None:
    dremio.faults.job_state = "INVALID_STATE"
    started = time.monotonic()
    with pytest.raises(DremioJobFailed, match="ended INVALID_STATE") as failed:
        with_source.wait_for_job(with_source.submit("SELECT 1 AS one"), timeout=300)
    assert failed.value.state == "INVALID_STATE"
    assert time.monotonic() - started < 5


def test_a_failed_job_surfaces_dremios_message(with_source: DremioClient) -> None:
    with pytest.raises(DremioJobFailed, match="ended FAILED: Object 'nope' not found within"):
        with_source.sql("SELECT * FROM lake.lakehouse.deltalake.gold.nope")


def test_new_commits_stay_invisible_until_refresh_metadata_and_time_travel_reads_versions(
    with_source: DremioClient, lake: Lake
) -> None:
    path = ["lake", BUCKET, "deltalake", "gold", "counter"]
    lake.write("deltalake/gold/counter", pa.table({"n": pa.array([1], pa.int64())}))
    promoted(with_source, path)
    lake.write("deltalake/gold/counter", pa.table({"n": pa.array([2, 3], pa.int64())}), "append")
    count = "SELECT COUNT(*) AS c FROM lake.lakehouse.deltalake.gold.counter"
    assert with_source.sql(count).rows == [{"c": 1}]
    summary = with_source.refresh_metadata(path)
    assert summary == "Metadata for table 'lake.lakehouse.deltalake.gold.counter' refreshed."
    assert with_source.sql(count).rows == [{"c": 3}]
    assert "no refresh occurred" in with_source.refresh_metadata(path)
    then = with_source.sql(f"{count} AT SNAPSHOT '0'")
    assert then.rows == [{"c": 1}]


@double_only
def test_results_longer_than_500_rows_are_paged(
    dremio: DremioDouble, with_source: DremioClient
) -> None:
    promoted(with_source, ["lake", BUCKET, "deltalake", "gold", "big"])
    result = with_source.sql("SELECT n FROM lake.lakehouse.deltalake.gold.big ORDER BY n")
    assert [r["n"] for r in result.rows] == list(range(1234))
    assert dremio.faults.max_page_seen == 500
    with pytest.raises(ValueError, match="page_size"):
        with_source.results(result.job_id, page_size=501)


# --- retries and timeouts ---------------------------------------------------------------------


@double_only
def test_503_while_starting_is_retried_until_dremio_answers(dremio: DremioDouble) -> None:
    client = logged_in(dremio)
    dremio.faults.unavailable_requests = 2
    assert client.sql("SELECT 41 + 1 AS x").rows == [{"x": 42}]
    assert dremio.faults.unavailable_requests == 0


@double_only
def test_503_for_too_long_gives_up_with_a_clear_message(dremio: DremioDouble) -> None:
    client = logged_in(dremio)
    dremio.faults.unavailable_requests = 100
    with pytest.raises(DremioUnavailable, match=r"answered 503 MASTER_DOWN on POST /api/v3/sql"):
        client.submit("SELECT 1")


@double_only
def test_backoff_grows_between_retries(dremio: DremioDouble) -> None:
    slept: list[float] = []
    client = DremioClient(
        dremio.url,
        retry=RetryPolicy(attempts=5, initial_delay=0.5, max_delay=2.0),
        sleep=slept.append,
    )
    dremio.faults.unavailable_requests = 4
    assert client.create_first_user(ADMIN, PASSWORD, "a@b.c")
    assert slept == [0.5, 1.0, 2.0, 2.0]


@double_only
def test_a_slow_dremio_times_out(dremio: DremioDouble) -> None:
    dremio.faults.slow_seconds = 1.0
    client = DremioClient(
        dremio.url,
        timeout=0.2,
        retry=RetryPolicy(attempts=2, initial_delay=0.0),
        sleep=lambda _s: None,
    )
    with pytest.raises(DremioUnavailable, match="timed out"):
        client.create_first_user(ADMIN, PASSWORD, "a@b.c")


def test_wait_until_ready_rides_out_refused_connections(tmp_path: object) -> None:
    double = DremioDouble()
    client = DremioClient(double.url, retry=RetryPolicy(attempts=1))
    starter = threading.Timer(0.6, double.start)
    starter.start()
    try:
        started = time.monotonic()
        client.wait_until_ready(timeout=10, poll=0.1)
        assert time.monotonic() - started >= 0.5
    finally:
        starter.join()
        double.stop()


@double_only
def test_wait_until_ready_gives_up(dremio: DremioDouble) -> None:
    dremio.faults.unavailable_requests = 10_000
    with pytest.raises(DremioTimeout, match="was not ready after"):
        client_for(dremio).wait_until_ready(timeout=0.3, poll=0.05)


# --- the lake's tables and the bootstrap Job --------------------------------------------------


def test_tables_are_promoted_refreshed_or_reported_missing(with_source: DremioClient) -> None:
    catalog = CATALOG.with_bucket(BUCKET)
    first = promote_tables(with_source, catalog, ["big", "pricing_summary"])
    assert first["silver.orders"] == "promoted" and first["gold.big"] == "promoted"
    assert first["silver.lineitem"] == "missing" and first["bronze.orders"] == "missing"
    assert first["gold.pricing_summary"] == "missing"
    second = promote_tables(with_source, catalog, ["big", "pricing_summary"])
    assert second["silver.orders"] == "refreshed"


def bootstrap_env(dremio: DremioDouble, lake: Lake, password: str = PASSWORD) -> dict[str, str]:
    source = lake.source()
    return {
        "DREMIO_URL": dremio.url,
        "DREMIO_ADMIN_USER": ADMIN,
        "DREMIO_ADMIN_PASSWORD": password,
        "LAKE_BUCKET": BUCKET,
        "LAKE_S3_ENDPOINT": source.endpoint,
        "LAKE_ACCESS_KEY": source.access_key,
        "LAKE_SECRET_KEY": source.secret_key,
        "DREMIO_READY_TIMEOUT": "5",
    }


@double_only
def test_a_fresh_deploy_bootstrap_reports_unwritten_tables_as_missing_not_failed(
    dremio: DremioDouble, lake: Lake, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO")
    store = MemoryStore()
    assert bootstrap.run(bootstrap_env(dremio, lake), client_for(dremio), store) == 0
    assert "table silver.orders: promoted" in caplog.text
    assert "table bronze.orders: missing" in caplog.text
    assert "failed" not in caplog.text
    assert store.read() == PASSWORD
    assert bootstrap.run(bootstrap_env(dremio, lake), client_for(dremio), store) == 0
    assert "admin user lakehouse-admin: already exists" in caplog.text


@double_only
def test_the_bootstrap_rotates_the_admin_password_from_the_one_it_applied(
    dremio: DremioDouble, lake: Lake, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO")
    store = MemoryStore()
    assert bootstrap.run(bootstrap_env(dremio, lake), client_for(dremio), store) == 0
    rotated = bootstrap_env(dremio, lake, password="r0tatedPassword")
    assert bootstrap.run(rotated, client_for(dremio), store) == 0
    assert "password rotated" in caplog.text and store.read() == "r0tatedPassword"
    client_for(dremio).login(ADMIN, "r0tatedPassword")
    with pytest.raises(DremioAuthError):
        client_for(dremio).login(ADMIN, PASSWORD)


@double_only
def test_a_password_changed_elsewhere_fails_the_bootstrap_with_a_hint(
    dremio: DremioDouble, lake: Lake, caplog: pytest.LogCaptureFixture
) -> None:
    client_for(dremio).create_first_user(ADMIN, "0therPassword", "a@b.c")
    assert bootstrap.run(bootstrap_env(dremio, lake), client_for(dremio), MemoryStore()) == 1
    assert "no earlier password is recorded" in caplog.text
    assert "set lakehouse:dremioAdminPassword" in caplog.text


def test_bootstrap_names_missing_settings(dremio: Dremio, caplog: pytest.LogCaptureFixture) -> None:
    assert bootstrap.run({"DREMIO_URL": dremio.url}) == 2
    assert "LAKE_BUCKET" in caplog.text and "DREMIO_ADMIN_PASSWORD" in caplog.text


# --- Arrow Flight -----------------------------------------------------------------------------


def test_arrow_flight_basic_then_bearer_over_a_real_delta_table(
    dremio: Dremio, with_source: DremioClient
) -> None:
    from pyarrow import flight

    promoted(with_source, ORDERS)
    user, password = credentials(dremio)
    table = flight_query(
        dremio.flight_endpoint, user, password, f"SELECT * FROM {ORDERS_SQL} ORDER BY o_orderkey"
    )
    assert table.num_rows == 3
    assert table.schema.field("o_updated").type == pa.timestamp("ms")
    assert table.column("o_orderkey").to_pylist() == [1, 2, 3]
    with pytest.raises(flight.FlightUnauthenticatedError, match="Unable to authenticate user"):
        flight_query(dremio.flight_endpoint, user, "wrong-passw0rd", "SELECT 1")


# --- what test_real_dremio.py used to check only against a real Dremio ------------------------


def test_a_query_without_a_source_is_typed_and_timestamps_are_utc_milliseconds(
    dremio: Dremio,
) -> None:
    client = logged_in(dremio)
    result = client.sql(
        "SELECT CAST(7 AS BIGINT) AS n, CAST(1.50 AS DECIMAL(15,2)) AS price, "
        "TIMESTAMP '2025-01-02 03:04:05.678' AS at"
    )
    types = {c["name"]: c["type"]["name"] for c in result.schema}
    assert types == {"n": "BIGINT", "price": "DECIMAL", "at": "TIMESTAMP"}
    assert result.rows[0]["at"] == "2025-01-02 03:04:05.678"
    assert result.rows[0]["n"] == 7 and result.rows[0]["price"] == Decimal("1.50")


def test_a_login_with_a_wrong_password_names_the_user(dremio: Dremio) -> None:
    logged_in(dremio)  # a user exists
    with pytest.raises(DremioAuthError, match=r", user nobody-here$"):
        client_for(dremio).login("nobody-here", "wrong-passw0rd")


def test_an_unknown_source_is_a_404(dremio: Dremio) -> None:
    client = logged_in(dremio)
    assert client.catalog_by_path(["no-such-source-here", "x"]) is None
    missing = raw(
        dremio,
        "GET",
        "/api/v3/catalog/by-path/no-such-source-here/x",
        headers={"Authorization": f"_dremio{client._token}"},
    )
    assert missing.status_code == 404
    assert missing.json()["errorMessage"] == (
        "Could not find entity with path [[no-such-source-here, x]]"
    )
