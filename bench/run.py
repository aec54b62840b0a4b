"""``make bench``: time per layer against baselines measured in the same run, as ratios.

For each TPC-H scale factor (default 0.1, 1 and 3; ``--sf10`` adds 10), on one MinIO:

* **floor**: pyarrow reads the snapshot's landing CSVs and writes plain Parquet (ratio
  bronze/floor: the least work any ingest can do);
* the **pipeline** (Spark): the snapshot (bronze, silver, gold), a run with nothing new,
  a change batch touching 1% of the orders, a change batch of a **fixed size** (the same
  number of orders at every scale: cost should follow the change, not the table), then
  maintenance;
* the **naive rebuild**: every layer rebuilt from all landing files, as the original
  tutorial does (ratio incremental/naive);
* the **single-node peer** (``bench.peer``, its own process): the same steps written
  plainly with delta-rs and DuckDB, checked for the same silver row counts, with its peak
  memory (ratio of each Spark layer to it).

Writes ``bench/results.json`` and ``bench/results.png`` (time per layer against scale) and
prints a table. A benchmark, not a test: the figures depend on the machine; the ratios are
what to compare across machines.
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from lakehouse import checkout
from lakehouse.datagen.landing import GeneratorSettings, generate
from lakehouse.local.minio import LocalMinio
from lakehouse.s3 import ObjectStore, S3Endpoint
from lakehouse_core import versions
from lakehouse_core.catalog import (
    CATALOG,
    DEFAULT_RETAIN_HOURS,
    LANDING_PREFIX,
    TPCH_DATASETS,
    LakeCatalog,
    Layer,
)

RESULTS = Path(__file__).with_name("results.json")
CHART = Path(__file__).with_name("results.png")
LAYERS = ("bronze", "silver", "gold")
ORDERS_PER_SCALE = 1_500_000
FIXED_CHANGED_ORDERS = 1_500  # 1% of the orders at SF 0.1, the same count at every scale
log = logging.getLogger("bench")


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = fn()
    return round(time.perf_counter() - started, 2), result


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
    return round(time.perf_counter() - started, 2), rows


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
    timings["bronze"] = round(time.perf_counter() - started, 2)

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
    timings["silver"] = round(time.perf_counter() - started, 2)

    started = time.perf_counter()

    def read(name: str) -> Any:
        return spark.read.format("delta").load(target.table_uri(Layer.SILVER, name))

    for table in gold.GOLD.reading(d.name for d in TPCH_DATASETS):
        table.build(read).write.format("delta").mode("overwrite").option(
            "overwriteSchema", "true"
        ).save(target.table_uri(Layer.GOLD, table.name))
    timings["gold"] = round(time.perf_counter() - started, 2)
    return timings


def copy_batch(store: ObjectStore, source_bucket: str, batch: int) -> None:
    """Land one batch in the pipeline's bucket (a server-side copy from the staging bucket)."""
    from lakehouse_core.catalog import format_batch_id

    for key in ObjectStore(store.endpoint, source_bucket).keys(f"{LANDING_PREFIX}/"):
        if f"/{format_batch_id(batch)}/" in key:
            store.client.copy_object(
                Bucket=store.bucket, Key=key, CopySource={"Bucket": source_bucket, "Key": key}
            )


def layer_rows(results: list[Any], layer: str) -> int:
    return sum(
        r.rows_in if layer != "gold" else r.rows_applied for r in results if r.layer == layer
    )


def run_step(spark: Any, catalog: LakeCatalog, label: str) -> dict[str, Any]:
    """Each layer's seconds and rows, and where its seconds went (``profile``: every phase
    of every table, and their sums per kind of phase, the costliest first)."""
    from lakehouse_jobs import profile
    from lakehouse_jobs.main import run_layers

    out: dict[str, Any] = {}
    for layer in LAYERS:
        with profile.collect() as phases:
            seconds, results = timed(
                lambda layer=layer: run_layers(spark, catalog, layer, ["tpch"])
            )
        rows = layer_rows(results, layer)
        out[layer] = {
            "seconds": seconds,
            "rows": rows,
            "rows_per_second": round(rows / seconds, 1) if seconds else None,
            "notes": sorted({r.note for r in results if r.note}),
            "profile": {
                "summary": profile.summary(phases),
                "phases": [asdict(p) for p in phases],
            },
        }
        log.info("%s %s: %.1fs, %d rows", label, layer, seconds, rows)
    return out


PEER_MEMORY_CAP_MIB = 12 * 1024  # half this machine: Spark and MinIO need the rest


