"""The same contract against a real Dremio, for users who have one: opt in with DREMIO_URL
(and DREMIO_USER, DREMIO_PASSWORD of an existing user). Reported as not run otherwise:
where this project is built, no Dremio can run, and its contract is checked against the
double instead."""

from __future__ import annotations

import os

import pytest

from lakehouse_dremio.client import DremioAuthError, DremioClient

URL = os.environ.get("DREMIO_URL")
pytestmark = pytest.mark.skipif(
    not URL, reason="not run: set DREMIO_URL, DREMIO_USER and DREMIO_PASSWORD to a real Dremio"
)


@pytest.fixture
def client() -> DremioClient:
    assert URL
    client = DremioClient(URL)
    client.wait_until_ready(timeout=60)
    client.login(os.environ["DREMIO_USER"], os.environ["DREMIO_PASSWORD"])
    return client


def test_results_are_typed_and_timestamps_are_utc_milliseconds(client: DremioClient) -> None:
    result = client.sql(
        "SELECT CAST(7 AS BIGINT) AS n, CAST(1.50 AS DECIMAL(15,2)) AS price, "
        "TIMESTAMP '2025-01-02 03:04:05.678' AS at"
    )
    types = {c["name"]: c["type"]["name"] for c in result.schema}
    assert types == {"n": "BIGINT", "price": "DECIMAL", "at": "TIMESTAMP"}
    assert result.rows[0]["at"] == "2025-01-02 03:04:05.678"


def test_a_wrong_password_names_the_user(client: DremioClient) -> None:
    assert URL
    with pytest.raises(DremioAuthError, match=r", user nobody-here$"):
        DremioClient(URL).login("nobody-here", "wrong-passw0rd")


def test_an_unknown_source_is_a_404(client: DremioClient) -> None:
    assert client.catalog_by_path(["no-such-source-here", "x"]) is None
