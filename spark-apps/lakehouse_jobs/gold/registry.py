"""The gold registry: the build of each gold table the core declares, and how it refreshes.

Each gold table is declared once, as data, in ``lakehouse_core.gold`` (name, the silver
tables it reads, its key, a description). Here a build is attached to each name, with how
the table is refreshed:

* ``additive`` tables (counts and sums per group) are declared by each source row's
  *contribution*; the full build sums contributions per group, and a refresh sums the
  change feed's contributions, signed (+ for new rows, - for old ones), and adds them to
  the stored values. Its cost follows the change, not the table;
* ``GroupRecompute`` tables (a max, a distinct count: not invertible) recompute only the
  groups the change feed touches, and MERGE them;
* the others are rewritten whole.

The refresh engine, the naive benchmark and the tests read this registry; the CLI and the
Dremio bootstrap read the core's declarations.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from lakehouse_core.gold import GOLD_NAMES, gold_table

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
    """The builds of the core's gold tables, in the core's order (a table may read only
    silver, never other gold)."""

    def __init__(self) -> None:
        self._tables: dict[str, GoldTable] = {}

    def _add(self, table: GoldTable) -> None:
        if table.name in self._tables:
            raise ValueError(f"gold table {table.name!r} is built twice")
        self._tables[table.name] = table

    def table(
        self, name: str, *, incremental: GroupRecompute | None = None
    ) -> Callable[[Build], Build]:
        """Decorator: the function builds the core's gold table ``name``."""
        spec = gold_table(name)

        def register(build: Build) -> Build:
            self._add(GoldTable(name, spec.sources, spec.key, spec.description, build, incremental))
            return build

        return register

    def additive(
        self,
        name: str,
        *,
        measures: tuple[str, ...],
        count: str,
        derived: Callable[[Measure], dict[str, Column]] = lambda _m: {},
    ) -> Callable[[Callable[[DataFrame], DataFrame]], Callable[[DataFrame], DataFrame]]:
        """Decorator: the function gives the per-row contributions of the core's additive
        gold table ``name`` (which reads exactly one silver table)."""
        spec = gold_table(name)
        if len(spec.sources) != 1:
            raise ValueError(f"additive gold table {name!r} must read one table: {spec.sources}")
        [source] = spec.sources

        def register(
            contributions: Callable[[DataFrame], DataFrame],
        ) -> Callable[[DataFrame], DataFrame]:
            strategy = SignedDelta(source, contributions, measures, count, derived)

            def build(read: ReadTable, groups: DataFrame | None = None) -> DataFrame:
                return strategy.build(read(source), spec.key)

            self._add(GoldTable(name, spec.sources, spec.key, spec.description, build, strategy))
            return contributions

        return register

    def check_complete(self) -> None:
        """Every gold table the core declares has a build, in the core's order."""
        missing = [name for name in GOLD_NAMES if name not in self._tables]
        if missing:
            raise ValueError(
                f"gold table(s) declared in lakehouse_core.gold without a build: {missing}"
            )
        self._tables = {name: self._tables[name] for name in GOLD_NAMES}

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
