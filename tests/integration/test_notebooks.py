"""The notebooks (notebooks/), executed headless against a local lake the pipeline wrote,
as `lakehouse notebook --local` runs them: every cell must run.

They run one after the other in one kernel, its namespace emptied (``%reset -f``) before
each, so that they share one Spark JVM (its start is most of a small notebook's time) but
no variable: a notebook that leaned on another's names would fail here as it would alone.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

from lakehouse_core.paths import REPO_ROOT

pytestmark = pytest.mark.integration
LAKEHOUSE = str(Path(sys.executable).parent / "lakehouse")
NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("*.ipynb"))


def run(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run([LAKEHOUSE, *args], env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def local_lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = str(s.getsockname()[1])
    env = {**os.environ, "COLUMNS": "200",
           "LAKEHOUSE_LOCAL_DIR": str(tmp_path_factory.mktemp("local"))}  # fmt: skip
    run(["local", "up", "--port", port], env)
    try:
        run(["generate", "--local", "--scale", "0.001", "--change-batches", "1"], env)
        run(["pipeline", "run", "--local"], env)
        yield env
    finally:
        run(["local", "down"], env)


def test_there_are_notebooks_and_none_holds_outputs() -> None:
    assert len(NOTEBOOKS) == 4
    for path in NOTEBOOKS:
        book = nbformat.read(path, as_version=4)  # type: ignore[no-untyped-call]
        assert all(not c.get("outputs") for c in book.cells if c.cell_type == "code"), path.name


@pytest.fixture(scope="module")
def kernel(local_lake: dict[str, str]) -> Iterator[KernelManager]:
    """One Python kernel for the notebooks, started as `lakehouse notebook --local` would."""
    manager = KernelManager(kernel_name="python3")
    manager.start_kernel(env={**local_lake, "LAKEHOUSE_SESSION": "local"},
                         cwd=str(REPO_ROOT / "notebooks"))  # fmt: skip
    try:
        yield manager
    finally:
        manager.shutdown_kernel(now=True)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_the_notebook_runs_against_the_local_lake(path: Path, kernel: KernelManager) -> None:
    book = nbformat.read(path, as_version=4)  # type: ignore[no-untyped-call]
    book.cells.insert(0, nbformat.v4.new_code_cell("%reset -f"))  # type: ignore[no-untyped-call]
    NotebookClient(book, km=kernel, timeout=600).execute()
    outputs = [o for c in book.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"], outputs
    assert any(o.get("output_type") == "execute_result" for o in outputs)
