"""What a run says when the object store cannot take its writes (or serve its reads).

MinIO with four drives and parity 2 keeps writing with one server lost and keeps reading
with two; beyond that it answers that its quorum is lost, and S3A gives up after its
retries. The failure reaches the jobs as a Java exception several layers deep; this names
it for the user: what happened, that nothing committed was lost, and what to do.
"""

from __future__ import annotations

from lakehouse_core.errors import LakehouseError

# Phrases MinIO and S3A use for a store that lost quorum or is not (yet) serving.
QUORUM_MARKERS = (
    "insufficient for the write operation",
    "insufficient for the read operation",
    "InsufficientWriteQuorum",
    "InsufficientReadQuorum",
    "Write quorum",
    "Read quorum",
    "XMinioServerNotInitialized",
    "Server not initialized",
    "503 Service Unavailable",
    "Status Code: 503",
    "ServiceUnavailable",
    "SlowDown",
)
UNREACHABLE_MARKERS = ("Connection refused", "ConnectException", "Unable to execute HTTP request")


class StorageUnavailable(LakehouseError):
    """The object store lost its quorum or stopped answering while a layer ran."""


def explain(err: BaseException, where: str) -> StorageUnavailable | None:
    """A StorageUnavailable for ``err`` when it is the object store's doing, else None."""
    text = f"{type(err).__name__}: {err}"
    hint = (
        "bring the object store's servers back (all of them, or enough for its write "
        "quorum); every batch committed so far is kept, and running the pipeline again "
        "once it takes writes (MinIO rejoins restarted servers within about a minute) "
        "resumes where this run stopped"
    )
    if any(marker in text for marker in QUORUM_MARKERS):
        return StorageUnavailable(
            f"{where}: the object store lost its storage quorum (too few servers answer to "
            "accept writes); the tables stay at their last committed versions",
            hint,
        )
    if any(marker in text for marker in UNREACHABLE_MARKERS):
        return StorageUnavailable(
            f"{where}: the object store does not answer; the tables stay at their last "
            "committed versions",
            hint,
        )
    return None
