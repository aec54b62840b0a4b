"""The stacks of this checkout (Pulumi.<stack>.yaml) and their validated configuration,
read without running Pulumi, so that a bad value stops before anything is deployed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lakehouse_core.errors import LakehouseError
from lakehouse_core.names import SECRET_CONFIG_KEYS
from lakehouse_core.paths import REPO_ROOT
from lakehouse_core.stack_config import StackConfig

PROJECT = "lakehouse"


class StackNotFound(LakehouseError):
    """No Pulumi.<stack>.yaml for the stack asked for."""


def stack_names(root: Path = REPO_ROOT) -> list[str]:
    """The stacks this checkout defines, from its Pulumi.<stack>.yaml files."""
    return sorted(p.name.split(".")[1] for p in root.glob("Pulumi.*.yaml"))


def stack_file_config(stack: str, root: Path = REPO_ROOT) -> dict[str, Any]:
    """The ``config:`` mapping of Pulumi.<stack>.yaml, keys as written (``lakehouse:bucket``)."""
    import yaml

    path = root / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        raise StackNotFound(
            f"no stack {stack!r}: {path} does not exist",
            hint=f"use one of: {', '.join(stack_names(root))}",
        )
    data = yaml.safe_load(path.read_text()) or {}
    return dict(data.get("config") or {})


def load_stack_config(stack: str, root: Path = REPO_ROOT) -> StackConfig:
    """The StackConfig of ``stack``; ConfigError or StackNotFound explain what is wrong."""
    from lakehouse_core.stack_config import parse

    raw = {}
    for key, value in stack_file_config(stack, root).items():
        project, _, name = key.partition(":")
        if project == PROJECT and name not in SECRET_CONFIG_KEYS:
            raw[name] = value
    return parse(raw)
