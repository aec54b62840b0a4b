"""What the provisioning Job sets on the bucket, accepted by a real MinIO server."""

from __future__ import annotations

import pytest

from lakehouse.s3 import S3Endpoint
from lakehouse_infra.minio_provisioning import lifecycle

from .conftest import new_lake

pytestmark = pytest.mark.integration


def test_versioning_and_the_lifecycle_rule_are_accepted_as_written(s3_endpoint: S3Endpoint) -> None:
    _, store = new_lake(s3_endpoint, "lifecycle")
    client = store.client
    client.put_bucket_versioning(Bucket=store.bucket, VersioningConfiguration={"Status": "Enabled"})
    rules = lifecycle(7)
    client.put_bucket_lifecycle_configuration(Bucket=store.bucket, LifecycleConfiguration=rules)
    stored = client.get_bucket_lifecycle_configuration(Bucket=store.bucket)["Rules"]
    assert stored == rules["Rules"], "MinIO dropped or changed part of the rule"
    assert client.get_bucket_versioning(Bucket=store.bucket)["Status"] == "Enabled"
