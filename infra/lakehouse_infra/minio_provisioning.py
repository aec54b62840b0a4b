"""Provisioning the lake on MinIO: the bucket, its lifecycle, and one least-privilege user
per consumer, applied by a Job that is safe to run again.

Spark reads and writes landing/ and deltalake/, writes its event logs to spark-events/ and
the scheduled backups to backups/;
Dremio reads the lake and writes only its distributed-storage prefix dremio/; the Spark
History Server reads spark-events/ and deletes the logs its cleaner expires there; the
metrics user may only read MinIO's Prometheus metrics. Secret keys
reach `mc` on its standard input, never as arguments: an argument is visible in the process
list, and one that starts with '-' would be read as a flag.
"""

from __future__ import annotations

import json
from typing import Any

from lakehouse_core.catalog import (
    BACKUPS_PREFIX,
    DELTA_PREFIX,
    DREMIO_DIST_PREFIX,
    LANDING_PREFIX,
    SCRATCH_PREFIX,
    SPARK_EVENTS_PREFIX,
)
from lakehouse_core.names import (
    CONNECT_S3_USER,
    DREMIO_S3_USER,
    HISTORY_S3_USER,
    METRICS_S3_USER,
    SPARK_S3_USER,
)

SPARK_POLICY, DREMIO_POLICY, HISTORY_POLICY = SPARK_S3_USER, DREMIO_S3_USER, HISTORY_S3_USER
METRICS_POLICY, CONNECT_POLICY = METRICS_S3_USER, CONNECT_S3_USER
EVENTS_MARKER = ".lakehouse-keep"


def _prefix_resources(bucket: str, prefixes: list[str]) -> list[str]:
    """S3A probes both the bare key and the directory marker, so grant all three forms."""
    out = []
    for prefix in prefixes:
        out += [f"arn:aws:s3:::{bucket}/{prefix}", f"arn:aws:s3:::{bucket}/{prefix}/*"]
    return out


def _list_condition(prefixes: list[str]) -> dict[str, Any]:
    allowed = []
    for prefix in prefixes:
        allowed += [prefix, f"{prefix}/", f"{prefix}/*"]
    return {"StringLike": {"s3:prefix": allowed}}


def _bucket_statements(bucket: str, listable: list[str]) -> list[dict[str, Any]]:
    return [
        {
            "Sid": "BucketLevel",
            "Effect": "Allow",
            "Action": ["s3:GetBucketLocation", "s3:HeadBucket", "s3:ListBucketMultipartUploads"],
            "Resource": [f"arn:aws:s3:::{bucket}"],
        },
        {
            "Sid": "ListPrefixes",
            "Effect": "Allow",
            "Action": ["s3:ListBucket"],
            "Resource": [f"arn:aws:s3:::{bucket}"],
            "Condition": _list_condition(listable),
        },
    ]


READ_WRITE = [
    "s3:GetObject",
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:AbortMultipartUpload",
    "s3:ListMultipartUploadParts",
]


def spark_policy(bucket: str) -> dict[str, Any]:
    lake = [LANDING_PREFIX, DELTA_PREFIX, SPARK_EVENTS_PREFIX, BACKUPS_PREFIX]
    return {
        "Version": "2012-10-17",
        "Statement": [
            *_bucket_statements(bucket, lake),
            {
                "Sid": "LakeReadWrite",
                "Effect": "Allow",
                "Action": READ_WRITE,
                "Resource": _prefix_resources(bucket, lake),
            },
        ],
    }


def dremio_policy(bucket: str) -> dict[str, Any]:
    lake = [LANDING_PREFIX, DELTA_PREFIX]
    return {
        "Version": "2012-10-17",
        "Statement": [
            *_bucket_statements(bucket, [*lake, DREMIO_DIST_PREFIX]),
            {
                # Dremio browses a source from the bucket's root (one level, with a
                # delimiter) before it walks into deltalake/: seen on the local cluster,
                # where the catalog lookup of the bucket folder was refused. Only the
                # top-level names are listed this way, never the objects below them.
                # A client may leave the prefix out or send it empty: both forms.
                "Sid": "BrowseRoot",
                "Effect": "Allow",
                "Action": ["s3:ListBucket"],
                "Resource": [f"arn:aws:s3:::{bucket}"],
                "Condition": {"Null": {"s3:prefix": "true"}, "StringEquals": {"s3:delimiter": "/"}},
            },
            {
                "Sid": "BrowseRootEmptyPrefix",
                "Effect": "Allow",
                "Action": ["s3:ListBucket"],
                "Resource": [f"arn:aws:s3:::{bucket}"],
                "Condition": {"StringEquals": {"s3:prefix": "", "s3:delimiter": "/"}},
            },
            {
                "Sid": "LakeRead",
                "Effect": "Allow",
                "Action": ["s3:GetObject"],
                "Resource": _prefix_resources(bucket, lake),
            },
            {
                "Sid": "DistributedStorage",
                "Effect": "Allow",
                "Action": READ_WRITE,
                "Resource": _prefix_resources(bucket, [DREMIO_DIST_PREFIX]),
            },
        ],
    }


