"""Where the project caches what it downloads or builds (jars, the MinIO binary, data)."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def cache_dir() -> Path:
    """``$LAKEHOUSE_CACHE_DIR``, else ``$XDG_CACHE_HOME/lakehouse``, else ``~/.cache/lakehouse``."""
    explicit = os.environ.get("LAKEHOUSE_CACHE_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "lakehouse"
