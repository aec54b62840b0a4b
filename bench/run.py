"""``make bench``: wall time and rows/s per layer, against baselines measured in the same run.

For each scale factor (default 0.1 and 1):

* floor: pyarrow reads the same landing CSVs and writes plain Parquet to the same MinIO,
  the least work any ingest can do (ratio bronze/floor);
* the pipeline on the TPC-H snapshot (bronze, silver, gold), then on one change batch
  touching about 1% of the orders, incrementally;
* naive: the same change batch handled the way the original tutorial does, rebuilding
  every layer from scratch (ratio incremental/naive).

Writes bench/results.json (machine-readable) and prints a short table. Not a test: the
numbers depend on the machine; the ratios are what to compare across machines.
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lakehouse.datagen.landing import GeneratorSettings, generate
from lakehouse.local.minio import LocalMinio
from lakehouse.s3 import ObjectStore, S3Endpoint
from lakehouse_core import versions
from lakehouse_core.catalog import CATALOG, TPCH_DATASETS, LakeCatalog, Layer

RESULTS = Path(__file__).with_name("results.json")
log = logging.getLogger("bench")


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def floor_pyarrow(endpoint: S3Endpoint, catalog: LakeCatalog, out_bucket: str) -> tuple[float, int]:
    """Read the snapshot's landing CSVs and write plain Parquet to MinIO with pyarrow."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq
    from pyarrow import fs

    s3 = fs.S3FileSystem(
        access_key=endpoint.access_key,
        secret_key=endpoint.secret_key,
        endpoint_override=endpoint.url,
        scheme="http",
        region=endpoint.region,
    )
    rows = 0
    started = time.perf_counter()
    for dataset in TPCH_DATASETS:
        key = catalog.landing_key(dataset.name, 1) + f"{dataset.name}.csv"
        with s3.open_input_stream(f"{catalog.bucket}/{key}") as stream:
            table = pacsv.read_csv(stream)
        rows += table.num_rows
        pq.write_table(table, f"{out_bucket}/floor/{dataset.name}.parquet", filesystem=s3)
    return time.perf_counter() - started, rows


