"""The stacks (Pulumi.yaml and Pulumi.<stack>.yaml) and their validated configuration,
read without running Pulumi, so that a bad value stops before anything is deployed.

The stack files live in the checkout, or in the folder ``$LAKEHOUSE_STACK_DIR`` names
(a configuration repository of your own, or a copy the test bed sets secrets in). Every
command that reads a stack comes through here; the values themselves are read by
``lakehouse_core.stack_config.parse_config``, the same reader ``pulumi up`` uses.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from lakehouse_core.errors import LakehouseError
from lakehouse_core.names import PROJECT
from lakehouse_core.paths import REPO_ROOT

if TYPE_CHECKING:  # pydantic and YAML load only when a stack is read, not for --help
    from lakehouse_core.stack_config import StackConfig
    from lakehouse_core.stack_file import StackFile

__all__ = ["PROJECT", "StackNotFound", "load_stack_config", "read_stack_file", "stack_dir"]

STACK_DIR_ENV = "LAKEHOUSE_STACK_DIR"


def stack_dir() -> Path:
    explicit = os.environ.get(STACK_DIR_ENV)
    return Path(explicit) if explicit else REPO_ROOT


class StackNotFound(LakehouseError):
    """No Pulumi.<stack>.yaml for the stack asked for."""


def stack_names(root: Path | None = None) -> list[str]:
    """The stacks a folder defines, from its Pulumi.<stack>.yaml files."""
    root = root or stack_dir()
    return sorted(p.name.split(".")[1] for p in root.glob("Pulumi.*.yaml"))


def read_stack_file(stack: str, root: Path | None = None) -> StackFile:
    """Pulumi.<stack>.yaml: its ``config:`` mapping and the line of every key."""
    from lakehouse_core import stack_file

    root = root or stack_dir()
    path = root / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        known = stack_names(root)
        hint = (
            f"use one of: {', '.join(known)}"
            if known
            else f"{root} holds no Pulumi.<stack>.yaml: run from the project's checkout, or "
            f"point ${STACK_DIR_ENV} at the folder with your stack files"
        )
        raise StackNotFound(f"no stack {stack!r}: {path} does not exist", hint=hint)
    return stack_file.read(path.read_text(), str(path))


def load_stack_config(stack: str, root: Path | None = None) -> StackConfig:
    """The StackConfig of ``stack``; ConfigError or StackNotFound explain what is wrong."""
    return read_stack_file(stack, root).settings()
