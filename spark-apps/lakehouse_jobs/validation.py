"""Row validation for silver: every problem a raw row has, as a reason code and a message.

A row is rejected when it has at least one problem; ``reason`` is the first problem's code
(in the order of ``REASONS``) and ``detail`` lists all of them, so the rejects table tells
an operator what to fix without re-reading the landing file.
"""

from __future__ import annotations

from collections.abc import Callable

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


def _problem(condition: Column, code: str, message: Column | str) -> Column:
    text = F.lit(message) if isinstance(message, str) else message
    return F.when(condition, F.concat(F.lit(f"{code}: "), text))


def _quoted(c: Column) -> Column:
    return F.concat(F.lit("'"), c, F.lit("'"))


TypedOf = Callable[[CatalogColumn], Column]


def problems(dataset: Dataset, typed_of: TypedOf = typed) -> Column:
    """An array<string> of 'code: message' entries, empty for a valid row.

    ``typed_of`` gives each column's cast value; pass columns computed once beforehand to
    spare Spark from casting the same string in every check.
    """
    is_delete = F.coalesce(F.upper(raw(OP_COLUMN)) == OP_DELETE, F.lit(False))
    raw_values = [raw(c) for c in dataset.raw_column_names] + [F.col(CORRUPT_RECORD_COLUMN)]
    checks: list[Column] = [
        _problem(
            F.concat_ws("\u0001", *raw_values).contains(REPLACEMENT_CHAR),
            "invalid_encoding",
            "the line is not valid UTF-8",
        ),
        _problem(
            F.col(CORRUPT_RECORD_COLUMN).isNotNull(),
            "malformed_record",
            "the line does not parse or has the wrong number of fields",
        ),
        _problem(
            F.col(EXTRA_COLUMNS_COLUMN).isNotNull(),
            "unexpected_columns",
            F.concat(F.lit("columns not in the catalog: "), F.col(EXTRA_COLUMNS_COLUMN)),
        ),
        _problem(
            F.col(MISSING_COLUMNS_COLUMN).isNotNull(),
            "missing_columns",
            F.concat(F.lit("the file has no column "), F.col(MISSING_COLUMNS_COLUMN)),
        ),
    ]
    for key in dataset.key:
        checks.append(_problem(raw(key).isNull(), "null_key", f"key column {key} is empty"))
    checks.append(
        _problem(
            raw(OP_COLUMN).isNotNull() & ~F.upper(raw(OP_COLUMN)).isin(*CHANGE_OPS),
            "invalid_op",
            F.concat(
                F.lit(f"{OP_COLUMN} "),
                _quoted(raw(OP_COLUMN)),
                F.lit(f" is not one of {', '.join(CHANGE_OPS)}"),
            ),
        )
    )
    checks.append(
        _problem(
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
        checks += _column_checks(column, applies, typed_of(column))
    return F.filter(F.array(*checks), lambda x: x.isNotNull())


def _column_checks(column: CatalogColumn, applies: Column, cast: Column) -> list[Column]:
    value = raw(column.name)
    checks = []
    if column.required:
        checks.append(
            _problem(applies & value.isNull(), "missing_value", f"{column.name} is required")
        )
    checks.append(
        _problem(
            applies & value.isNotNull() & cast.isNull(),
            "invalid_value",
            F.concat(
                F.lit(f"{column.name}="), _quoted(value), F.lit(f" is not a valid {column.type}")
            ),
        )
    )
    if column.allowed:
        checks.append(
            _problem(
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
        checks.append(
            _problem(
                applies & (cast < F.lit(column.min_value).cast(column.type)),
                "out_of_range",
                F.concat(F.lit(f"{column.name}="), value, F.lit(f" is below {column.min_value}")),
            )
        )
    if column.max_value is not None:
        checks.append(
            _problem(
                applies & (cast > F.lit(column.max_value).cast(column.type)),
                "out_of_range",
                F.concat(F.lit(f"{column.name}="), value, F.lit(f" is above {column.max_value}")),
            )
        )
    return checks


def first_reason(problem_list: Column) -> Column:
    """The highest-precedence code among the row's problems (NULL for a valid row)."""
    codes = F.transform(problem_list, lambda p: F.split(p, ":").getItem(0))
    ranked = [F.when(F.array_contains(codes, code), F.lit(code)) for code in REASONS]
    return F.coalesce(*ranked)
