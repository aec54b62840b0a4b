"""Finding (or building) the MinIO binary, and the errors when that is impossible."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakehouse.local import minio


def test_minio_binary_that_is_not_executable_is_named_in_the_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MINIO_BINARY", str(tmp_path / "nope"))
    with pytest.raises(minio.MinioUnavailable, match=r"MINIO_BINARY=.*nope is not an executable"):
        minio.find_minio_binary()


def test_explicit_binary_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    binary = tmp_path / "minio"
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    monkeypatch.setenv("MINIO_BINARY", str(binary))
    assert minio.find_minio_binary() == binary


def test_building_without_go_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MINIO_BINARY", raising=False)
    monkeypatch.setenv("LAKEHOUSE_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path))  # neither minio nor go
    assert minio.find_minio_binary() is None
    with pytest.raises(minio.MinioUnavailable, match="Install Go"):
        minio.ensure_minio_binary(log=lambda _m: None)


def test_credentials_are_random_and_long_enough() -> None:
    a, b = minio.MinioCredentials.generate(), minio.MinioCredentials.generate()
    assert a != b
    assert len(a.access_key) >= 3 and len(a.secret_key) >= 8