def history_policy(bucket: str) -> dict[str, Any]:
    """The history server reads the event logs, and deletes those its cleaner expires
    (Spark's own log cleaning); nothing outside spark-events/."""
    events = [SPARK_EVENTS_PREFIX]
    return {
        "Version": "2012-10-17",
        "Statement": [
            *_bucket_statements(bucket, events),
            {
                "Sid": "EventLogsReadAndClean",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:DeleteObject"],
                "Resource": _prefix_resources(bucket, events),
            },
        ],
    }


def connect_policy(bucket: str) -> dict[str, Any]:
    """Interactive sessions read the lake and its landing files, write their own scratch
    prefix and their event log, and never a table of the lake."""
    lake = [LANDING_PREFIX, DELTA_PREFIX]
    own = [SCRATCH_PREFIX, SPARK_EVENTS_PREFIX]
    return {
        "Version": "2012-10-17",
        "Statement": [
            *_bucket_statements(bucket, [*lake, *own]),
            {
                "Sid": "LakeRead",
                "Effect": "Allow",
                "Action": ["s3:GetObject"],
                "Resource": _prefix_resources(bucket, lake),
            },
            {
                "Sid": "ScratchReadWrite",
                "Effect": "Allow",
                "Action": READ_WRITE,
                "Resource": _prefix_resources(bucket, own),
            },
        ],
    }


def metrics_policy() -> dict[str, Any]:
    """MinIO's Prometheus metrics, and nothing of the data."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "PrometheusMetrics",
                "Effect": "Allow",
                "Action": ["admin:Prometheus"],
                "Resource": ["arn:aws:s3:::*"],
            }
        ],
    }


def lifecycle(days: int) -> dict[str, Any]:
    """Versioning keeps overwritten objects; expire those old versions after ``days``."""
    return {
        "Rules": [
            {
                "ID": "expire-noncurrent-versions",
                "Status": "Enabled",
                "Filter": {"Prefix": ""},
                "NoncurrentVersionExpiration": {"NoncurrentDays": days},
            }
        ]
    }


PROVISION_SCRIPT = f"""\
# Provision the lake. Every command is idempotent: safe to run again, and run again
# whenever a policy, the lifecycle rule or a password changes.
set -eu
dir="${{PROVISION_DIR:-/provision}}"  # where the ConfigMap is mounted
printf '%s\\n%s\\n' "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD" \\
  | mc alias set --api S3v4 lake "$MINIO_URL" >/dev/null
echo "waiting for the MinIO cluster to have write quorum"
mc ready lake
mc mb --ignore-existing "lake/$BUCKET"
mc version enable "lake/$BUCKET"
mc ilm import "lake/$BUCKET" < "$dir/lifecycle.json"
mc admin policy create lake {SPARK_POLICY} "$dir/spark-policy.json"
mc admin policy create lake {DREMIO_POLICY} "$dir/dremio-policy.json"
mc admin policy create lake {HISTORY_POLICY} "$dir/history-policy.json"
mc admin policy create lake {METRICS_POLICY} "$dir/metrics-policy.json"
mc admin policy create lake {CONNECT_POLICY} "$dir/connect-policy.json"
# The event-log folder exists before the history server starts (it refuses a missing
# one); Spark skips files whose name starts with a dot, and its cleaner never sees this.
: | mc pipe "lake/$BUCKET/{SPARK_EVENTS_PREFIX}/{EVENTS_MARKER}" >/dev/null

user() {{  # user <access key> <secret key> <policy>: create it, or set its new secret key
  printf '%s\\n' "$2" | mc admin user add lake "$1" >/dev/null
  if ! out=$(mc admin policy attach lake "$3" --user "$1" 2>&1); then
    case "$out" in
      *"already in effect"*|*"already attached"*) ;;
      *) echo "$out" >&2; exit 1 ;;
    esac
  fi
  echo "user $1: policy $3"
}}
user "$SPARK_ACCESS_KEY" "$SPARK_SECRET_KEY" {SPARK_POLICY}
user "$DREMIO_ACCESS_KEY" "$DREMIO_SECRET_KEY" {DREMIO_POLICY}
user "$HISTORY_ACCESS_KEY" "$HISTORY_SECRET_KEY" {HISTORY_POLICY}
user "$METRICS_ACCESS_KEY" "$METRICS_SECRET_KEY" {METRICS_POLICY}
user "$CONNECT_ACCESS_KEY" "$CONNECT_SECRET_KEY" {CONNECT_POLICY}
echo "bucket $BUCKET and users ready"
"""


def provision_files(bucket: str, noncurrent_version_days: int) -> dict[str, str]:
    """The provisioning ConfigMap's files: the script, the policies and the lifecycle."""
    return {
        "provision.sh": PROVISION_SCRIPT,
        "spark-policy.json": json.dumps(spark_policy(bucket), indent=2),
        "dremio-policy.json": json.dumps(dremio_policy(bucket), indent=2),
        "history-policy.json": json.dumps(history_policy(bucket), indent=2),
        "metrics-policy.json": json.dumps(metrics_policy(), indent=2),
        "connect-policy.json": json.dumps(connect_policy(bucket), indent=2),
        "lifecycle.json": json.dumps(lifecycle(noncurrent_version_days), indent=2),
    }
