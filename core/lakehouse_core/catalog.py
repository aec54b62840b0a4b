"""The lake catalog: the only place that names the bucket layout, datasets, tables and keys.

The Spark jobs, the data generator, the Dremio automation, the Pulumi program (bucket and
IAM prefixes) and the tests all read this module, so a table or prefix is renamed here
and nowhere else.

Object layout in the bucket::

    landing/<dataset>/batch=<000001>/<file>.csv|json    raw files, never modified
    deltalake/bronze/<dataset>                          append-only, one commit per batch
    deltalake/silver/<dataset>                          typed, deduplicated, MERGEd
    deltalake/silver/<dataset>_rejects                  quarantined rows with a reason
    deltalake/gold/<table>                              business aggregates
    deltalake/_system/batch_audit_<layer>               per-batch counts that reconcile
    dremio/                                             Dremio's distributed storage

Must stay importable on Python 3.10 without third-party packages (the job image imports it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from enum import Enum

DEFAULT_BUCKET = "lakehouse"
# The time-travel window VACUUM keeps by default, in hours: a week.
DEFAULT_RETAIN_HOURS = 168.0
LANDING_PREFIX = "landing"
DELTA_PREFIX = "deltalake"
SYSTEM_PREFIX = f"{DELTA_PREFIX}/_system"
DREMIO_DIST_PREFIX = "dremio"
# Every Spark application's event log (the history server reads it, and cleans it).
SPARK_EVENTS_PREFIX = "spark-events"
# Where interactive sessions (Spark Connect) may write: never the lake's tables.
SCRATCH_PREFIX = "scratch"
# The scheduled backup's store (lakehouse_core.backup_layout), beside the lake it copies.
BACKUPS_PREFIX = "backups"
# The Dremio source that exposes the bucket; tables appear as lake.<bucket>.deltalake.<layer>.<t>
DREMIO_SOURCE_NAME = "lake"

BATCH_DIR_PATTERN = re.compile(r"^batch=(\d{1,18})$")
BATCH_ID_WIDTH = 6

# Columns that change batches carry in addition to a dataset's own columns.
OP_COLUMN = "_op"
CHANGE_SEQ_COLUMN = "_change_seq"
OP_UPSERT = "U"
OP_INSERT = "I"
OP_DELETE = "D"
CHANGE_OPS = (OP_INSERT, OP_UPSERT, OP_DELETE)

# Metadata columns bronze adds to every row.
BATCH_ID_COLUMN = "_batch_id"
SOURCE_FILE_COLUMN = "_source_file"
INGESTED_AT_COLUMN = "_ingested_at"
CORRUPT_RECORD_COLUMN = "_corrupt_record"
EXTRA_COLUMNS_COLUMN = "_extra_columns"
MISSING_COLUMNS_COLUMN = "_missing_columns"

# One audit table per layer: jobs of different layers may run at the same time and must
# never write the same Delta table (concurrent writers on S3 are unsafe).
BATCH_AUDIT_PREFIX = "batch_audit"


class Layer(str, Enum):
    """The medallion layers, in the order a run refreshes them (the one list of them)."""

    BRONZE = "bronze"
    SILVER = "silver"
    GOLD = "gold"


# What a run can be asked to refresh: one layer, or every layer in order.
ALL_LAYERS = "all"
LAYER_CHOICES: tuple[str, ...] = (*(layer.value for layer in Layer), ALL_LAYERS)
# Not a layer: compaction, checkpoints and VACUUM of what the layers wrote.
MAINTENANCE_STEP = "maintenance"
# The job step that puts one table back to an earlier version (Delta RESTORE).
RESTORE_STEP = "restore"
# The job step that copies the lake into BACKUPS_PREFIX (the scheduled backup).
BACKUP_STEP = "backup"


def layers_for(choice: str) -> tuple[Layer, ...]:
    """The layers a choice (``bronze``, ``silver``, ``gold`` or ``all``) runs, in order."""
    if choice == ALL_LAYERS:
        return tuple(Layer)
    try:
        return (Layer(choice),)
    except ValueError:
        raise ValueError(
            f"unknown layer {choice!r}; use one of {', '.join(LAYER_CHOICES)}"
        ) from None


@dataclass(frozen=True)
class Column:
    """A typed column with the validation silver applies to it.

    ``type`` is a Spark SQL type name (``bigint``, ``int``, ``decimal(15,2)``, ``date``,
    ``timestamp``, ``string``); timestamps are always with time zone (TIMESTAMP_LTZ),
    because Dremio cannot read Delta's TimestampNTZ.
    """

    name: str
    type: str
    required: bool = False
    allowed: tuple[str, ...] | None = None
    min_value: str | None = None
    max_value: str | None = None


@dataclass(frozen=True)
class Dataset:
    """A source dataset that flows landing -> bronze -> silver."""

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    source_format: str = "csv"
    # Orders changes to the same key within one batch; the batch id orders across batches.
    sequence_by: str | None = None
    description: str = ""
    # Silver's files are laid out in ranges of this column, the one changes concentrate on
    # (recent orders change most): a MERGE then rewrites the few files of recent ranges
    # instead of nearly every file. None for small tables and tables without such a column.
    cluster_by: str | None = None

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def raw_column_names(self) -> tuple[str, ...]:
        """Every column a landing file of this dataset may carry."""
        extra = (OP_COLUMN, CHANGE_SEQ_COLUMN)
        return self.column_names + tuple(c for c in extra if c not in self.column_names)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"dataset {self.name!r} has no column {name!r}")


def _c(name: str, type_: str, **kw: object) -> Column:
    return Column(name, type_, **kw)  # type: ignore[arg-type]


TPCH_DATASETS: tuple[Dataset, ...] = (
    Dataset(
        "region",
        (
            _c("r_regionkey", "bigint", required=True),
            _c("r_name", "string", required=True),
            _c("r_comment", "string"),
        ),
        key=("r_regionkey",),
        description="TPC-H regions",
    ),
    Dataset(
        "nation",
        (
            _c("n_nationkey", "bigint", required=True),
            _c("n_name", "string", required=True),
            _c("n_regionkey", "bigint", required=True),
            _c("n_comment", "string"),
        ),
        key=("n_nationkey",),
        description="TPC-H nations",
    ),
    Dataset(
        "customer",
        (
            _c("c_custkey", "bigint", required=True),
            _c("c_name", "string", required=True),
            _c("c_address", "string"),
            _c("c_nationkey", "bigint", required=True),
            _c("c_phone", "string"),
            _c("c_acctbal", "decimal(15,2)"),
            _c("c_mktsegment", "string"),
            _c("c_comment", "string"),
        ),
        key=("c_custkey",),
        description="TPC-H customers",
    ),
    Dataset(
        "orders",
        (
            _c("o_orderkey", "bigint", required=True),
            _c("o_custkey", "bigint", required=True),
            _c("o_orderstatus", "string", required=True, allowed=("F", "O", "P")),
            _c("o_totalprice", "decimal(15,2)", required=True, min_value="0"),
            _c("o_orderdate", "date", required=True),
            _c("o_orderpriority", "string"),
            _c("o_clerk", "string"),
            _c("o_shippriority", "int"),
            _c("o_comment", "string"),
        ),
        key=("o_orderkey",),
        sequence_by=CHANGE_SEQ_COLUMN,
        description="TPC-H orders, with change batches (insert, update, delete)",
        cluster_by="o_orderdate",
    ),
    Dataset(
        "lineitem",
        (
            _c("l_orderkey", "bigint", required=True),
            _c("l_partkey", "bigint", required=True),
            _c("l_suppkey", "bigint", required=True),
            _c("l_linenumber", "int", required=True),
            _c("l_quantity", "decimal(15,2)", required=True, min_value="0"),
            _c("l_extendedprice", "decimal(15,2)", required=True, min_value="0"),
            _c("l_discount", "decimal(15,2)", required=True, min_value="0", max_value="1"),
            _c("l_tax", "decimal(15,2)", required=True, min_value="0", max_value="1"),
            _c("l_returnflag", "string", required=True, allowed=("A", "N", "R")),
            _c("l_linestatus", "string", required=True, allowed=("F", "O")),
            _c("l_shipdate", "date", required=True),
            _c("l_commitdate", "date"),
            _c("l_receiptdate", "date"),
            _c("l_shipinstruct", "string"),
            _c("l_shipmode", "string"),
            _c("l_comment", "string"),
        ),
        key=("l_orderkey", "l_linenumber"),
        sequence_by=CHANGE_SEQ_COLUMN,
        description="TPC-H line items, with change batches",
        cluster_by="l_shipdate",
    ),
)

USERS_DATASET = Dataset(
    "users",
    (
        _c("id", "bigint", required=True),
        _c("name", "string", required=True),
        _c("location", "string"),
        _c("timestamp", "timestamp", required=True),
    ),
    key=("id",),
    source_format="json",
    sequence_by="timestamp",
    description="The original tutorial's users example, as JSON lines",
)

PIPELINES: dict[str, tuple[str, ...]] = {
    "tpch": tuple(d.name for d in TPCH_DATASETS),
    "users": (USERS_DATASET.name,),
}


def format_batch_id(batch_id: int) -> str:
    return f"batch={batch_id:0{BATCH_ID_WIDTH}d}"


def parse_batch_dir(name: str) -> int:
    """Parse ``batch=000042`` into 42, with an error that says what a batch dir must be."""
    m = BATCH_DIR_PATTERN.match(name.rstrip("/"))
    if not m:
        raise ValueError(
            f"landing directory {name!r} is not a batch: name batch directories "
            f"'batch=<number>', for example {format_batch_id(1)!r}"
        )
    return int(m.group(1))


@dataclass(frozen=True)
class LakeCatalog:
    """Where everything lives in one bucket; ``with_bucket`` gives the same layout elsewhere."""

    bucket: str = DEFAULT_BUCKET
    datasets: tuple[Dataset, ...] = field(default=(*TPCH_DATASETS, USERS_DATASET))
    # A Hadoop URI that replaces ``s3a://<bucket>`` (a local folder as ``file:/...``): the
    # jobs' fast tests run the same layout on a disk, without an object store.
    root: str | None = None

    def with_bucket(self, bucket: str) -> LakeCatalog:
        return replace(self, bucket=bucket)

    def on_filesystem(self, root: str) -> LakeCatalog:
        """The same layout under ``root`` (a Hadoop URI such as ``file:/tmp/lake``), not S3."""
        return replace(self, root=root.rstrip("/"))

    # --- lookups --------------------------------------------------------------------
    def dataset(self, name: str) -> Dataset:
        for d in self.datasets:
            if d.name == name:
                return d
        known = ", ".join(d.name for d in self.datasets)
        raise KeyError(f"unknown dataset {name!r}; the catalog has: {known}")

    def select_datasets(self, names: list[str] | tuple[str, ...] | None) -> tuple[Dataset, ...]:
        """Datasets by name or pipeline name (``tpch``, ``users``); all of them for None."""
        if not names:
            return self.datasets
        chosen: list[Dataset] = []
        for name in names:
            members = PIPELINES.get(name, (name,))
            for member in members:
                d = self.dataset(member)
                if d not in chosen:
                    chosen.append(d)
        return tuple(chosen)

    # --- object keys (no scheme) -------------------------------------------------------
    def landing_key(self, dataset: str, batch_id: int | None = None) -> str:
        key = f"{LANDING_PREFIX}/{dataset}/"
        return key if batch_id is None else f"{key}{format_batch_id(batch_id)}/"

    def table_key(self, layer: Layer, table: str) -> str:
        return f"{DELTA_PREFIX}/{layer.value}/{table}"

    def system_table_key(self, table: str) -> str:
        return f"{SYSTEM_PREFIX}/{table}"

    # --- URIs for Spark (s3a) ------------------------------------------------------------
    def uri(self, key: str) -> str:
        return f"{self.root}/{key}" if self.root else f"s3a://{self.bucket}/{key}"

    def landing_uri(self, dataset: str, batch_id: int | None = None) -> str:
        return self.uri(self.landing_key(dataset, batch_id))

    def table_uri(self, layer: Layer, table: str) -> str:
        return self.uri(self.table_key(layer, table))

    def system_table_uri(self, table: str) -> str:
        return self.uri(self.system_table_key(table))

    @staticmethod
    def audit_table(layer: Layer) -> str:
        return f"{BATCH_AUDIT_PREFIX}_{layer.value}"

    def audit_table_uris(self) -> list[str]:
        return [self.system_table_uri(self.audit_table(layer)) for layer in Layer]

    # --- derived names -------------------------------------------------------------------
    @staticmethod
    def rejects_table(dataset: str) -> str:
        return f"{dataset}_rejects"

    def tombstones_uri(self, dataset: str) -> str:
        """Silver's deleted keys with their sequence (internal: not a table for Dremio)."""
        return self.system_table_uri(f"tombstones_{dataset}")

    def dataset_tables(self) -> list[tuple[Layer, str]]:
        """Every bronze and silver table the datasets flow through, in layer order.

        Gold tables are declared in ``lakehouse_core.gold``.
        """
        tables: list[tuple[Layer, str]] = [(Layer.BRONZE, d.name) for d in self.datasets]
        for d in self.datasets:
            tables += [(Layer.SILVER, d.name), (Layer.SILVER, self.rejects_table(d.name))]
        return tables

    def dremio_path(self, layer: Layer, table: str) -> list[str]:
        """The table's path in Dremio, segment by segment."""
        return [DREMIO_SOURCE_NAME, self.bucket, DELTA_PREFIX, layer.value, table]


CATALOG = LakeCatalog()
