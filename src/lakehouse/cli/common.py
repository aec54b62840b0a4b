"""What every command shares: one console, and errors that say what to do."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from rich.console import Console


@cache
def console() -> Console:
    from rich.console import Console

    return Console()


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print an error the user can act on and return the exit to raise."""
    from rich.console import Console
    from rich.text import Text

    Console(stderr=True).print(Text.assemble(("error: ", "bold red"), message))
    return typer.Exit(code)
