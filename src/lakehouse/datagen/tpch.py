"""TPC-H snapshot data from ``tpchgen-cli`` (a dependency of this project, on PyPI)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from lakehouse_core.catalog import TPCH_DATASETS
from lakehouse_core.errors import LakehouseError


class GeneratorUnavailable(LakehouseError):
    pass


def tpchgen_binary() -> str:
    beside_python = Path(sys.executable).parent / "tpchgen-cli"
    if beside_python.is_file():
        return str(beside_python)
    found = shutil.which("tpchgen-cli")
    if found is None:
        raise GeneratorUnavailable(
            "tpchgen-cli is not installed: run `uv sync` (it comes with the project) or "
            "`pip install tpchgen-cli`"
        )
    return found


def generate_snapshot(scale: float, out_dir: Path) -> dict[str, Path]:
    """Write each TPC-H table the catalog uses as ``<out_dir>/<table>.csv``; name -> path."""
    if scale <= 0:
        raise ValueError(f"scale factor must be positive, got {scale}")
    out_dir.mkdir(parents=True, exist_ok=True)
    tables = [d.name for d in TPCH_DATASETS]
    command = [
        tpchgen_binary(),
        "csv",
        "--scale-factor",
        f"{scale:g}",
        "--output-dir",
        str(out_dir),
        "--tables",
        ",".join(tables),
        "--overwrite",
        "--quiet",
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise GeneratorUnavailable(f"tpchgen-cli failed: {result.stderr.strip()}")
    paths = {t: out_dir / f"{t}.csv" for t in tables}
    missing = [str(p) for p in paths.values() if not p.is_file()]
    if missing:
        raise GeneratorUnavailable(f"tpchgen-cli wrote no {', '.join(missing)}")
    return paths
