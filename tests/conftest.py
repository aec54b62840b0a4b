"""Shared test settings: keep the noisy Java and AWS loggers quiet."""

from __future__ import annotations

import logging

for noisy in ("py4j", "botocore", "boto3", "urllib3", "s3transfer"):
    logging.getLogger(noisy).setLevel(logging.WARNING)
