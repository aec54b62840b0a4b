"""The SQL the project and its docs send to Dremio, answered by DuckDB over the lake.

Table references are the source paths Dremio uses (``lake.lakehouse.deltalake.gold.t``,
quoted or not, optionally ``AT SNAPSHOT '<version>'``); each is replaced by the rows the
catalog gives for it, and DuckDB runs the rest. ``ALTER TABLE <path> REFRESH METADATA``
is the catalog's own operation, with Dremio's one-row ``ok``/``summary`` answer. Results
are shaped as Dremio's REST API returns them: a typed schema, and values as Dremio writes
them (timestamps ``YYYY-MM-DD HH:MM:SS.mmm`` in UTC, decimals as exact numbers).
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import json
import math
import re
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from lakehouse_dremio_double.catalog import ApiError, Catalog

_TOKEN = re.compile(
    r"""
    (?P<string>'(?:[^']|'')*')
  | (?P<quoted>"(?:[^"]|"")*")
  | (?P<word>[A-Za-z_][A-Za-z0-9_$]*)
  | (?P<dot>\.)
  | (?P<space>\s+)
  | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)
_SNAPSHOT = re.compile(r"\s*AT\s+SNAPSHOT\s+'(?P<version>[^']*)'", re.IGNORECASE)
_REFRESH = re.compile(r"^\s*ALTER\s+TABLE\s+(?P<rest>.+?)\s*;?\s*$", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class Reference:
    start: int
    end: int
    path: list[str]
    snapshot: str | None


def _identifier(kind: str, text: str) -> str:
    return text[1:-1].replace('""', '"') if kind == "quoted" else text


def table_references(sql: str, sources: set[str]) -> list[Reference]:
    """Dotted identifier chains that start with a source name, with their AT SNAPSHOT."""
    tokens = [(m.lastgroup, m.group(), m.start(), m.end()) for m in _TOKEN.finditer(sql)]
    refs: list[Reference] = []
    i = 0
    while i < len(tokens):
        kind, text, start, _ = tokens[i]
        if kind in ("word", "quoted") and _identifier(str(kind), text).lower() in sources:
            path, j, end = [_identifier(str(kind), text)], i + 1, tokens[i][3]
            while (
                j + 1 < len(tokens)
                and tokens[j][0] == "dot"
                and tokens[j + 1][0] in ("word", "quoted")
            ):
                path.append(_identifier(str(tokens[j + 1][0]), tokens[j + 1][1]))
                end = tokens[j + 1][3]
                j += 2
            previous = next((t for t in reversed(tokens[:i]) if t[0] != "space"), None)
            if len(path) > 1 and not (previous and previous[0] == "dot"):
                snapshot = _SNAPSHOT.match(sql, end)
                if snapshot:
                    end = snapshot.end()
                refs.append(
                    Reference(start, end, path, snapshot.group("version") if snapshot else None)
                )
                while j < len(tokens) and tokens[j][2] < end:
                    j += 1
                i = j
                continue
        i += 1
    return refs


def run(catalog: Catalog, sql: str) -> pa.Table:
    """Run one statement; ApiError(400, Dremio's message) when the job would fail."""
    sources = {str(s["name"]).lower() for s in catalog.kv.store.sources.values()}
    refresh = _REFRESH.match(sql)
    if refresh:
        return _refresh(catalog, refresh.group("rest"), sources)
    refs = table_references(sql, sources)
    import duckdb

    connection = duckdb.connect()
    try:
        text, offset = sql, 0
        for n, ref in enumerate(refs):
            version = None
            if ref.snapshot is not None:
                try:
                    version = int(ref.snapshot)
                except ValueError:
                    raise ApiError(
                        400,
                        f"The provided snapshot ID '{ref.snapshot}' is invalid for delta dataset "
                        f"{'.'.join(ref.path)}.",
                    ) from None
            view = f"__dremio_table_{n}"
            connection.register(view, catalog.table_for_query(ref.path, version))
            text = text[: ref.start + offset] + view + text[ref.end + offset :]
            offset += len(view) - (ref.end - ref.start)
        try:
            return connection.sql(text).to_arrow_table()
        except duckdb.Error as err:
            raise ApiError(400, f"{type(err).__name__}: {err}") from None
    finally:
        connection.close()


def _refresh(catalog: Catalog, rest: str, sources: set[str]) -> pa.Table:
    refs = table_references(rest, sources)
    if not refs or refs[0].start != 0:
        raise ApiError(400, f"Failure parsing the query: ALTER TABLE {rest}")
    options = rest[refs[0].end :].upper().split()
    if options[:2] != ["REFRESH", "METADATA"]:
        raise ApiError(400, f"Failure parsing the query: ALTER TABLE {rest}")
    if "FILES" in options and "FOR" in options:
        raise ApiError(400, "Refresh metadata for files are not supported")
    ok, summary = catalog.refresh(refs[0].path, auto_promotion="AUTO" in options)
    return pa.table({"ok": pa.array([ok]), "summary": pa.array([summary])})


# --- results as Dremio's REST API writes them ------------------------------------------------


def dremio_type(arrow: pa.DataType) -> dict[str, Any]:
    if pa.types.is_decimal(arrow):
        return {"name": "DECIMAL", "precision": arrow.precision, "scale": arrow.scale}
    simple = [
        (pa.types.is_int8, "TINYINT"),
        (pa.types.is_int16, "SMALLINT"),
        (pa.types.is_int32, "INTEGER"),
        (pa.types.is_int64, "BIGINT"),
        (pa.types.is_float32, "FLOAT"),
        (pa.types.is_float64, "DOUBLE"),
        (pa.types.is_boolean, "BOOLEAN"),
        (pa.types.is_date, "DATE"),
        (pa.types.is_timestamp, "TIMESTAMP"),
        (pa.types.is_time, "TIME"),
        (pa.types.is_string, "VARCHAR"),
        (pa.types.is_large_string, "VARCHAR"),
        (pa.types.is_binary, "VARBINARY"),
        (pa.types.is_large_binary, "VARBINARY"),
        (pa.types.is_struct, "STRUCT"),
        (pa.types.is_list, "LIST"),
        (pa.types.is_map, "MAP"),
    ]
    for test, name in simple:
        if test(arrow):
            return {"name": name}
    if pa.types.is_unsigned_integer(arrow):
        return {"name": "BIGINT"}
    return {"name": "OTHER"}


def schema_json(schema: pa.Schema) -> list[dict[str, Any]]:
    return [{"name": f.name, "type": dremio_type(f.type)} for f in schema]


def _value(value: Any, arrow: pa.DataType) -> str:
    """One value as JSON text, the way Dremio's DataJsonOutput writes it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, decimal.Decimal):
        return format(value, "f")  # an exact JSON number, scale kept
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
        return json.dumps(value.strftime("%Y-%m-%d %H:%M:%S.") + f"{value.microsecond // 1000:03d}")
    if isinstance(value, dt.date):
        return json.dumps(value.isoformat())
    if isinstance(value, dt.time):
        return json.dumps(value.strftime("%H:%M:%S.") + f"{value.microsecond // 1000:03d}")
    if isinstance(value, bytes):
        return json.dumps(base64.b64encode(value).decode())
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else json.dumps(str(value))
    if isinstance(value, dict):
        items = (f"{json.dumps(k)}:{_value(v, pa.null())}" for k, v in value.items())
        return "{" + ",".join(items) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_value(v, pa.null()) for v in value) + "]"
    return json.dumps(value)


def rows_json(table: pa.Table, offset: int, limit: int) -> str:
    """The ``rows`` array of one results page, as JSON text."""
    page = table.slice(offset, limit)
    fields = list(page.schema)
    lines = []
    for row in page.to_pylist():
        items = (f"{json.dumps(f.name)}:{_value(row[f.name], f.type)}" for f in fields)
        lines.append("{" + ",".join(items) + "}")
    return "[" + ",".join(lines) + "]"
