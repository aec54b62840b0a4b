"""A ``Pulumi.<stack>.yaml`` file as text, read into its ``config:`` mapping with the line of
every key, so that each complaint about it names the file and the line to fix.

The reading of the values themselves is ``stack_config.parse_config``'s: this module only
turns YAML into that mapping, and YAML or shape mistakes into one ``ConfigError`` line.
Pure: the caller reads the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from lakehouse_core.stack_config import ConfigError, StackConfig, parse_config

Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class StackFile:
    source: str  # the file, as messages name it
    config: dict[str, Any]
    lines: dict[Path_, int] = field(default_factory=dict)

    def locate(self, path: Path_) -> str:
        """``<file>:<line>: `` of the deepest part of ``path`` the file has."""
        for end in range(len(path), 0, -1):
            line = self.lines.get(path[:end])
            if line is not None:
                return f"{self.source}:{line}: "
        return f"{self.source}: "

    def settings(self) -> StackConfig:
        return parse_config(self.config, self.locate)


def read(text: str, source: str) -> StackFile:
    """The stack file's ``config:`` mapping; ConfigError (file and line) if it is not one."""
    try:
        root = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise ConfigError(
            f"{where}: not valid YAML ({problem})",
            hint="fix the syntax at that line (indentation, a missing ':' or an unclosed "
            "quote); `python -c 'import yaml,sys; yaml.safe_load(open(sys.argv[1]))' FILE` "
            "checks it",
        ) from None
    if data is None:
        return StackFile(source, {})
    if not isinstance(data, dict):
        raise ConfigError(
            f"{source}:1: the file must be a mapping with a config: key, not {_kind(data)}",
            hint="start the file with `config:` and indent each `lakehouse:<key>: <value>` "
            "under it",
        )
    config = data.get("config")
    lines = _lines(root)
    if config is None:
        return StackFile(source, {}, lines)
    if not isinstance(config, dict):
        line = lines.get(("config",), 1)
        raise ConfigError(
            f"{source}:{line}: config must be a mapping of keys to values, not {_kind(config)}",
            hint="write each setting as `  lakehouse:<key>: <value>` under `config:` "
            "(no leading '- ')",
        )
    config_lines = {k[1:]: v for k, v in lines.items() if k[:1] == ("config",) and len(k) > 1}
    return StackFile(source, {str(k): v for k, v in config.items()}, config_lines)


def _kind(value: Any) -> str:
    return "a list" if isinstance(value, list) else f"a {type(value).__name__}"


def _lines(node: yaml.Node | None, path: Path_ = ()) -> dict[Path_, int]:
    """The 1-based line of every mapping key and list item below ``node``."""
    found: dict[Path_, int] = {}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            here = (*path, str(key.value))
            found[here] = key.start_mark.line + 1
            found.update(_lines(value, here))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            here = (*path, index)
            found[here] = item.start_mark.line + 1
            found.update(_lines(item, here))
    return found