def _rss_mib(pid: int) -> float:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def run_peer(endpoint: S3Endpoint, source: str, target: str) -> dict[str, Any]:
    """The peer in its own process, stopped (by its pid) if it outgrows its memory cap:
    a single-node stack holds whole tables in memory, and at some scale it no longer fits
    beside the rest; that scale is a result, not a crash of the benchmark."""
    command = [
        sys.executable, "-m", "bench.peer", "--endpoint", endpoint.url,
        "--access-key", endpoint.access_key, "--secret-key", endpoint.secret_key,
        "--source-bucket", source, "--target-bucket", target, "--change-batch", "2",
    ]  # fmt: skip
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen(command, stdout=out, stderr=err, text=True)
        peak = 0.0
        while process.poll() is None:
            peak = max(peak, _rss_mib(process.pid))
            if peak > PEER_MEMORY_CAP_MIB:
                process.kill()
                process.wait()
                return {
                    "error": f"outgrew its memory cap ({PEER_MEMORY_CAP_MIB} MiB) and was "
                    "stopped: the single-node stack does not fit this scale on this machine",
                    "peak_rss_mib": round(peak, 1),
                }
            time.sleep(0.2)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if process.returncode != 0:
        return {"error": (stderr or stdout)[-1500:]}
    return dict(json.loads(stdout.strip().splitlines()[-1]))


def silver_counts(spark: Any, catalog: LakeCatalog) -> dict[str, int]:
    return {
        d.name: spark.read.format("delta").load(catalog.table_uri(Layer.SILVER, d.name)).count()
        for d in TPCH_DATASETS
    }


def bench_scale(scale: float, cores: int, driver_memory: str) -> dict[str, Any]:
    from lakehouse.local.spark import LocalSpark, local_session
    from lakehouse_jobs.main import run_layers, run_maintenance

    with LocalMinio(log=log.info) as minio:
        endpoint = S3Endpoint(
            minio.endpoint, minio.credentials.access_key, minio.credentials.secret_key
        )
        label = f"{scale:g}".replace(".", "-")
        staging = CATALOG.with_bucket(f"bench-sf{label}-landing")
        catalog = CATALOG.with_bucket(f"bench-sf{label}")
        naive = CATALOG.with_bucket(f"bench-sf{label}-naive")
        for bucket in (catalog.bucket, naive.bucket):
            ObjectStore(endpoint, bucket).ensure_bucket()
        store = ObjectStore(endpoint, catalog.bucket)
        fixed_fraction = FIXED_CHANGED_ORDERS / (ORDERS_PER_SCALE * scale)
        settings = GeneratorSettings(scale=scale, seed=1, fraction=0.01)
        gen_seconds, report = timed(
            lambda: generate(
                ObjectStore(endpoint, staging.bucket), settings, 2, staging, log=log.info,
                batch_fractions={3: fixed_fraction},
            )
        )  # fmt: skip
        copy_batch(store, staging.bucket, 1)
        floor_seconds, floor_rows = floor_pyarrow(endpoint, catalog, naive.bucket)
        peer = run_peer(endpoint, staging.bucket, naive.bucket)
        log.info("peer: %s", peer)

        spark = local_session(
            "lakehouse-bench",
            LocalSpark(
                endpoint, cores=cores, driver_memory=driver_memory, shuffle_partitions=cores * 2
            ),
        )
        try:
            snapshot = run_step(spark, catalog, "snapshot")
            noop_seconds, _ = timed(lambda: run_layers(spark, catalog, "all", ["tpch"]))
            copy_batch(store, staging.bucket, 2)
            change = run_step(spark, catalog, "1% change")
            spark_counts_after_change = silver_counts(spark, catalog)
            copy_batch(store, staging.bucket, 3)
            fixed = run_step(spark, catalog, "fixed-size change")
            maintenance_seconds, _ = timed(
                lambda: run_maintenance(spark, catalog, ["tpch"], DEFAULT_RETAIN_HOURS)
            )
            naive_timings = naive_rebuild(spark, catalog, naive)
            log.info("naive rebuild: %s", naive_timings)
        finally:
            spark.stop()

    def total(step: dict[str, Any]) -> float:
        return round(sum(step[layer]["seconds"] for layer in LAYERS), 2)

    naive_total = round(sum(naive_timings.values()), 2)
    ratios: dict[str, Any] = {
        "bronze_over_floor": round(snapshot["bronze"]["seconds"] / floor_seconds, 2),
        "change_incremental_over_naive": round(total(change) / naive_total, 3),
        "fixed_incremental_over_naive": round(total(fixed) / naive_total, 3),
        **{
            f"{layer}_change_over_naive": round(change[layer]["seconds"] / naive_timings[layer], 3)
            for layer in LAYERS
        },
    }
    if "error" not in peer:
        ratios |= {
            "bronze_over_peer": round(snapshot["bronze"]["seconds"] / peer["bronze_seconds"], 2),
            "silver_over_peer": round(snapshot["silver"]["seconds"] / peer["silver_seconds"], 2),
            "gold_over_peer": round(snapshot["gold"]["seconds"] / peer["gold_seconds"], 2),
            "change_merge_over_peer": round(
                change["silver"]["seconds"] / peer["change_merge_seconds"], 2
            ),
        }
        peer["same_silver_counts_after_change"] = all(
            peer["silver_rows_after_change"].get(name, count) == count
            for name, count in spark_counts_after_change.items()
        ) and all(peer["silver_rows"].get(name) is not None for name in spark_counts_after_change)
    return {
        "scale_factor": scale,
        # Per scale: `--add` keeps scales measured by other runs, at other commits.
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "commit": checkout.commit(),
        "landing_generation_seconds": gen_seconds,
        "change_batches": {str(k): v for k, v in report.change_counts.items()},
        "fixed_changed_orders": FIXED_CHANGED_ORDERS,
        "floor": {
            "seconds": floor_seconds,
            "rows": floor_rows,
            "rows_per_second": round(floor_rows / floor_seconds, 1),
        },
        "snapshot": snapshot,
        "noop_seconds": noop_seconds,
        "change_1pct": change,
        "change_fixed": fixed,
        "maintenance_seconds": maintenance_seconds,
        "naive_rebuild": naive_timings,
        "peer": peer,
        "spark_silver_rows_after_change": spark_counts_after_change,
        "ratios": ratios,
    }


