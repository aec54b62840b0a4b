"""The CLI through Typer's test runner: help, argument errors, missing tools, missing secrets."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lakehouse.cli.app import app

runner = CliRunner()


def plain(output: str) -> str:
    """The output without rich's box drawing and line wrapping."""
    return " ".join(output.translate({ord(c): " " for c in "│╭╮╰╯─"}).split())


def stub(directory: Path, name: str, script: str = "exit 0") -> None:
    path = directory / name
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


@pytest.fixture
def bare_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A PATH with nothing on it but what a test puts there."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))
    return bin_dir


def test_help_lists_every_command() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in (
        "demo",
        "generate",
        "render",
        "manifests",
        "up",
        "preview",
        "destroy",
        "query",
        "status",
        "cluster",
        "image",
        "pipeline",
        "prepare",
    ):
        assert command in result.output


def test_subcommand_help() -> None:
    assert "--layer" in runner.invoke(app, ["pipeline", "run", "--help"]).output
    assert "--flight" in runner.invoke(app, ["query", "--help"]).output


def test_argument_errors_are_usage_errors() -> None:
    assert runner.invoke(app, ["demo", "--change-batches", "-1"]).exit_code == 2
    assert runner.invoke(app, ["nope"]).exit_code == 2


def test_query_output_must_be_csv_or_parquet() -> None:
    result = runner.invoke(app, ["query", "SELECT 1", "--output", "x.json"])
    assert result.exit_code == 2
    assert "must end in .csv or .parquet" in result.output


@pytest.mark.parametrize(
    "command", [["up"], ["status"], ["pipeline", "run"], ["query", "SELECT 1"]]
)
def test_unknown_stack_is_a_usage_error_that_lists_the_stacks(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--stack", "staging"])
    assert result.exit_code == 2
    assert "'staging' is not one of 'dev', 'prod'" in plain(result.output)
    assert "Traceback" not in result.output


def test_missing_docker_is_named(bare_path: Path) -> None:
    result = runner.invoke(app, ["cluster", "create"])
    assert result.exit_code == 1 and "`docker` is not installed" in result.output


def test_docker_without_a_daemon_is_named(bare_path: Path) -> None:
    stub(bare_path, "docker", 'echo "Cannot connect to the Docker daemon" >&2; exit 1')
    result = runner.invoke(app, ["image", "build"])
    assert result.exit_code == 1 and "daemon is not reachable" in result.output


def test_missing_kind_is_named(bare_path: Path) -> None:
    stub(bare_path, "docker", "echo 28.2.2")
    result = runner.invoke(app, ["cluster", "create"])
    assert result.exit_code == 1 and "`kind` is not installed" in result.output


def test_missing_pulumi_is_named(bare_path: Path) -> None:
    result = runner.invoke(app, ["preview", "--stack", "dev"])
    assert result.exit_code == 1 and "`pulumi` is not installed" in result.output


def test_missing_passphrase_is_named(bare_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stub(bare_path, "pulumi")
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE", raising=False)
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE_FILE", raising=False)
    result = runner.invoke(app, ["up", "--stack", "dev"])
    assert result.exit_code == 1
    assert "PULUMI_CONFIG_PASSPHRASE is not set" in result.output


def test_image_build_print_shows_the_matrix_build_args() -> None:
    result = runner.invoke(app, ["image", "build", "--print"])
    assert result.exit_code == 0
    assert "--build-arg SPARK_BASE_IMAGE=apache/spark:" in result.output
    assert "delta-spark_2.13-4.0.1.jar" in result.output


def test_generate_needs_a_target() -> None:
    result = runner.invoke(
        app,
        ["generate"],
        env={k: v for k, v in os.environ.items() if not k.startswith("LAKEHOUSE_S3")},
    )
    assert result.exit_code == 1
    assert "error: no lake named" in result.output
    assert "hint: give --local" in result.output
