"""The matrix's jars exist on Maven Central with the pinned checksums (real downloads)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import delta
import pytest

from lakehouse.local.jars import ensure_spark_jars, sha256_of
from lakehouse_core import versions

pytestmark = pytest.mark.integration


def test_every_pinned_jar_downloads_and_matches_its_checksum() -> None:
    paths = ensure_spark_jars(log=lambda _m: None)
    assert [p.name for p in paths] == [j.filename for j in versions.SPARK_EXTRA_JARS]
    for path, jar in zip(paths, versions.SPARK_EXTRA_JARS, strict=True):
        assert sha256_of(path) == jar.sha256


def test_the_delta_jar_carries_the_same_python_api_as_the_wheel() -> None:
    """The job image imports `delta` from the jar (no pip there): it must be this API."""
    [jar] = [
        p for p in ensure_spark_jars(log=lambda _m: None) if p.name == versions.DELTA_SPARK.filename
    ]
    installed = Path(delta.__file__).parent
    with zipfile.ZipFile(jar) as archive:
        for module in ("tables.py", "pip_utils.py", "exceptions/__init__.py"):
            bundled = archive.read(f"delta/{module}")
            assert bundled == (installed / module).read_bytes(), module
