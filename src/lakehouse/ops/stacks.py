"""A stack's validated configuration, read from Pulumi.<stack>.yaml without running Pulumi."""

from __future__ import annotations

from pathlib import Path

from lakehouse.paths import REPO_ROOT


def load_stack_config(stack: str, root: Path = REPO_ROOT):  # type: ignore[no-untyped-def]
    """The StackConfig of ``stack``; ConfigError or StackNotFound explain what is wrong."""
    from lakehouse_infra.config import parse
    from lakehouse_infra.credentials import SECRET_CONFIG_KEYS
    from lakehouse_infra.render import PROJECT, stack_config

    raw = {}
    for key, value in stack_config(stack, root).items():
        project, _, name = key.partition(":")
        if project == PROJECT and name not in SECRET_CONFIG_KEYS:
            raw[name] = value
    return parse(raw)
