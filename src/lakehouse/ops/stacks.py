"""The stacks (Pulumi.yaml and Pulumi.<stack>.yaml) and their validated configuration,
read without running Pulumi, so that a bad value stops before anything is deployed.

The stack files live in the checkout, or in the folder ``$LAKEHOUSE_STACK_DIR`` names
(a configuration repository of your own, or a copy the test bed sets secrets in).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from lakehouse_core.errors import LakehouseError
from lakehouse_core.names import SECRET_CONFIG_KEYS
from lakehouse_core.paths import REPO_ROOT
from lakehouse_core.stack_config import StackConfig

PROJECT = "lakehouse"
STACK_DIR_ENV = "LAKEHOUSE_STACK_DIR"


def stack_dir() -> Path:
    explicit = os.environ.get(STACK_DIR_ENV)
    return Path(explicit) if explicit else REPO_ROOT


class StackNotFound(LakehouseError):
    """No Pulumi.<stack>.yaml for the stack asked for."""


def stack_names(root: Path | None = None) -> list[str]:
    """The stacks this checkout defines, from its Pulumi.<stack>.yaml files."""
    root = root or stack_dir()
    return sorted(p.name.split(".")[1] for p in root.glob("Pulumi.*.yaml"))


def stack_file_config(stack: str, root: Path | None = None) -> dict[str, Any]:
    """The ``config:`` mapping of Pulumi.<stack>.yaml, keys as written (``lakehouse:bucket``)."""
    import yaml

    root = root or stack_dir()
    path = root / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        raise StackNotFound(
            f"no stack {stack!r}: {path} does not exist",
            hint=f"use one of: {', '.join(stack_names(root))}",
        )
    data = yaml.safe_load(path.read_text()) or {}
    return dict(data.get("config") or {})


def load_stack_config(stack: str, root: Path | None = None) -> StackConfig:
    """The StackConfig of ``stack``; ConfigError or StackNotFound explain what is wrong."""
    from lakehouse_core.stack_config import parse

    raw = {}
    for key, value in stack_file_config(stack, root or stack_dir()).items():
        project, _, name = key.partition(":")
        if project == PROJECT and name not in SECRET_CONFIG_KEYS:
            raw[name] = value
    return parse(raw)
