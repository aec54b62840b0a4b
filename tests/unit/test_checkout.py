"""The commit the long runs' reports name (``lakehouse.checkout``)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from lakehouse import checkout
from lakehouse_core.paths import REPO_ROOT


def test_reports_name_the_commit_of_this_checkout_or_none_outside_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    head = subprocess.run(["git", "-C", str(REPO_ROOT), "log", "-1", "--format=%H"],
                          check=True, capture_output=True, text=True).stdout.strip()  # fmt: skip
    found = checkout.commit()
    assert len(found) >= 7 and head.startswith(found)
    monkeypatch.setattr(checkout, "REPO_ROOT", tmp_path)
    assert checkout.commit() == ""
