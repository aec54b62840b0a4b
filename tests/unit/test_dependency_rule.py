"""The dependency rule between the project's parts, checked on the import statements.

Spark jobs never import Pulumi (and run in an image with nothing but the job package);
the Pulumi program never imports PySpark; the Dremio client imports neither; the catalog
and the version matrix are pure Python; the CLI imports its dependencies lazily.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from lakehouse.paths import REPO_ROOT

JOBS = REPO_ROOT / "spark-apps" / "lakehouse_jobs"
INFRA = REPO_ROOT / "infra"
CORE = REPO_ROOT / "src" / "lakehouse"
STDLIB_ONLY = ("catalog.py", "versions.py", "paths.py")
# What the job image carries besides the job package itself (see spark-apps/Dockerfile).
IMAGE_CORE_MODULES = {
    "lakehouse",
    "lakehouse.catalog",
    "lakehouse.versions",
    "lakehouse.paths",
    "lakehouse.s3",
    "lakehouse.local",
    "lakehouse.local.jars",
}


def imports(path: Path, top_level_only: bool = False) -> Iterator[str]:
    tree = ast.parse(path.read_text(), str(path))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    for node in nodes:
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


def python_files(root: Path) -> list[Path]:
    files = sorted(root.rglob("*.py"))
    assert files, f"no Python files under {root}"
    return files


def roots(names: Iterator[str]) -> set[str]:
    return {n.split(".")[0] for n in names}


@pytest.mark.parametrize("path", python_files(JOBS), ids=lambda p: p.name)
def test_jobs_import_only_spark_delta_and_the_image_core(path: Path) -> None:
    names = set(imports(path))
    assert not {
        n
        for n in names
        if n.split(".")[0]
        in {
            "pulumi",
            "pulumi_kubernetes",
            "pulumi_random",
            "lakehouse_infra",
            "typer",
            "boto3",
            "rich",
        }
    }
    core = {n for n in names if n.split(".")[0] == "lakehouse"}
    assert core <= IMAGE_CORE_MODULES, core - IMAGE_CORE_MODULES


@pytest.mark.parametrize("path", python_files(INFRA), ids=lambda p: p.name)
def test_pulumi_program_never_imports_spark(path: Path) -> None:
    assert not roots(imports(path)) & {"pyspark", "delta", "lakehouse_jobs", "deltalake"}


def test_dremio_client_imports_neither_spark_nor_pulumi() -> None:
    for path in python_files(CORE / "dremio"):
        assert not roots(imports(path)) & {
            "pyspark",
            "delta",
            "pulumi",
            "pulumi_kubernetes",
            "lakehouse_jobs",
            "lakehouse_infra",
        }, path


@pytest.mark.parametrize("name", STDLIB_ONLY)
def test_catalog_and_matrix_are_pure_python(name: str) -> None:
    import sys

    third_party = {r for r in roots(imports(CORE / name)) if r not in sys.stdlib_module_names}
    assert third_party <= {"lakehouse"}, third_party


def test_cli_imports_its_dependencies_lazily() -> None:
    for path in python_files(CORE / "cli"):
        import sys

        heavy = {
            r for r in roots(imports(path, top_level_only=True)) if r not in sys.stdlib_module_names
        } - {"typer", "lakehouse"}
        assert not heavy, f"{path.name} imports {heavy} at module level"
