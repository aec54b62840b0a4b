"""Row validation for silver: every problem a raw row has, as a reason code and a message.

A row is rejected when it has at least one problem; ``reason`` is the first problem's code
(in the order of ``REASONS``) and ``detail`` lists all of them, so the rejects table tells
an operator what to fix without re-reading the landing file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property, reduce

from pyspark.sql import Column
from pyspark.sql import functions as F

from lakehouse_core.catalog import (
    CHANGE_OPS,
    CHANGE_SEQ_COLUMN,
    CORRUPT_RECORD_COLUMN,
    EXTRA_COLUMNS_COLUMN,
    MISSING_COLUMNS_COLUMN,
    OP_COLUMN,
    OP_DELETE,
    Dataset,
)
from lakehouse_core.catalog import (
    Column as CatalogColumn,
)

# In order of precedence: the first one found becomes the row's reason.
REASONS = (
    "invalid_encoding",
    "malformed_record",
    "unexpected_columns",
    "missing_columns",
    "null_key",
    "invalid_op",
    "missing_value",
    "invalid_value",
    "out_of_range",
    "duplicate_key",
)

REPLACEMENT_CHAR = "\ufffd"


def raw(name: str) -> Column:
    return F.col(f"`{name}`")


def typed(column: CatalogColumn) -> Column:
    """The raw string cast to the column's type; NULL when it does not convert."""
    if column.type == "string":
        return raw(column.name)
    return F.expr(f"try_cast(`{column.name}` AS {column.type})")


@dataclass(frozen=True)
class Check:
    """One rule: when ``failed`` holds, the row has problem ``code`` with ``message``."""

    failed: Column
    code: str
    message: Column


def _check(failed: Column, code: str, message: Column | str) -> Check:
    return Check(failed, code, F.lit(message) if isinstance(message, str) else message)


def _quoted(c: Column) -> Column:
    return F.concat(F.lit("'"), c, F.lit("'"))


TypedOf = Callable[[CatalogColumn], Column]


def checks(dataset: Dataset, typed_of: TypedOf = typed) -> list[Check]:
    """Every rule a raw row of ``dataset`` must pass, in the order of ``REASONS``.

    ``typed_of`` gives each column's cast value; pass columns computed once beforehand to
    spare Spark from casting the same string in every check. ``RowValidation``'s flag and
    messages both derive from this one list, so the cheap predicate and the messages cannot
    disagree.
    """
    is_delete = F.coalesce(F.upper(raw(OP_COLUMN)) == OP_DELETE, F.lit(False))
    raw_values = [raw(c) for c in dataset.raw_column_names] + [F.col(CORRUPT_RECORD_COLUMN)]
    found: list[Check] = [
        _check(
            F.concat_ws("\u0001", *raw_values).contains(REPLACEMENT_CHAR),
            "invalid_encoding",
            "the line is not valid UTF-8",
        ),
        _check(
            F.col(CORRUPT_RECORD_COLUMN).isNotNull(),
            "malformed_record",
            "the line does not parse or has the wrong number of fields",
        ),
        _check(
            F.col(EXTRA_COLUMNS_COLUMN).isNotNull(),
            "unexpected_columns",
            F.concat(F.lit("columns not in the catalog: "), F.col(EXTRA_COLUMNS_COLUMN)),
        ),
        _check(
            F.col(MISSING_COLUMNS_COLUMN).isNotNull(),
            "missing_columns",
            F.concat(F.lit("the file has no column "), F.col(MISSING_COLUMNS_COLUMN)),
        ),
    ]
    for key in dataset.key:
        found.append(_check(raw(key).isNull(), "null_key", f"key column {key} is empty"))
    found.append(
        _check(
            raw(OP_COLUMN).isNotNull() & ~F.upper(raw(OP_COLUMN)).isin(*CHANGE_OPS),
            "invalid_op",
            F.concat(
                F.lit(f"{OP_COLUMN} "),
                _quoted(raw(OP_COLUMN)),
                F.lit(f" is not one of {', '.join(CHANGE_OPS)}"),
            ),
        )
    )
    found.append(
        _check(
            raw(CHANGE_SEQ_COLUMN).isNotNull()
            & F.expr(f"try_cast(`{CHANGE_SEQ_COLUMN}` AS bigint)").isNull(),
            "invalid_value",
            F.concat(
                F.lit(f"{CHANGE_SEQ_COLUMN}="),
                _quoted(raw(CHANGE_SEQ_COLUMN)),
                F.lit(" is not a bigint"),
            ),
        )
    )
    for column in dataset.columns:
        # A delete needs only its key; the other fields of a delete may be empty.
        applies = F.lit(True) if column.name in dataset.key else ~is_delete
        found += _column_checks(column, applies, typed_of(column))
    return found


class RowValidation:
    """A dataset's validity flag and problem list, both from one list of checks.

    Building the checks is a few hundred calls from Python into the JVM (a few tenths of a
    second); silver needs the flag for every batch and the messages for a batch with
    rejects, so it builds the list once and takes both views from it.
    """

    def __init__(self, dataset: Dataset, typed_of: TypedOf = typed) -> None:
        self._checks = checks(dataset, typed_of)

    @cached_property
    def is_valid(self) -> Column:
        """True for a row with no problem: one boolean expression, no arrays, no strings.

        Silver filters every row with this and builds the messages (``problems``) only for
        the rows that fail it, which are few.
        """
        failed = [F.coalesce(c.failed, F.lit(False)) for c in self._checks]
        return ~reduce(lambda a, b: a | b, failed)

    @cached_property
    def problems(self) -> Column:
        """An array<string> of 'code: message' entries, empty for a valid row."""
        entries = [
            F.when(c.failed, F.concat(F.lit(f"{c.code}: "), c.message)) for c in self._checks
        ]
        return F.filter(F.array(*entries), lambda x: x.isNotNull())


def _column_checks(column: CatalogColumn, applies: Column, cast: Column) -> list[Check]:
    value = raw(column.name)
    found = []
    if column.required:
        found.append(
            _check(applies & value.isNull(), "missing_value", f"{column.name} is required")
        )
    found.append(
        _check(
            applies & value.isNotNull() & cast.isNull(),
            "invalid_value",
            F.concat(
                F.lit(f"{column.name}="), _quoted(value), F.lit(f" is not a valid {column.type}")
            ),
        )
    )
    if column.allowed:
        found.append(
            _check(
                applies & cast.isNotNull() & ~cast.isin(*column.allowed),
                "invalid_value",
                F.concat(
                    F.lit(f"{column.name}="),
                    _quoted(value),
                    F.lit(f" is not one of {', '.join(column.allowed)}"),
                ),
            )
        )
    if column.min_value is not None:
        found.append(
            _check(
                applies & (cast < F.lit(column.min_value).cast(column.type)),
                "out_of_range",
                F.concat(F.lit(f"{column.name}="), value, F.lit(f" is below {column.min_value}")),
            )
        )
    if column.max_value is not None:
        found.append(
            _check(
                applies & (cast > F.lit(column.max_value).cast(column.type)),
                "out_of_range",
                F.concat(F.lit(f"{column.name}="), value, F.lit(f" is above {column.max_value}")),
            )
        )
    return found


def first_reason(problem_list: Column) -> Column:
    """The highest-precedence code among the row's problems (NULL for a valid row)."""
    codes = F.transform(problem_list, lambda p: F.split(p, ":").getItem(0))
    ranked = [F.when(F.array_contains(codes, code), F.lit(code)) for code in REASONS]
    return F.coalesce(*ranked)
