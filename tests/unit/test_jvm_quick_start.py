"""The class-data archive of short-lived local JVMs: written once, then used, never shared
between installations that could not use it."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakehouse.local import jvm


def fake_jdk(home: Path) -> Path:
    (home / "bin").mkdir(parents=True)
    (home / "bin" / "java").write_text("#!/bin/sh\n")
    (home / "bin" / "java").chmod(0o755)
    return home


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A cache folder of its own, and a JDK of its own (this tier needs none installed)."""
    monkeypatch.setenv("LAKEHOUSE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("JAVA_HOME", str(fake_jdk(tmp_path / "jdk")))
    return tmp_path


def test_the_first_run_writes_the_archive_and_later_runs_map_it() -> None:
    archive = jvm.class_data_archive("tier")
    first = jvm.class_data_sharing("tier")
    assert f"-XX:ArchiveClassesAtExit={archive}" in first
    archive.write_bytes(b"archived classes")
    later = jvm.class_data_sharing("tier")
    assert f"-XX:SharedArchiveFile={archive}" in later
    assert not any(o.startswith("-XX:ArchiveClassesAtExit") for o in later)


def test_an_empty_archive_left_by_a_killed_jvm_is_written_again() -> None:
    archive = jvm.class_data_archive("tier")
    archive.parent.mkdir(parents=True)
    archive.touch()
    assert f"-XX:ArchiveClassesAtExit={archive}" in jvm.class_data_sharing("tier")


def test_another_jvm_or_installation_gets_its_own_archive(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    here = jvm.class_data_archive("tier")
    monkeypatch.setenv("JAVA_HOME", str(fake_jdk(tmp_path / "other-jdk")))
    assert jvm.class_data_archive("tier") != here
    assert jvm.class_data_archive("other") != jvm.class_data_archive("tier")
