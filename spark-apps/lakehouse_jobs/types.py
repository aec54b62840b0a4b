"""Spark types for the catalog's type names (kept here: the catalog must not import pyspark)."""

from __future__ import annotations

import re

from pyspark.sql.types import (
    DataType,
    DateType,
    DecimalType,
    IntegerType,
    LongType,
    StringType,
    TimestampType,
)

_SIMPLE: dict[str, DataType] = {
    "bigint": LongType(),
    "int": IntegerType(),
    "string": StringType(),
    "date": DateType(),
    # Always with local time zone: Dremio cannot read Delta's TimestampNTZ.
    "timestamp": TimestampType(),
}
_DECIMAL = re.compile(r"^decimal\((\d+),\s*(\d+)\)$")


def spark_type(name: str) -> DataType:
    if name in _SIMPLE:
        return _SIMPLE[name]
    m = _DECIMAL.match(name)
    if m:
        return DecimalType(int(m.group(1)), int(m.group(2)))
    raise ValueError(f"the catalog uses type {name!r}, which the jobs do not know")
