"""The project's Dockerfiles agree with the version matrix and copy exactly what they must."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import tomllib

from lakehouse_core import versions
from lakehouse_core.images import (
    DREMIO_BOOTSTRAP_IMAGE,
    JOB_IMAGE,
    PROJECT_IMAGES,
    ProjectImage,
    build_args,
)
from lakehouse_core.paths import REPO_ROOT


def dockerfile(image: ProjectImage) -> str:
    return (REPO_ROOT / image.dockerfile).read_text()


def copied_sources(text: str) -> list[str]:
    copied: list[str] = []
    for line in re.findall(r"^COPY (.+?)(?=^\S|\Z)", text, re.MULTILINE | re.DOTALL):
        parts = line.replace("\\\n", " ").split()
        copied += parts[:-1]
    return copied


@pytest.mark.parametrize("image", PROJECT_IMAGES, ids=lambda i: i.repository)
def test_every_build_arg_is_declared_and_every_declared_arg_is_passed(image: ProjectImage) -> None:
    declared = set(re.findall(r"^ARG (\w+)", dockerfile(image), re.MULTILINE))
    assert declared == set(image.build_args())


@pytest.mark.parametrize("image", PROJECT_IMAGES, ids=lambda i: i.repository)
def test_dockerfile_copies_exactly_the_image_sources(image: ProjectImage) -> None:
    assert sorted(copied_sources(dockerfile(image))) == sorted(image.sources)


@pytest.mark.parametrize("image", PROJECT_IMAGES, ids=lambda i: i.repository)
def test_image_runs_as_the_spark_user_not_root(image: ProjectImage) -> None:
    assert dockerfile(image).rstrip().splitlines()[-1] == "USER ${SPARK_UID}"
    assert image.build_args()["SPARK_UID"] == "185"
    assert "FROM ${SPARK_BASE_IMAGE}" in dockerfile(image)


def test_the_job_image_carries_the_jobs_and_no_client_of_anything() -> None:
    sources = JOB_IMAGE.sources
    assert "spark-apps/lakehouse_jobs" in sources
    assert not [s for s in sources if s.startswith(("src/", "dremio-client/", "infra/"))]
    assert "core/lakehouse_core/stack_config.py" not in sources


def test_base_image_and_jars_come_from_the_matrix() -> None:
    args = build_args()
    assert args["SPARK_BASE_IMAGE"] == versions.SPARK_BASE_IMAGE.ref
    pairs = args["SPARK_EXTRA_JARS"].split()
    urls, sums = pairs[0::2], pairs[1::2]
    assert urls == [jar.url() for jar in versions.SPARK_EXTRA_JARS]
    assert sums == [jar.sha256 for jar in versions.SPARK_EXTRA_JARS]
    names = {jar.artifact for jar in versions.SPARK_EXTRA_JARS}
    assert names == {"delta-spark_2.13", "delta-storage", "hadoop-aws", "bundle"}
    assert args["DELTA_JAR"] == versions.DELTA_SPARK.filename
    assert "sha256sum -c" in dockerfile(JOB_IMAGE)


@pytest.mark.parametrize("image", PROJECT_IMAGES, ids=lambda i: i.repository)
def test_tag_names_spark_delta_and_the_code(image: ProjectImage) -> None:
    assert re.fullmatch(
        rf"{versions.SPARK_VERSION}-delta{versions.DELTA_VERSION}-[0-9a-f]{{12}}", image.tag()
    )


def _copy_sources(image: ProjectImage, root: Path) -> None:
    for source in (image.dockerfile, *image.sources):
        src, dst = REPO_ROOT / source, root / source
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(src, dst)


def test_a_change_to_the_job_code_changes_the_job_tag_only(tmp_path: Path) -> None:
    for image in PROJECT_IMAGES:
        _copy_sources(image, tmp_path)
    job_before, bootstrap_before = JOB_IMAGE.tag(tmp_path), DREMIO_BOOTSTRAP_IMAGE.tag(tmp_path)
    assert job_before == JOB_IMAGE.tag()
    silver = tmp_path / "spark-apps/lakehouse_jobs/silver.py"
    silver.write_text(silver.read_text() + "\n# changed\n")
    assert JOB_IMAGE.tag(tmp_path) != job_before
    assert DREMIO_BOOTSTRAP_IMAGE.tag(tmp_path) == bootstrap_before
    catalog = tmp_path / "core/lakehouse_core/catalog.py"
    catalog.write_text(catalog.read_text() + "\n# changed\n")
    assert DREMIO_BOOTSTRAP_IMAGE.tag(tmp_path) != bootstrap_before


def test_bootstrap_image_python_packages_match_the_lock_file() -> None:
    lock = tomllib.loads((REPO_ROOT / "uv.lock").read_text())
    locked = {p["name"]: p for p in lock["package"]}
    pins = re.findall(
        r"^([a-z0-9-]+)==(\S+) --hash=sha256:([0-9a-f]{64})$",
        (REPO_ROOT / "dremio-client/requirements-image.txt").read_text(),
        re.MULTILINE,
    )
    assert {name for name, _, _ in pins} >= {"httpx", "httpcore", "h11", "anyio", "tenacity"}
    for name, version, digest in pins:
        if name not in locked:
            assert name == "exceptiongroup"  # Python 3.10 only: outside the lock's range
            continue
        assert locked[name]["version"] == version, name
        hashes = {w["hash"] for w in locked[name].get("wheels", [])}
        assert f"sha256:{digest}" in hashes, name
