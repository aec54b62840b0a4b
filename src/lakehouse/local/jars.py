"""The Spark jars of the version matrix, downloaded once from Maven Central and verified.

Local sessions put exactly these files on the classpath, the same list the job image
bakes in, so what runs on a laptop is what runs in the cluster. A checksum mismatch is an
error, never a warning.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from lakehouse_core import versions
from lakehouse_core.errors import LakehouseError
from lakehouse_core.paths import cache_dir

# Spark's logging for sessions on one machine: errors only (the jobs report progress).
LOG4J_CONFIG = Path(__file__).with_name("log4j2-local.properties")


class JarUnavailable(LakehouseError):
    pass


def maven_repository() -> str:
    return os.environ.get("LAKEHOUSE_MAVEN_REPO", versions.MAVEN_CENTRAL).rstrip("/")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def ensure_jar(jar: versions.MavenJar, log: Callable[[str], None] = print) -> Path:
    target = cache_dir() / "jars" / jar.filename
    if target.is_file() and sha256_of(target) == jar.sha256:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    url = jar.url(maven_repository())
    log(f"downloading {jar.coordinate} from {url}")
    with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as tmp:
        try:
            with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 (https)
                shutil.copyfileobj(response, tmp, 1 << 20)
        except (urllib.error.URLError, TimeoutError) as err:
            Path(tmp.name).unlink(missing_ok=True)
            raise JarUnavailable(
                f"could not download {url}: {err}. Set LAKEHOUSE_MAVEN_REPO to a reachable "
                "Maven mirror, or put the jar at " + str(target)
            ) from err
    actual = sha256_of(Path(tmp.name))
    if actual != jar.sha256:
        Path(tmp.name).unlink(missing_ok=True)
        raise JarUnavailable(
            f"{url} has sha256 {actual}, but the version matrix pins {jar.sha256}; "
            "refusing to use it"
        )
    Path(tmp.name).replace(target)
    return target


def ensure_spark_jars(log: Callable[[str], None] = print) -> list[Path]:
    return [ensure_jar(jar, log) for jar in versions.SPARK_EXTRA_JARS]