def naive_rebuild(spark: Any, source: LakeCatalog, target: LakeCatalog) -> dict[str, float]:
    """Rebuild bronze, silver and gold from all landing files, overwriting everything."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    from lakehouse_jobs import gold, landing, validation

    timings: dict[str, float] = {}
    started = time.perf_counter()
    for dataset in TPCH_DATASETS:
        frames = []
        for batch_id, uri in sorted(
            landing.list_batches(spark, source.landing_uri(dataset.name)).items()
        ):
            raw = landing.read_batch(spark, dataset, landing.list_files(spark, uri))
            if raw is not None:
                frames.append(raw.withColumn("_batch_id", F.lit(batch_id).cast("bigint")))
        bronze = frames[0]
        for frame in frames[1:]:
            bronze = bronze.unionByName(frame)
        bronze.write.format("delta").mode("overwrite").save(
            target.table_uri(Layer.BRONZE, dataset.name)
        )
    timings["bronze"] = time.perf_counter() - started

    started = time.perf_counter()
    for dataset in TPCH_DATASETS:
        bronze = spark.read.format("delta").load(target.table_uri(Layer.BRONZE, dataset.name))
        typed = [validation.typed(c).alias(c.name) for c in dataset.columns]
        seq = F.expr("try_cast(_change_seq AS bigint)")
        keyed = bronze.select(
            *typed,
            F.coalesce(F.upper("_op"), F.lit("U")).alias("op"),
            seq.alias("seq"),
            "_batch_id",
        )
        latest = Window.partitionBy(*dataset.key).orderBy(
            F.col("seq").desc_nulls_last(), F.col("_batch_id").desc()
        )
        silver = (
            keyed.withColumn("rn", F.row_number().over(latest))
            .where("rn = 1 AND op <> 'D'")
            .drop("rn", "op", "seq")
        )
        silver.write.format("delta").mode("overwrite").save(
            target.table_uri(Layer.SILVER, dataset.name)
        )
    timings["silver"] = time.perf_counter() - started

    started = time.perf_counter()

    def read(name: str) -> Any:
        return spark.read.format("delta").load(target.table_uri(Layer.SILVER, name))

    for table in gold.GOLD.reading(d.name for d in TPCH_DATASETS):
        table.build(read).write.format("delta").mode("overwrite").save(
            target.table_uri(Layer.GOLD, table.name)
        )
    timings["gold"] = time.perf_counter() - started
    return timings


def layer_rows(results: list[Any], layer: str) -> int:
    return sum(
        r.rows_in if layer != "gold" else r.rows_applied for r in results if r.layer == layer
    )


def bench_scale(scale: float, cores: int, driver_memory: str) -> dict[str, Any]:
    from lakehouse.local.spark import LocalSpark, local_session
    from lakehouse_jobs.main import run_layers

    with LocalMinio(log=log.info) as minio:
        endpoint = S3Endpoint(
            minio.endpoint, minio.credentials.access_key, minio.credentials.secret_key
        )
        # One bucket per scale: Hadoop caches S3A clients per bucket for the JVM's lifetime,
        # and each scale runs its own MinIO.
        label = f"{scale:g}".replace(".", "-")
        catalog = CATALOG.with_bucket(f"bench-sf{label}")
        naive = CATALOG.with_bucket(f"bench-sf{label}-naive")
        store = ObjectStore(endpoint, catalog.bucket)
        ObjectStore(endpoint, naive.bucket).ensure_bucket()
        settings = GeneratorSettings(scale=scale, seed=1, fraction=0.01)
        gen_seconds, _ = timed(lambda: generate(store, settings, 0, catalog, log=log.info))

        floor_seconds, floor_rows = floor_pyarrow(endpoint, catalog, naive.bucket)
        spark = local_session(
            "lakehouse-bench",
            LocalSpark(
                endpoint, cores=cores, driver_memory=driver_memory, shuffle_partitions=cores * 2
            ),
        )
        try:
            snapshot: dict[str, Any] = {}
            for layer in ("bronze", "silver", "gold"):
                seconds, results = timed(
                    lambda layer=layer: run_layers(spark, catalog, layer, ["tpch"])
                )
                rows = layer_rows(results, layer)
                snapshot[layer] = {
                    "seconds": round(seconds, 2),
                    "rows": rows,
                    "rows_per_second": round(rows / seconds, 1) if seconds else None,
                }
                log.info("snapshot %s: %.1fs for %d rows", layer, seconds, rows)

            generate(store, settings, 1, catalog, log=log.info)  # batch 2: about 1% of the orders
            change: dict[str, Any] = {}
            for layer in ("bronze", "silver", "gold"):
                seconds, results = timed(
                    lambda layer=layer: run_layers(spark, catalog, layer, ["tpch"])
                )
                change[layer] = {
                    "seconds": round(seconds, 2),
                    "rows": layer_rows(results, layer),
                    "notes": sorted({r.note for r in results if r.note}),
                }
                log.info("change batch %s: %.1fs", layer, seconds)
            naive_timings = naive_rebuild(spark, catalog, naive)
            log.info("naive rebuild: %s", naive_timings)
        finally:
            spark.stop()
    incremental_total = sum(v["seconds"] for v in change.values())
    naive_total = sum(naive_timings.values())
    return {
        "scale_factor": scale,
        "landing_generation_seconds": round(gen_seconds, 2),
        "floor": {
            "seconds": round(floor_seconds, 2),
            "rows": floor_rows,
            "rows_per_second": round(floor_rows / floor_seconds, 1),
        },
        "snapshot": snapshot,
        "change_batch": change,
        "naive_rebuild": {k: round(v, 2) for k, v in naive_timings.items()},
        "ratios": {
            "bronze_over_floor": round(snapshot["bronze"]["seconds"] / floor_seconds, 2),
            "incremental_over_naive": round(incremental_total / naive_total, 3),
            **{
                f"{layer}_incremental_over_naive": round(
                    change[layer]["seconds"] / naive_timings[layer], 3
                )
                for layer in ("bronze", "silver", "gold")
            },
        },
    }


def print_table(results: list[dict[str, Any]]) -> None:
    print(
        f"\n{'scale':>6} {'layer':7} {'snapshot s':>10} {'rows/s':>11} "
        f"{'change s':>9} {'naive s':>8}"
    )
    for r in results:
        for layer in ("bronze", "silver", "gold"):
            snap = r["snapshot"][layer]
            print(
                f"{r['scale_factor']:>6g} {layer:7} {snap['seconds']:>10.1f} "
                f"{snap['rows_per_second'] or 0:>11,.0f} "
                f"{r['change_batch'][layer]['seconds']:>9.1f} "
                f"{r['naive_rebuild'][layer]:>8.1f}"
            )
        ratios = r["ratios"]
        print(
            f"{'':>6} floor {r['floor']['seconds']:.1f}s "
            f"({r['floor']['rows_per_second']:,.0f} rows/s); "
            f"bronze/floor = {ratios['bronze_over_floor']}; "
            f"incremental/naive = {ratios['incremental_over_naive']}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=float, nargs="+", default=[0.1, 1.0])
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--driver-memory", default="6g")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    for noisy in ("py4j", "botocore", "boto3", "urllib3", "s3transfer"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    results = [bench_scale(scale, args.cores, args.driver_memory) for scale in args.scales]
    document = {
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {
            "platform": platform.platform(),
            "cpus": args.cores,
            "python": platform.python_version(),
        },
        "versions": {"spark": versions.SPARK_VERSION, "delta": versions.DELTA_VERSION},
        "results": results,
    }
    args.out.write_text(json.dumps(document, indent=2) + "\n")
    print_table(results)
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    with tempfile.TemporaryDirectory():
        main()
