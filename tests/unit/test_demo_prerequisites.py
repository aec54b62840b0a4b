"""The demo says what is missing before it starts anything."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakehouse.demo import PrerequisiteMissing, check_java


def test_missing_java_is_named_with_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(PrerequisiteMissing, match="JDK 17"):
        check_java()


def test_java_home_is_used_when_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    java = tmp_path / "bin" / "java"
    java.parent.mkdir()
    java.write_text("")
    monkeypatch.setenv("JAVA_HOME", str(tmp_path))
    assert check_java() == str(java)
