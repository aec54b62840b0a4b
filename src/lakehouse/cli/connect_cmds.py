"""``lakehouse connect`` and ``lakehouse notebook``: interactive sessions against the lake."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from lakehouse.cli.common import Stack, console, fail

SNIPPET = """\
from lakehouse.connect import session, table
spark = session("{stack}")                  # Spark Connect through the ingress
table(spark, "gold.order_status_summary").show()
"""


def connect(
    stack: Stack = "dev",
    show_token: Annotated[
        bool, typer.Option("--show-token", help="print the token too (it is a secret)")
    ] = False,
) -> None:
    """Where the stack's Spark Connect server is, and a session to paste."""
    from lakehouse.ops.cluster import Cluster
    from lakehouse.ops.stacks import load_stack_config
    from lakehouse_core import names

    cfg = load_stack_config(stack)
    if not cfg.connect_routed:
        raise fail(
            f"stack {stack} routes no Spark Connect server",
            hint="set lakehouse:connect.enabled (in prod with ingress.allowlists.sparkConnect)",
        )
    console().print(f"Spark Connect: {cfg.connect_url()}", soft_wrap=True)
    if show_token:
        token = Cluster(cfg.kube_context).secret(
            cfg.spark.jobs_namespace, names.CONNECT_TOKEN_SECRET
        )
        console().print(f"token: {token[names.CONNECT_TOKEN_KEY]}", soft_wrap=True)
    else:
        console().print("token: in Secret lakehouse-connect-token (`--show-token` prints it)")
    console().print("\n" + SNIPPET.format(stack=stack), soft_wrap=True, highlight=False)


def notebook(
    stack: Annotated[
        str | None, typer.Option("--stack", help="the notebooks' session: this stack's server")
    ] = None,
    local: Annotated[
        bool, typer.Option("--local", help="the notebooks' session: this machine, the local lake")
    ] = False,
    port: Annotated[int, typer.Option(help="JupyterLab's port")] = 8888,
) -> None:
    """Start JupyterLab on notebooks/, its sessions wired to a stack or to the local lake."""
    import shutil

    from lakehouse.connect import SESSION_ENV
    from lakehouse_core.paths import REPO_ROOT

    if local == (stack is not None):
        raise fail("give --stack NAME or --local", hint="e.g. `lakehouse notebook --local`")
    jupyter = shutil.which("jupyter-lab")
    if jupyter is None:
        raise fail(
            "JupyterLab is not installed",
            hint="install the notebook extra: `uv sync --extra notebook` (or pip install "
            "'lakehouse[notebook]')",
        )
    os.environ[SESSION_ENV] = "local" if local else str(stack)
    console().print(f"notebooks in {REPO_ROOT / 'notebooks'}, sessions: {os.environ[SESSION_ENV]}")
    os.execv(  # noqa: S606 (JupyterLab replaces this process; its path from PATH)
        jupyter,
        [jupyter, f"--notebook-dir={REPO_ROOT / 'notebooks'}", f"--port={port}", "--no-browser"],
    )
