"""Landing a user's own files: the next batch folder of a dataset, checked before upload.

Bronze ingests batches in increasing order and refuses one older than a batch it already
ingested, so the batch id is chosen (or checked) here against what landing already holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from lakehouse.s3 import ObjectStore
from lakehouse_core.catalog import LakeCatalog, parse_batch_dir
from lakehouse_core.errors import LakehouseError

# What bronze reads, per source format (compressed files are read through Hadoop's codecs).
SUFFIXES = {
    "csv": (".csv", ".csv.gz", ".csv.bz2", ".csv.deflate"),
    "json": (".json", ".jsonl", ".json.gz", ".jsonl.gz", ".json.bz2", ".jsonl.bz2"),
}


class LandingRefused(LakehouseError):
    """Files that would not be ingested as asked; nothing was uploaded."""


def landed_batches(store: ObjectStore, catalog: LakeCatalog, dataset: str) -> list[int]:
    prefix = catalog.landing_key(dataset)
    batches = set()
    for key in store.keys(prefix):
        folder = key[len(prefix) :].split("/", 1)[0]
        try:
            batches.add(parse_batch_dir(folder))
        except ValueError:
            continue
    return sorted(batches)


def land_files(
    store: ObjectStore,
    catalog: LakeCatalog,
    dataset: str,
    files: Sequence[Path],
    batch: int | None = None,
) -> tuple[int, list[str]]:
    """Upload ``files`` as one batch of ``dataset``; (batch id, object keys)."""
    try:
        spec = catalog.dataset(dataset)
    except KeyError as err:
        raise LandingRefused(str(err.args[0])) from None
    allowed = SUFFIXES[spec.source_format]
    wrong = [f.name for f in files if not f.name.lower().endswith(allowed)]
    if wrong:
        raise LandingRefused(
            f"{', '.join(wrong)}: {dataset} lands {spec.source_format} files",
            hint=f"name them *{', *'.join(allowed)}",
        )
    names = [f.name for f in files]
    if len(set(names)) != len(names):
        raise LandingRefused("two files share a name; one batch folder holds each name once")
    existing = landed_batches(store, catalog, dataset)
    newest = existing[-1] if existing else 0
    if batch is None:
        batch = newest + 1
    elif batch in existing:
        raise LandingRefused(
            f"{dataset} batch {batch} exists already",
            hint=f"land the files as a new batch (for example --batch {newest + 1})",
        )
    elif batch < newest:
        raise LandingRefused(
            f"{dataset} batch {batch} would be older than batch {newest}, which landing holds",
            hint=f"batch ids must increase: use --batch {newest + 1} or leave it out",
        )
    keys = []
    for path in files:
        key = catalog.landing_key(dataset, batch) + path.name
        store.put_file(key, path)
        keys.append(key)
    return batch, keys
