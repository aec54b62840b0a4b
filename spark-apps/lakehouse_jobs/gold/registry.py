"""The gold registry: each gold table declared once, with everything the pipeline needs.

A gold table is declared with its name, the silver tables it reads, its key, a description,
and how it is refreshed:

* ``additive`` tables (counts and sums per group) are declared by each source row's
  *contribution*; the full build sums contributions per group, and a refresh sums the
  change feed's contributions, signed (+ for new rows, - for old ones), and adds them to
  the stored values. Its cost follows the change, not the table;
* ``GroupRecompute`` tables (a max, a distinct count: not invertible) recompute only the
  groups the change feed touches, and MERGE them;
* the others are rewritten whole.

The refresh engine, the naive benchmark, the Dremio automation and the tests all read
this registry; nothing else names a gold table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

# Reads a silver table (by dataset name) at the version the refresh pinned.
ReadTable = Callable[[str], DataFrame]
# Gives a measure's current value as a Column (in a build: the summed column; in a MERGE:
# the stored value plus the change).
Measure = Callable[[str], Column]


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


@dataclass(frozen=True)
class SignedDelta:
    """Incremental refresh of an additive table from one source's change feed.

    ``contributions`` maps source rows to the key columns plus one column per measure (what
    the row adds to its group). ``count`` names the measure that counts rows: a group whose
    count falls to zero is deleted. ``derived`` computes the other columns (averages) from
    the measures.
    """

    source: str
    contributions: Callable[[DataFrame], DataFrame]
    measures: tuple[str, ...]
    count: str
    derived: Callable[[Measure], dict[str, Column]] = field(default=lambda _m: {})

    def build(self, rows: DataFrame, key: tuple[str, ...]) -> DataFrame:
        summed = (
            self.contributions(rows).groupBy(*key).agg(*[F.sum(m).alias(m) for m in self.measures])
        )
        extra = self.derived(F.col)
        return summed.select(*key, *self.measures, *[c.alias(n) for n, c in extra.items()])


Incremental = GroupRecompute | SignedDelta


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
        """'additive', 'groups' (recompute touched groups) or 'rewrite'."""
        if isinstance(self.incremental, SignedDelta):
            return "additive"
        return "groups" if self.incremental is not None else "rewrite"


class GoldRegistry:
    """Gold tables in declaration order (a table may read only silver, never other gold)."""

    def __init__(self) -> None:
        self._tables: dict[str, GoldTable] = {}

    def _add(self, table: GoldTable) -> None:
        if table.name in self._tables:
            raise ValueError(f"gold table {table.name!r} is declared twice")
        self._tables[table.name] = table

    def table(
        self,
        name: str,
        *,
        sources: tuple[str, ...],
        key: tuple[str, ...],
        description: str,
        incremental: GroupRecompute | None = None,
    ) -> Callable[[Build], Build]:
        """Decorator: declare the function as the build of gold table ``name``."""

        def register(build: Build) -> Build:
            self._add(GoldTable(name, sources, key, description, build, incremental))
            return build

        return register

    def additive(
        self,
        name: str,
        *,
        source: str,
        key: tuple[str, ...],
        description: str,
        measures: tuple[str, ...],
        count: str,
        derived: Callable[[Measure], dict[str, Column]] = lambda _m: {},
    ) -> Callable[[Callable[[DataFrame], DataFrame]], Callable[[DataFrame], DataFrame]]:
        """Decorator: declare the function as the per-row contributions of an additive table."""

        def register(
            contributions: Callable[[DataFrame], DataFrame],
        ) -> Callable[[DataFrame], DataFrame]:
            strategy = SignedDelta(source, contributions, measures, count, derived)

            def build(read: ReadTable, groups: DataFrame | None = None) -> DataFrame:
                return strategy.build(read(source), key)

            self._add(GoldTable(name, (source,), key, description, build, strategy))
            return contributions

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


def average(total: Column, count: Column, scale: int = 6, precision: int = 19) -> Column:
    """Spark's own ``avg`` of a decimal, from its sum and count: the same division and cast
    (sum / count as decimal(20,0), cast to decimal(p+4, s+4)), so both give equal digits."""
    return (total / count.cast("decimal(20,0)")).cast(f"decimal({precision},{scale})")
