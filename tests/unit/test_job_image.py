"""The job image's Dockerfile agrees with the version matrix and with what it must contain."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import tomllib

from lakehouse import jobimage, versions
from lakehouse.paths import REPO_ROOT

DOCKERFILE = (REPO_ROOT / jobimage.DOCKERFILE).read_text()


def dockerfile_args() -> set[str]:
    return set(re.findall(r"^ARG (\w+)", DOCKERFILE, re.MULTILINE))


def test_every_build_arg_is_declared_and_every_declared_arg_is_passed() -> None:
    assert dockerfile_args() == set(jobimage.build_args())


def test_base_image_and_jars_come_from_the_matrix() -> None:
    args = jobimage.build_args()
    assert "FROM ${SPARK_BASE_IMAGE}" in DOCKERFILE
    assert args["SPARK_BASE_IMAGE"] == versions.SPARK_BASE_IMAGE.ref
    pairs = args["SPARK_EXTRA_JARS"].split()
    urls, sums = pairs[0::2], pairs[1::2]
    assert urls == [jar.url() for jar in versions.SPARK_EXTRA_JARS]
    assert sums == [jar.sha256 for jar in versions.SPARK_EXTRA_JARS]
    names = {jar.artifact for jar in versions.SPARK_EXTRA_JARS}
    assert names == {"delta-spark_2.13", "delta-storage", "hadoop-aws", "bundle"}
    assert args["DELTA_JAR"] == versions.DELTA_SPARK.filename
    assert "sha256sum -c" in DOCKERFILE


def test_dockerfile_copies_exactly_the_image_sources() -> None:
    copied: list[str] = []
    for line in re.findall(r"^COPY (.+?)(?=^\S|\Z)", DOCKERFILE, re.MULTILINE | re.DOTALL):
        parts = line.replace("\\\n", " ").split()
        copied += parts[:-1]
    expected = [s for s in jobimage.IMAGE_SOURCES if s != jobimage.DOCKERFILE]
    assert sorted(copied) == sorted(expected)


def test_image_runs_as_the_spark_user_not_root() -> None:
    assert DOCKERFILE.rstrip().splitlines()[-1] == "USER ${SPARK_UID}"
    assert jobimage.build_args()["SPARK_UID"] == "185"


def test_tag_names_spark_delta_and_the_code() -> None:
    tag = jobimage.job_image_tag()
    assert re.fullmatch(
        rf"{versions.SPARK_VERSION}-delta{versions.DELTA_VERSION}-[0-9a-f]{{12}}", tag
    )


def test_a_change_to_the_job_code_changes_the_tag(tmp_path: Path) -> None:
    for source in jobimage.IMAGE_SOURCES:
        src, dst = REPO_ROOT / source, tmp_path / source
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(src, dst)
    before = jobimage.job_image_tag(tmp_path)
    assert before == jobimage.job_image_tag()
    silver = tmp_path / "spark-apps/lakehouse_jobs/silver.py"
    silver.write_text(silver.read_text() + "\n# changed\n")
    assert jobimage.job_image_tag(tmp_path) != before


def test_image_python_packages_match_the_lock_file() -> None:
    lock = tomllib.loads((REPO_ROOT / "uv.lock").read_text())
    locked = {p["name"]: p for p in lock["package"]}
    pins = re.findall(
        r"^([a-z0-9-]+)==(\S+) --hash=sha256:([0-9a-f]{64})$",
        (REPO_ROOT / "spark-apps/requirements-image.txt").read_text(),
        re.MULTILINE,
    )
    assert {name for name, _, _ in pins} >= {"httpx", "httpcore", "h11", "anyio", "idna", "certifi"}
    for name, version, digest in pins:
        if name not in locked:
            assert name == "exceptiongroup"  # Python 3.10 only: outside the lock's range
            continue
        assert locked[name]["version"] == version, name
        hashes = {w["hash"] for w in locked[name].get("wheels", [])}
        assert f"sha256:{digest}" in hashes, name
