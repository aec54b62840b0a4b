"""What every command shares: the console, the options several commands take, and the one
place where a user's mistake becomes an ``error:`` line with a hint instead of a traceback.

Only Typer, click and the standard library (and the project's stdlib-only core modules) are
imported here at module level, so that ``lakehouse --help`` stays instant.
"""

from __future__ import annotations

import functools
import inspect
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar

import typer
from typer.core import TyperGroup

from lakehouse.ops.stacks import stack_dir, stack_names
from lakehouse_core.catalog import LAYER_CHOICES

if TYPE_CHECKING:
    from rich.console import Console

    from lakehouse.targets import Lake

DEBUG_KEY = "lakehouse.debug"
DEFAULT_STACK = "dev"

# Help panels: the commands and options of `lakehouse --help`, grouped by what they act on.
ONE_MACHINE = "One machine (no cluster)"
KUBERNETES = "Kubernetes: deploy and use a stack"
KIND = "kind (needs Docker)"
RECOVERY = "Backup and recovery"
LAKE_PANEL = "Which lake (give one)"


@cache
def console() -> Console:
    from rich.console import Console

    return Console()


@cache
def error_console() -> Console:
    from rich.console import Console

    return Console(stderr=True)


# The stacks are the Pulumi.<stack>.yaml files of the stack folder (the checkout or
# $LAKEHOUSE_STACK_DIR), read once when the CLI loads. With none there, any name is
# accepted here and the command says where it looked.
STACK_CHOICES = tuple(stack_names(stack_dir()))

if TYPE_CHECKING:  # the choices are only known at run time
    StackName = str
    LayerName = str
else:
    StackName = Literal[STACK_CHOICES] if STACK_CHOICES else str
    LayerName = Literal[LAYER_CHOICES]

STACK_HELP = "the stack (Pulumi.<stack>.yaml): dev is kind, prod a real cluster"
Stack = Annotated[StackName, typer.Option("--stack", "-s", help=STACK_HELP)]
LayerOption = Annotated[
    LayerName,
    typer.Option("--layer", help="the layer to refresh; all runs bronze, silver and gold in order"),
]


@dataclass(frozen=True)
class LakeChoice:
    """Which lake a command works on, as its options named it (at most one way)."""

    local: bool = False
    stack: str | None = None
    endpoint: str | None = None
    access_key: str | None = None
    secret_key: str | None = None
    bucket: str | None = None

    def cluster_stack(self, default: str | None = DEFAULT_STACK) -> str | None:
        """The stack whose cluster runs the work, or None for this machine's Spark.

        ``--local`` and ``--endpoint`` mean this machine; ``--stack`` that stack's cluster;
        nothing at all ``default``. Naming two lakes is refused, never resolved silently.
        """
        self._one_at_most()
        if self.local or self.endpoint:
            return None
        return self.stack or default

    def resolve(self) -> Lake:
        """The lake's S3 endpoint, keys and bucket (``lakehouse.targets``)."""
        from lakehouse import targets

        self._one_at_most()
        return targets.resolve(
            local=self.local,
            stack=self.stack,
            endpoint=self.endpoint,
            access_key=self.access_key,
            secret_key=self.secret_key,
            bucket=self.bucket,
        )

    def _one_at_most(self) -> None:
        from lakehouse.targets import NoLakeNamed

        chosen = [
            name
            for name, given in (
                ("--local", self.local),
                ("--stack", self.stack),
                ("--endpoint", self.endpoint),
            )
            if given
        ]
        if len(chosen) > 1:
            raise NoLakeNamed(f"{' and '.join(chosen)} name different lakes; give one")


_LAKE_OPTIONS: dict[str, tuple[Any, Any]] = {
    "local": (
        Annotated[
            bool,
            typer.Option(
                "--local",
                help="the MinIO of `lakehouse local up` (and, for runs, Spark on this machine)",
                rich_help_panel=LAKE_PANEL,
            ),
        ],
        False,
    ),
    "stack": (
        Annotated[
            StackName | None,
            typer.Option(
                "--stack", "-s", help=f"{STACK_HELP}; its lake", rich_help_panel=LAKE_PANEL
            ),
        ],
        None,
    ),
    "endpoint": (
        Annotated[
            str | None,
            typer.Option(
                envvar="LAKEHOUSE_S3_ENDPOINT", help="any S3 API URL", rich_help_panel=LAKE_PANEL
            ),
        ],
        None,
    ),
    "access_key": (
        Annotated[
            str | None,
            typer.Option(envvar="LAKEHOUSE_S3_ACCESS_KEY", rich_help_panel=LAKE_PANEL),
        ],
        None,
    ),
    "secret_key": (
        Annotated[
            str | None,
            typer.Option(envvar="LAKEHOUSE_S3_SECRET_KEY", rich_help_panel=LAKE_PANEL),
        ],
        None,
    ),
    "bucket": (
        Annotated[
            str | None,
            typer.Option(
                help="the lake bucket (default: the lake's own)", rich_help_panel=LAKE_PANEL
            ),
        ],
        None,
    ),
}

F = TypeVar("F", bound=Callable[..., Any])


def lake_options(command: F) -> F:
    """Give a command the one bundle of lake options; it receives them as ``lake``.

    The command declares ``lake: LakeChoice``; its signature, as Typer reads it, has the
    six options instead (``--local``, ``--stack``, ``--endpoint``, ``--access-key``,
    ``--secret-key``, ``--bucket``), so every command spells and checks them alike.
    """
    signature = inspect.signature(command)
    kept = [p for p in signature.parameters.values() if p.name != "lake"]
    added = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=hint, default=default)
        for name, (hint, default) in _LAKE_OPTIONS.items()
    ]

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        choice = LakeChoice(**{name: kwargs.pop(name) for name in _LAKE_OPTIONS})
        return command(*args, lake=choice, **kwargs)

    hints = inspect.get_annotations(command, eval_str=True)
    hints.pop("lake", None)
    wrapper.__annotations__ = {**hints, **{n: h for n, (h, _) in _LAKE_OPTIONS.items()}}
    wrapper.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[p.replace(annotation=hints.get(p.name, p.annotation)) for p in kept] + added
    )
    del wrapper.__wrapped__  # Typer must read the new signature, not the command's
    return wrapper  # type: ignore[return-value]


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
