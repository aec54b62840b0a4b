"""Your own files through the pipeline without a cluster, as the README shows it:
`lakehouse local up`, `lakehouse land`, `lakehouse pipeline run --local`, then read the
result with delta-rs. The CLI runs as a user runs it: in its own processes."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from deltalake import DeltaTable

pytestmark = pytest.mark.integration
LAKEHOUSE = str(Path(sys.executable).parent / "lakehouse")


@pytest.fixture
def local_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    env = {**os.environ, "LAKEHOUSE_LOCAL_DIR": str(tmp_path / "local"), "COLUMNS": "200"}
    port = str(_free_port())
    up = run(["local", "up", "--port", port], env)
    assert "endpoint:   http://127.0.0.1:" in up
    try:
        yield env
    finally:
        run(["local", "down"], env)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(args: list[str], env: dict[str, str], check: bool = True) -> str:
    result = subprocess.run(
        [LAKEHOUSE, *args], env=env, capture_output=True, text=True, check=False
    )
    output = result.stdout + result.stderr
    if check:
        assert result.returncode == 0, output
    return output


def test_a_users_own_files_land_and_flow_to_silver_and_gold(
    local_env: dict[str, str], tmp_path: Path
) -> None:
    nations = tmp_path / "nations.csv"
    nations.write_text(
        "n_nationkey,n_name,n_regionkey,n_comment\n"
        '1,ARGENTINA,1,"plain, with a comma"\n'
        "2,BRAZIL,1,\n"
        "not-a-number,CHILE,1,bad key\n"
    )
    users = tmp_path / "users.jsonl"
    users.write_text(
        '{"id": 7, "name": "Ada", "location": "Paris", "timestamp": "2025-01-01T00:00:00Z"}\n'
        '{"id": 8, "name": "Bo", "location": "Paris", "timestamp": "2025-01-02T00:00:00Z"}\n'
    )
    assert "as nation batch 1" in run(["land", "nation", str(nations), "--local"], local_env)
    assert "as users batch 1" in run(["land", "users", str(users), "--local"], local_env)
    wrong = run(["land", "users", str(nations), "--local"], local_env, check=False)
    assert "error: nations.csv: users lands json files" in wrong
    out = run(
        ["pipeline", "run", "--local", "--dataset", "nation", "--dataset", "users"], local_env
    )
    assert "bronze" in out and "silver" in out and "gold" in out
    assert "1 row(s) rejected" in out
    status = run(["local", "status"], local_env)
    endpoint = next(
        line.split()[-1] for line in status.splitlines() if line.startswith("endpoint:")
    )
    access = next(
        line.split()[-1] for line in status.splitlines() if line.startswith("access key:")
    )
    secret = next(
        line.split()[-1] for line in status.splitlines() if line.startswith("secret key:")
    )
    options = {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": access,
        "AWS_SECRET_ACCESS_KEY": secret,
        "AWS_REGION": "us-east-1",
        "AWS_ALLOW_HTTP": "true",
    }
    silver = DeltaTable("s3://lakehouse/deltalake/silver/nation", storage_options=options)
    rows = sorted(silver.to_pyarrow_table().to_pylist(), key=lambda r: r["n_nationkey"])
    assert [(r["n_nationkey"], r["n_name"], r["n_comment"]) for r in rows] == [
        (1, "ARGENTINA", "plain, with a comma"),
        (2, "BRAZIL", None),
    ]
    rejects = DeltaTable("s3://lakehouse/deltalake/silver/nation_rejects", storage_options=options)
    assert rejects.to_pyarrow_table().column("reason").to_pylist() == ["invalid_value"]
    gold = DeltaTable("s3://lakehouse/deltalake/gold/users_by_location", storage_options=options)
    assert gold.to_pyarrow_table().to_pylist()[0]["user_count"] == 2
    again = run(
        ["pipeline", "run", "--local", "--dataset", "nation", "--dataset", "users"], local_env
    )
    assert "nothing new" in again
