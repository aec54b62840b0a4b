"""Bad configuration stops before anything is declared: the program validates first."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest

from lakehouse.render import render_stack
from lakehouse_core.stack_config import ConfigError


def test_nothing_is_declared_when_the_config_is_bad() -> None:
    declared: list[str] = []

    class Recorder(pulumi.runtime.Mocks):
        def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
            declared.append(args.name)
            return args.name, dict(args.inputs)

        def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], None]:
            return {}, None

    with pytest.raises(ConfigError, match="executorMemoryMib"):
        render_stack("dev", overrides={"dremio": {"executorMemoryMib": 1024}})
    pulumi.runtime.set_all_config(
        {"lakehouse:environment": "dev", "lakehouse:dremio": '{"executors": 0}'}
    )
    pulumi.runtime.set_mocks(Recorder(), project="lakehouse", stack="dev", preview=False)

    @pulumi.runtime.test  # type: ignore[untyped-decorator]
    def program() -> None:
        from lakehouse_infra.program import deploy

        deploy()

    with pytest.raises(ConfigError):
        program()
    assert declared == []
