"""The one base of every failure a user can cause, and can fix.

Each layer raises its own subclasses (a bad stack value, Dremio refusing a login, a
landing batch that arrived late, a tool that is not installed); the application prints
each once, as ``error: <what is wrong>`` followed by ``hint: <what to do>``, and only shows
a traceback when asked to (``--debug``). Bugs are not LakehouseErrors: they keep theirs.

Pure Python, importable in the job image.
"""

from __future__ import annotations


class LakehouseError(Exception):
    """Something is wrong that the user can fix; ``hint`` says how."""

    hint: str = ""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        if hint is not None:
            self.hint = hint

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else self.__class__.__name__

    def __str__(self) -> str:
        return self.message
