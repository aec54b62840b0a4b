"""``lakehouse up|preview|destroy``: the Pulumi program through the Automation API.

State lives in a local file backend by default (``.pulumi-state/`` in the checkout, or
``$PULUMI_BACKEND_URL``); its secrets are encrypted with ``$PULUMI_CONFIG_PASSPHRASE``,
which must be set: there is no default passphrase.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lakehouse.ops import tools
from lakehouse.paths import REPO_ROOT

DEFAULT_BACKEND_DIR = REPO_ROOT / ".pulumi-state"
ACTIONS = ("up", "preview", "destroy", "outputs")


class DeployError(RuntimeError):
    pass


def backend_url() -> str:
    explicit = os.environ.get("PULUMI_BACKEND_URL")
    if explicit:
        return explicit
    DEFAULT_BACKEND_DIR.mkdir(exist_ok=True)
    return f"file://{DEFAULT_BACKEND_DIR}"


def require_passphrase() -> dict[str, str]:
    if os.environ.get("PULUMI_CONFIG_PASSPHRASE") is not None:
        return {"PULUMI_CONFIG_PASSPHRASE": os.environ["PULUMI_CONFIG_PASSPHRASE"]}
    passphrase_file = os.environ.get("PULUMI_CONFIG_PASSPHRASE_FILE")
    if passphrase_file and Path(passphrase_file).is_file():
        return {"PULUMI_CONFIG_PASSPHRASE_FILE": passphrase_file}
    raise DeployError(
        "PULUMI_CONFIG_PASSPHRASE is not set: it encrypts the stack's secrets (generated "
        "passwords) in the local backend. Choose one and export it, for example "
        '`export PULUMI_CONFIG_PASSPHRASE="$(openssl rand -hex 16)"`, and keep it: the same '
        "passphrase is needed for every later up, preview or destroy of this stack."
    )


def _stack(stack: str) -> Any:
    from pulumi import automation as auto

    tools.require("pulumi")
    env = {"PULUMI_BACKEND_URL": backend_url(), **require_passphrase()}
    options = auto.LocalWorkspaceOptions(env_vars=env)
    return auto.create_or_select_stack(stack_name=stack, work_dir=str(REPO_ROOT), opts=options)


def run(action: str, stack: str, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Run ``action`` on ``stack``; returns the stack outputs (secrets stay masked)."""
    if action not in ACTIONS:
        raise DeployError(f"unknown action {action!r}; use one of {', '.join(ACTIONS)}")
    from lakehouse.ops.stacks import load_stack_config

    load_stack_config(stack)  # a bad value stops here, before Pulumi runs
    from pulumi import automation as auto

    target = _stack(stack)
    try:
        if action == "up":
            target.up(on_output=log, color="always")
        elif action == "preview":
            target.preview(on_output=log, color="always")
        elif action == "destroy":
            target.destroy(on_output=log, color="always")
    except auto.errors.CommandError as err:
        raise DeployError(f"pulumi {action} of stack {stack} failed:\n{str(err)[-3000:]}") from None
    return {k: ("[secret]" if v.secret else v.value) for k, v in target.outputs().items()}
