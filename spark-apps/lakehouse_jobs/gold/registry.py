"""The gold registry: each gold table declared once, with everything the pipeline needs.

A gold table is a function that builds it from silver, decorated with its name, the silver
tables it reads, its key, a description, and how it is refreshed: rewritten whole, or
incrementally from silver's change data feed. The refresh engine, the naive benchmark,
the Dremio automation and the tests all read this registry; nothing else names a gold table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

from pyspark.sql import DataFrame

# Reads a silver table (by dataset name) at the version the refresh pinned.
ReadTable = Callable[[str], DataFrame]


class Build(Protocol):
    """Builds the whole table, or, given groups (a DataFrame of key rows), just those groups."""

    def __call__(self, read: ReadTable, groups: DataFrame | None = None) -> DataFrame: ...


@dataclass(frozen=True)
class GroupRecompute:
    """Incremental refresh: recompute only the groups the source changes touch, and MERGE them.

    ``touched`` maps the sources' change feeds (dataset -> rows of ``readChangeFeed``) to
    the key rows of the groups whose value may differ. A change to any source in
    ``rebuild_on`` (a dimension) touches everything, so the table is rewritten instead.
    """

    touched: Callable[[ReadTable, dict[str, DataFrame]], DataFrame]
    rebuild_on: tuple[str, ...] = ()


Incremental = GroupRecompute


@dataclass(frozen=True)
class GoldTable:
    name: str
    sources: tuple[str, ...]
    key: tuple[str, ...]
    description: str
    build: Build
    incremental: Incremental | None = None

    @property
    def refresh(self) -> str:
        """'incremental' (from the change feed, where it pays) or 'rewrite' (always whole)."""
        return "incremental" if self.incremental is not None else "rewrite"


class GoldRegistry:
    """Gold tables in declaration order (a table may read only silver, never other gold)."""

    def __init__(self) -> None:
        self._tables: dict[str, GoldTable] = {}

    def table(
        self,
        name: str,
        *,
        sources: tuple[str, ...],
        key: tuple[str, ...],
        description: str,
        incremental: Incremental | None = None,
    ) -> Callable[[Build], Build]:
        """Decorator: declare the function as the build of gold table ``name``."""

        def register(build: Build) -> Build:
            if name in self._tables:
                raise ValueError(f"gold table {name!r} is declared twice")
            self._tables[name] = GoldTable(name, sources, key, description, build, incremental)
            return build

        return register

    def __iter__(self) -> Iterator[GoldTable]:
        return iter(self._tables.values())

    def __len__(self) -> int:
        return len(self._tables)

    def names(self) -> tuple[str, ...]:
        return tuple(self._tables)

    def get(self, name: str) -> GoldTable:
        try:
            return self._tables[name]
        except KeyError:
            known = ", ".join(self._tables)
            raise KeyError(f"unknown gold table {name!r}; the registry has: {known}") from None

    def reading(self, datasets: Iterable[str]) -> tuple[GoldTable, ...]:
        """The gold tables whose sources are all among ``datasets``."""
        chosen = set(datasets)
        return tuple(t for t in self._tables.values() if set(t.sources) <= chosen)
