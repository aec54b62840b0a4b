"""The SparkApplication entry point's arguments and errors (no Spark started)."""

from __future__ import annotations

import pytest

from lakehouse_jobs.main import main, parse_args


def test_arguments() -> None:
    args = parse_args(["silver", "--bucket", "lake", "--datasets", "tpch", "users"])
    assert (args.layer, args.bucket, args.datasets) == ("silver", "lake", ["tpch", "users"])
    assert parse_args(["gold"]).bucket == "lakehouse"


def test_unknown_layer_is_an_argument_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parse_args(["platinum"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'platinum'" in capsys.readouterr().err


def test_unknown_dataset_fails_before_spark_starts(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bronze", "--datasets", "nope"]) == 2
    assert "unknown dataset 'nope'" in capsys.readouterr().err
