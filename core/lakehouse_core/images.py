"""The project's own images: what goes into each, its build arguments and its tag.

Two images are built from this checkout:

* the **job image** (spark-apps/Dockerfile): the Spark base image plus the Delta and S3A
  jars, the job package and the pure-Python part of the core it imports: nothing else;
* the **Dremio bootstrap image** (dremio-client/Dockerfile): the same base plus the core
  and the Dremio client, for the Job that wires Dremio to the lake.

A tag is derived from the version matrix and a hash of every file the image copies, so a
change to the code yields a new tag (kind never runs a stale image with ``IfNotPresent``)
and the SparkApplication manifests name exactly the image built from the code beside them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from lakehouse_core import versions
from lakehouse_core.paths import REPO_ROOT

# The core modules the jobs import: standard library only, so they run on any python3.
IMAGE_CORE_MODULES: tuple[str, ...] = (
    "core/lakehouse_core/__init__.py",
    "core/lakehouse_core/backup_layout.py",
    "core/lakehouse_core/catalog.py",
    "core/lakehouse_core/errors.py",
    "core/lakehouse_core/gold.py",
    "core/lakehouse_core/names.py",
    "core/lakehouse_core/spark_conf.py",
    "core/lakehouse_core/versions.py",
)
# Where an image keeps the project's Python code (on PYTHONPATH).
IMAGE_PYTHON_DIR = "/opt/lakehouse/python"
IMAGE_ENTRYPOINT = "/opt/lakehouse/run_job.py"
MAIN_APPLICATION_FILE = f"local://{IMAGE_ENTRYPOINT}"


@dataclass(frozen=True)
class ProjectImage:
    """One image built from this checkout."""

    repository: str
    dockerfile: str
    # Everything the Dockerfile copies (relative to the repository root), and nothing else.
    sources: tuple[str, ...]
    # The build arguments its Dockerfile declares (values from ``build_args``).
    arg_names: tuple[str, ...]

    def build_args(self, maven_repository: str = versions.MAVEN_CENTRAL) -> dict[str, str]:
        every = build_args(maven_repository)
        return {name: every[name] for name in self.arg_names}

    def files(self, root: Path = REPO_ROOT) -> list[Path]:
        files: list[Path] = []
        for source in (self.dockerfile, *self.sources):
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
                raise FileNotFoundError(
                    f"the image {self.repository} needs {source}, which does not exist"
                )
        return files

    def code_hash(self, root: Path = REPO_ROOT) -> str:
        digest = hashlib.sha256()
        for path in self.files(root):
            digest.update(path.relative_to(root).as_posix().encode())
            digest.update(b"\0")
            digest.update(path.read_bytes())
            digest.update(b"\0")
        for key, value in sorted(self.build_args().items()):
            digest.update(f"{key}={value}".encode())
        return digest.hexdigest()

    def tag(self, root: Path = REPO_ROOT) -> str:
        return f"{versions.SPARK_VERSION}-delta{versions.DELTA_VERSION}-{self.code_hash(root)[:12]}"

    def ref(self, root: Path = REPO_ROOT) -> str:
        return f"{self.repository}:{self.tag(root)}"


JOB_IMAGE = ProjectImage(
    repository=versions.JOB_IMAGE_REPOSITORY,
    dockerfile="spark-apps/Dockerfile",
    sources=("spark-apps/run_job.py", "spark-apps/lakehouse_jobs", *IMAGE_CORE_MODULES),
    arg_names=(
        "SPARK_BASE_IMAGE",
        "SPARK_EXTRA_JARS",
        "DELTA_JAR",
        "SPARK_UID",
        "LAKEHOUSE_VERSION",
    ),
)

DREMIO_BOOTSTRAP_IMAGE = ProjectImage(
    repository=versions.DREMIO_BOOTSTRAP_IMAGE_REPOSITORY,
    dockerfile="dremio-client/Dockerfile",
    sources=(
        "dremio-client/requirements-image.txt",
        "dremio-client/lakehouse_dremio",
        *IMAGE_CORE_MODULES,
    ),
    arg_names=("SPARK_BASE_IMAGE", "SPARK_UID", "LAKEHOUSE_VERSION"),
)

PROJECT_IMAGES = (JOB_IMAGE, DREMIO_BOOTSTRAP_IMAGE)


def job_image_ref(root: Path = REPO_ROOT) -> str:
    return JOB_IMAGE.ref(root)


def dremio_bootstrap_image_ref(root: Path = REPO_ROOT) -> str:
    return DREMIO_BOOTSTRAP_IMAGE.ref(root)


def build_args(maven_repository: str = versions.MAVEN_CENTRAL) -> dict[str, str]:
    """``--build-arg`` values: the Dockerfiles name no version of their own."""
    return {
        "SPARK_BASE_IMAGE": versions.SPARK_BASE_IMAGE.ref,
        # One "url sha256" pair per jar, space separated; the Dockerfile verifies each.
        "SPARK_EXTRA_JARS": " ".join(
            f"{jar.url(maven_repository)} {jar.sha256}" for jar in versions.SPARK_EXTRA_JARS
        ),
        "DELTA_JAR": versions.DELTA_SPARK.filename,
        "SPARK_UID": "185",
        # The release the image belongs to (its org.opencontainers.image.version label).
        "LAKEHOUSE_VERSION": release_version(),
    }


def release_version() -> str:
    """This checkout's release (``version`` in pyproject.toml, as installed)."""
    from importlib.metadata import version

    return version("lakehouse")
