"""The version matrix agrees with what is installed and pinned everywhere else."""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

import pyspark
import tomllib

from lakehouse_core import versions
from lakehouse_core.paths import REPO_ROOT


def test_installed_pyspark_and_delta_match_the_matrix() -> None:
    assert pyspark.__version__ == versions.SPARK_VERSION
    assert metadata.version("delta-spark") == versions.DELTA_VERSION


def test_pyproject_pins_the_matrix_versions() -> None:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    # with the Spark Connect client (its gRPC dependencies): `lakehouse.connect`
    assert f"pyspark[connect]=={versions.SPARK_VERSION}" in project["dependencies"]
    assert f"delta-spark=={versions.DELTA_VERSION}" in project["dependencies"]


def test_hadoop_aws_matches_the_hadoop_client_inside_spark() -> None:
    jars = Path(pyspark.__file__).parent / "jars"
    [client] = jars.glob("hadoop-client-api-*.jar")
    assert client.name == f"hadoop-client-api-{versions.HADOOP_VERSION}.jar"
    assert versions.HADOOP_AWS.version == versions.HADOOP_VERSION


def test_scala_binary_version_matches_the_spark_jars() -> None:
    jars = Path(pyspark.__file__).parent / "jars"
    [core] = jars.glob("spark-core_*.jar")
    assert core.name == f"spark-core_{versions.SCALA_BINARY_VERSION}-{versions.SPARK_VERSION}.jar"
    assert versions.DELTA_SPARK.artifact.endswith(f"_{versions.SCALA_BINARY_VERSION}")


def test_images_are_pinned_and_never_latest() -> None:
    images = [v for v in vars(versions).values() if isinstance(v, versions.Image)]
    assert len(images) >= 6
    for image in images:
        assert image.tag and image.tag != "latest", image
    assert versions.SPARK_BASE_IMAGE.tag.startswith(
        f"{versions.SPARK_VERSION}-scala{versions.SCALA_BINARY_VERSION}-java{versions.JAVA_VERSION}"
    )


def test_jar_pins_have_checksums_and_maven_urls() -> None:
    for jar in versions.SPARK_EXTRA_JARS:
        assert re.fullmatch(r"[0-9a-f]{64}", jar.sha256), jar
        assert jar.url().startswith(versions.MAVEN_CENTRAL + "/")
        assert jar.url().endswith(f"/{jar.version}/{jar.artifact}-{jar.version}.jar")
