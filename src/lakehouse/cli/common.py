"""What every command shares: the console, the options several commands take, and the one
place where a user's mistake becomes an ``error:`` line with a hint instead of a traceback.

Only Typer, click and the standard library are imported here at module level, so that
``lakehouse --help`` stays instant.
"""

from __future__ import annotations

import os
import traceback
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer
from typer.core import TyperGroup

from lakehouse_core.paths import REPO_ROOT

if TYPE_CHECKING:
    from rich.console import Console

DEBUG_KEY = "lakehouse.debug"


@cache
def console() -> Console:
    from rich.console import Console

    return Console()


@cache
def error_console() -> Console:
    from rich.console import Console

    return Console(stderr=True)


def _stack_names() -> list[str]:
    folder = Path(os.environ.get("LAKEHOUSE_STACK_DIR") or REPO_ROOT)
    return sorted(p.name.split(".")[1] for p in folder.glob("Pulumi.*.yaml")) or ["dev"]


# The choices are read once, from the stack files beside the project, when the CLI loads.
STACK_CHOICES = _stack_names()
LAYER_CHOICES = ("bronze", "silver", "gold", "all")  # checked against the catalog by a test

if TYPE_CHECKING:  # the choices are only known at run time
    StackName = str
    LayerName = str
else:
    StackName = Literal[tuple(STACK_CHOICES)]
    LayerName = Literal[LAYER_CHOICES]

Stack = Annotated[
    StackName,
    typer.Option(
        "--stack", "-s", help="the stack (Pulumi.<stack>.yaml): dev is kind, prod a real cluster"
    ),
]
LayerOption = Annotated[
    LayerName,
    typer.Option("--layer", help="the layer to refresh; all runs bronze, silver and gold in order"),
]


def report_error(err: Exception, debug: bool) -> None:
    """Print ``error: ...`` and ``hint: ...`` (and, with --debug, the traceback)."""
    from rich.text import Text

    from lakehouse_core.errors import LakehouseError

    out = error_console()
    if debug:
        out.print("".join(traceback.format_exception(err)), markup=False, highlight=False)
    message = err.message if isinstance(err, LakehouseError) else str(err)
    out.print(Text.assemble(("error: ", "bold red"), message))
    hint = err.hint if isinstance(err, LakehouseError) else ""
    if hint:
        out.print(Text.assemble(("hint: ", "bold"), hint))
    if not debug:
        out.print(Text("(run with --debug to see where it happened)", style="dim"))


class LakehouseGroup(TyperGroup):
    """Runs a command, and turns the user-fixable failures it raises into one error line."""

    def invoke(self, ctx: Any) -> Any:  # click.Context (Typer vendors click)
        from lakehouse_core.errors import LakehouseError

        try:
            return super().invoke(ctx)
        except LakehouseError as err:
            report_error(err, bool(ctx.find_root().meta.get(DEBUG_KEY)))
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            error_console().print("interrupted")
            raise typer.Exit(130) from None


def fail(message: str, hint: str | None = None) -> Exception:
    """The error for a condition a command checks itself, to raise: ``raise fail(...)``."""
    from lakehouse_core.errors import LakehouseError

    return LakehouseError(message, hint)
