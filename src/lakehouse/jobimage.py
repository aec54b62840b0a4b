"""The Spark job image: what goes into it, its build arguments and its tag.

The tag is derived from the version matrix and a hash of every file the Dockerfile copies,
so a change to the job code yields a new tag (kind never runs a stale image with
``IfNotPresent``), and the SparkApplication manifests name exactly the image built from
the code next to them.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from lakehouse import versions
from lakehouse.paths import REPO_ROOT

DOCKERFILE = "spark-apps/Dockerfile"
# Everything the Dockerfile copies (relative to the repository root), and nothing else.
IMAGE_SOURCES: tuple[str, ...] = (
    DOCKERFILE,
    "spark-apps/requirements-image.txt",
    "spark-apps/run_job.py",
    "spark-apps/lakehouse_jobs",
    "src/lakehouse/__init__.py",
    "src/lakehouse/catalog.py",
    "src/lakehouse/versions.py",
    "src/lakehouse/paths.py",
    "src/lakehouse/s3.py",
    "src/lakehouse/dremio",
)
# Where the image keeps the project's Python code (on PYTHONPATH) and the entry point.
IMAGE_PYTHON_DIR = "/opt/lakehouse/python"
IMAGE_ENTRYPOINT = "/opt/lakehouse/run_job.py"
MAIN_APPLICATION_FILE = f"local://{IMAGE_ENTRYPOINT}"


def image_files(root: Path = REPO_ROOT) -> list[Path]:
    files: list[Path] = []
    for source in IMAGE_SOURCES:
        path = root / source
        if path.is_dir():
            files += sorted(
                p
                for p in path.rglob("*")
                if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
            )
        elif path.is_file():
            files.append(path)
        else:
            raise FileNotFoundError(f"the job image needs {source}, which does not exist")
    return files


def code_hash(root: Path = REPO_ROOT) -> str:
    digest = hashlib.sha256()
    for path in image_files(root):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    for jar in versions.SPARK_EXTRA_JARS:
        digest.update(f"{jar.coordinate}:{jar.sha256}".encode())
    digest.update(versions.SPARK_BASE_IMAGE.ref.encode())
    return digest.hexdigest()


def job_image_tag(root: Path = REPO_ROOT) -> str:
    return f"{versions.SPARK_VERSION}-delta{versions.DELTA_VERSION}-{code_hash(root)[:12]}"


def job_image_ref(root: Path = REPO_ROOT) -> str:
    return f"{versions.JOB_IMAGE_REPOSITORY}:{job_image_tag(root)}"


def build_args(maven_repository: str = versions.MAVEN_CENTRAL) -> dict[str, str]:
    """``docker build --build-arg`` values: the Dockerfile has no version of its own."""
    return {
        "SPARK_BASE_IMAGE": versions.SPARK_BASE_IMAGE.ref,
        # One "url sha256" pair per jar, space separated; the Dockerfile verifies each.
        "SPARK_EXTRA_JARS": " ".join(
            f"{jar.url(maven_repository)} {jar.sha256}" for jar in versions.SPARK_EXTRA_JARS
        ),
        "DELTA_JAR": versions.DELTA_SPARK.filename,
        "SPARK_UID": "185",
    }
