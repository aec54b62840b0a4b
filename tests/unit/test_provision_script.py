"""The MinIO provisioning script, run by /bin/sh against a stand-in `mc` that records its calls.

What it proves without a MinIO: secret keys reach `mc` on standard input, never as
arguments (so a hand-set password starting with '-' is not read as a flag, and no key shows
in the process list), and a re-run where the policy is already attached does not fail.
The real `mc` runs this script in `make cluster-test`.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest

from lakehouse_infra.minio_provisioning import PROVISION_SCRIPT

FAKE_MC = """#!/bin/sh
# Records argv and stdin of every call as one JSON line; answers like mc would.
stdin=""
if [ ! -t 0 ]; then stdin=$(cat); fi
python3 - "$@" <<'PY' "$stdin"
import json, os, sys
with open(os.environ["MC_CALLS"], "a") as log:
    log.write(json.dumps({"argv": sys.argv[1:-1], "stdin": sys.argv[-1]}) + "\\n")
PY
case "$*" in
  *"policy attach"*) if [ -n "$ATTACHED" ]; then
      echo "mc: <ERROR> The specified policy change is already in effect." >&2
      exit 1
    fi ;;
esac
exit 0
"""


def run_script(tmp_path: Path, *, attached: bool) -> list[dict[str, Any]]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    mc = bin_dir / "mc"
    mc.write_text(FAKE_MC)
    mc.chmod(mc.stat().st_mode | stat.S_IEXEC)
    provision = tmp_path / "provision"
    provision.mkdir(exist_ok=True)
    for name in (
        "spark-policy.json",
        "dremio-policy.json",
        "history-policy.json",
        "metrics-policy.json",
        "connect-policy.json",
        "lifecycle.json",
    ):
        (provision / name).write_text("{}")
    script = tmp_path / "provision.sh"
    script.write_text(PROVISION_SCRIPT)
    calls = tmp_path / "calls.jsonl"
    calls.unlink(missing_ok=True)
    env = {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "MC_CALLS": str(calls),
        "PROVISION_DIR": str(provision),
        "MINIO_URL": "http://minio:9000",
        "BUCKET": "lakehouse",
        "MINIO_ROOT_USER": "lakehouse-root",
        "MINIO_ROOT_PASSWORD": "-root secret with spaces",
        "SPARK_ACCESS_KEY": "lakehouse-spark",
        "SPARK_SECRET_KEY": "--spark-secret",
        "DREMIO_ACCESS_KEY": "lakehouse-dremio",
        "DREMIO_SECRET_KEY": "-d",
        "HISTORY_ACCESS_KEY": "lakehouse-history",
        "HISTORY_SECRET_KEY": "-history key",
        "METRICS_ACCESS_KEY": "lakehouse-metrics",
        "METRICS_SECRET_KEY": "--metrics",
        "CONNECT_ACCESS_KEY": "lakehouse-connect",
        "CONNECT_SECRET_KEY": "-connect key",
        **({"ATTACHED": "1"} if attached else {}),
    }
    result = subprocess.run(
        ["/bin/sh", str(script)], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in calls.read_text().splitlines()]


@pytest.mark.parametrize("attached", [False, True], ids=["first run", "re-run"])
def test_secret_keys_go_to_mc_on_stdin_never_as_arguments(tmp_path: Path, attached: bool) -> None:
    calls = run_script(tmp_path, attached=attached)
    secrets = (
        "-root secret with spaces",
        "--spark-secret",
        "-d",
        "-history key",
        "--metrics",
        "-connect key",
    )
    for call in calls:
        assert not set(call["argv"]) & set(secrets), call
    alias = next(c for c in calls if c["argv"][:2] == ["alias", "set"])
    assert alias["stdin"] == "lakehouse-root\n-root secret with spaces"
    users = [c for c in calls if c["argv"][:3] == ["admin", "user", "add"]]
    assert [(u["argv"][-1], u["stdin"]) for u in users] == [
        ("lakehouse-spark", "--spark-secret"),
        ("lakehouse-dremio", "-d"),
        ("lakehouse-history", "-history key"),
        ("lakehouse-metrics", "--metrics"),
        ("lakehouse-connect", "-connect key"),
    ]
