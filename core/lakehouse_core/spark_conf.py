"""The Spark settings every session of the lakehouse runs with: the jobs', the Spark
Connect server's (interactive sessions), the tests'.

Standard library only: the job image carries this module.
"""

from __future__ import annotations

# Settings every job runs with. Above all they keep every table at Delta reader version
# 1-2, which is all Dremio OSS reads: no deletion vectors, no TimestampNTZ (timestamps are
# always LTZ), classic checkpoints (the default).
SESSION_CONF: dict[str, str] = {
    "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
    "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
    "spark.databricks.delta.properties.defaults.enableDeletionVectors": "false",
    "spark.sql.timestampType": "TIMESTAMP_LTZ",
    "spark.sql.session.timeZone": "UTC",
    # A schema change must be deliberate: never let a write silently add columns.
    "spark.databricks.delta.schema.autoMerge.enabled": "false",
    # Idempotent DML (MERGE with txnAppId/txnVersion) must not leak into the next statement.
    "spark.databricks.delta.write.txnVersion.autoReset.enabled": "true",
    # MERGE sources are deterministic here (persisted, or read at pinned versions), so
    # Delta need not copy them before merging.
    "spark.databricks.delta.merge.materializeSource": "none",
    # Silver's validity test is one large boolean expression; inferring constraints from it
    # across a MERGE's joins made the optimizer run out of memory (seen at TPC-H SF 0.01).
    "spark.sql.constraintPropagation.enabled": "false",
}

# Options for every JVM that runs a job (driver and executors). HotSpot never JIT-compiles
# a method of more than 8,000 bytes of bytecode; the code Spark generates for silver's
# validity test and typed columns is larger, so without this it ran interpreted. Measured
# with TPC-H SF 1 lineitem on two cores: caching the valid typed rows took 83.6 s with
# HotSpot's default and 37.8 s with this flag; Spark's own fallback for huge methods
# (``spark.sql.codegen.hugeMethodLimit=8000``) took 47.8 s (docs/benchmarks.md).
JOB_JVM_OPTIONS: tuple[str, ...] = ("-XX:-DontCompileHugeMethods",)