def chart(results: list[dict[str, Any]], path: Path) -> None:
    """Time per layer against scale: snapshot, 1% and fixed-size change, naive, peer."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scales = [r["scale_factor"] for r in results]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5), sharey=True)
    for ax, layer in zip(axes, LAYERS, strict=True):
        series = {
            "snapshot": [r["snapshot"][layer]["seconds"] for r in results],
            "1% change (incremental)": [r["change_1pct"][layer]["seconds"] for r in results],
            f"{FIXED_CHANGED_ORDERS} orders changed (incremental)": [
                r["change_fixed"][layer]["seconds"] for r in results
            ],
            "naive rebuild": [r["naive_rebuild"][layer] for r in results],
        }
        peer_key = {"bronze": "bronze_seconds", "silver": "silver_seconds", "gold": "gold_seconds"}
        peer = [r["peer"].get(peer_key[layer]) for r in results]
        if any(p is not None for p in peer):  # a gap where it did not fit
            series["single-node peer (snapshot)"] = [float("nan") if p is None else p for p in peer]
        for name, values in series.items():
            style = "--" if "peer" in name else "-"
            ax.plot(scales, values, style, marker="o", label=name)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(layer)
        ax.set_xlabel("TPC-H scale factor")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("seconds (log)")
    axes[-1].legend(fontsize=8, loc="upper left")
    fig.suptitle("lakehouse: time per layer against scale (2 cores, one MinIO)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def print_table(results: list[dict[str, Any]]) -> None:
    print(
        f"\n{'SF':>5} {'layer':7} {'snapshot':>9} {'rows/s':>10} {'1% chg':>7} {'fixed':>6} "
        f"{'naive':>6} {'peer':>6}"
    )
    peer_key = {"bronze": "bronze_seconds", "silver": "silver_seconds", "gold": "gold_seconds"}
    for r in results:
        for layer in LAYERS:
            snap = r["snapshot"][layer]
            peer = r["peer"].get(peer_key[layer])
            print(
                f"{r['scale_factor']:>5g} {layer:7} {snap['seconds']:>9.1f} "
                f"{snap['rows_per_second'] or 0:>10,.0f} "
                f"{r['change_1pct'][layer]['seconds']:>7.1f} "
                f"{r['change_fixed'][layer]['seconds']:>6.1f} {r['naive_rebuild'][layer]:>6.1f} "
                f"{peer if peer is not None else '-':>6}"
            )
        print(f"{'':>5} no-op run {r['noop_seconds']}s; ratios {json.dumps(r['ratios'])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=float, nargs="+", default=[0.1, 1.0, 3.0])
    parser.add_argument("--sf10", action="store_true", help="also run scale factor 10 (long)")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--driver-memory", default="8g")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--add",
        action="store_true",
        help="keep the other scales already in --out (a scale measured again is replaced)",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    for noisy in ("py4j", "botocore", "boto3", "urllib3", "s3transfer"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    scales = [*args.scales, *([10.0] if args.sf10 else [])]
    kept: list[dict[str, Any]] = []
    if args.add and args.out.is_file():
        kept = [
            r
            for r in json.loads(args.out.read_text())["results"]
            if r["scale_factor"] not in scales
        ]
    results = list(kept)
    for scale in scales:
        results.append(bench_scale(scale, args.cores, args.driver_memory))
        results.sort(key=lambda r: float(r["scale_factor"]))
        # Written after every scale: a long run stopped early keeps what it measured.
        args.out.write_text(json.dumps(document(results, args.cores), indent=2) + "\n")
        chart(results, args.out.with_suffix(".png"))
    print_table(results)
    print(f"\nwrote {args.out} and {args.out.with_suffix('.png')}")


def document(results: list[dict[str, Any]], cores: int) -> dict[str, Any]:
    return {
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {
            "platform": platform.platform(),
            "cpus": cores,
            "python": platform.python_version(),
            "bench_peak_rss_mib": round(
                resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1
            ),
        },
        "versions": {"spark": versions.SPARK_VERSION, "delta": versions.DELTA_VERSION},
        "results": results,
    }


if __name__ == "__main__":
    with tempfile.TemporaryDirectory():
        main()
