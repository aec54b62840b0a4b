"""Bad stack configuration is refused with the key and the fix, before anything runs."""

from __future__ import annotations

from typing import Any

import pytest

from lakehouse_core import stack_config as config
from lakehouse_core.stack_config import ConfigError, dremio_memory

BAD_VALUES = [  # (config override, the message it must produce)
    (
        {"objectStore": {"replicas": 3}},
        r"lakehouse:objectStore: objectStore.replicas is 3: .* set objectStore.replicas to 4",
    ),
    (
        {"objectStore": {"replicas": 17}},
        r"17 drives cannot be split into equal erasure sets of 4-16 drives; choose .* 18, 16",
    ),
    (
        {"objectStore": {"driveSize": "lots"}},
        r"objectStore.driveSize 'lots' is not a Kubernetes quantity",
    ),
    (
        {"dremio": {"executorMemoryMib": 2048}},
        r"dremio.executorMemoryMib is 2048: Dremio refuses to start below 4096 MiB; "
        r"set dremio.executorMemoryMib to 4096 or more",
    ),
    ({"dremio": {"executors": 0}}, r"dremio.executors is 0: .*set dremio.executors to 1 or more"),
    ({"zookeeper": {"replicas": 2}}, r"zookeeper.replicas is 2: use 1 \(dev\) or an odd quorum"),
    ({"images": {"pullPolicy": "Sometimes"}}, r"lakehouse:images.pullPolicy: Input should be"),
    (
        {"ingress": {"hosts": {"dremio": "Dremio_UI"}}},
        r"lakehouse:ingress.hosts.dremio: 'Dremio_UI' is not a valid host name",
    ),
    (
        {"ingress": {"tls": {"enabled": True}}},
        r"set ingress.tls.secretName .* or ingress.tls.clusterIssuer",
    ),
    ({"dremio": {"executer": 2}}, r"lakehouse:dremio.executer: unknown key"),
    ({"environment": "staging"}, r"lakehouse:environment: Input should be 'dev' or 'prod'"),
    ({"pipeline": {"schedule": "hourly"}}, r"pipeline.schedule 'hourly' is not a 5-field cron"),
    ({"bucket": "Lake_House"}, r"bucket 'Lake_House' is not a valid S3 bucket name"),
]


@pytest.mark.parametrize(("override", "message"), BAD_VALUES)
def test_bad_values_name_the_key_and_the_fix(override: dict[str, Any], message: str) -> None:
    raw: dict[str, Any] = {"environment": "dev", **override}
    with pytest.raises(ConfigError, match=message):
        config.parse(raw)


def test_unknown_top_level_key() -> None:
    with pytest.raises(ConfigError, match=r"unknown config key.*lakehouse:dremo"):
        config.parse({"environment": "dev", "dremo": {}})


def test_prod_requires_tls_and_forbids_root_drives() -> None:
    with pytest.raises(ConfigError, match=r"ingress.tls.enabled must be true in prod"):
        config.parse({"environment": "prod"})
    with pytest.raises(ConfigError, match=r"allowRootDrives is for kind only"):
        config.parse(
            {
                "environment": "prod",
                "objectStore": {"allowRootDrives": True},
                "ingress": {"tls": {"enabled": True, "secretName": "tls"}},
            }
        )


def test_missing_environment_is_required() -> None:
    with pytest.raises(ConfigError, match="lakehouse:environment is required"):
        config.parse_config({})


def test_memory_split_keeps_both_pools_positive() -> None:
    small = dremio_memory(4096, coordinator=False)
    assert small.heap_mib == 2048 and small.direct_mib == 4096 - 512 - 2048
    big = dremio_memory(16384, coordinator=True)
    assert big.heap_mib + big.direct_mib < 16384 and big.direct_mib >= 2048


class Asked:
    """A ``locate`` that numbers the places it is asked about, as a file's lines would."""

    def __init__(self) -> None:
        self.paths: list[tuple[str | int, ...]] = []

    def __call__(self, path: tuple[str | int, ...]) -> str:
        self.paths.append(path)
        return f"Pulumi.dev.yaml:{len(self.paths)}: "


EXACT_MESSAGES = [  # (config, the whole message, the file paths asked for, in order)
    (
        {"environment": "prod", "objectStore": {"allowRootDrives": True},
         "ingress": {"tls": {"enabled": True, "secretName": "tls"}}},
        "Pulumi.dev.yaml:1: lakehouse:objectStore: objectStore.allowRootDrives is for kind "
        "only; remove it in prod",
        [("lakehouse:objectStore", "allowRootDrives")],
    ),
    (
        {"environment": "dev", "objectStore": {"replicas": 3}},
        "Pulumi.dev.yaml:1: lakehouse:objectStore: objectStore.replicas is 3: distributed "
        "MinIO needs at least 4 pods; set objectStore.replicas to 4 or more",
        [("lakehouse:objectStore", "replicas")],
    ),
    (
        {"environment": "dev", "dremio": {"executer": 2}},
        "Pulumi.dev.yaml:1: lakehouse:dremio.executer: unknown key (check its spelling "
        "against docs/configuration.md)",
        [("lakehouse:dremio", "executer")],
    ),
    (
        {"environment": "dev", "images": {"pullPolicy": "X"}, "bucket": "Lake_House"},
        "invalid stack configuration (2 problems):\n"
        "  Pulumi.dev.yaml:1: lakehouse:bucket: bucket 'Lake_House' is not a valid S3 bucket "
        "name (3-63 lower-case characters)\n"
        "  Pulumi.dev.yaml:2: lakehouse:images.pullPolicy: Input should be 'IfNotPresent', "
        "'Always' or 'Never'",
        [("lakehouse:bucket",), ("lakehouse:images", "pullPolicy")],
    ),
]  # fmt: skip


@pytest.mark.parametrize(("raw", "message", "paths"), EXACT_MESSAGES)
def test_each_problem_is_one_line_pointing_at_its_own_place_in_the_file(
    raw: dict[str, Any], message: str, paths: list[tuple[str | int, ...]]
) -> None:
    """The whole text, not a fragment: the key, the rule's words and where the file says it."""
    asked = Asked()
    with pytest.raises(ConfigError) as refused:
        config.parse(raw, asked)
    assert str(refused.value) == message
    assert asked.paths == paths


def test_without_a_file_a_problem_has_no_place_prefix() -> None:
    with pytest.raises(ConfigError) as refused:
        config.parse({"environment": "dev", "bucket": "Lake_House"})
    assert str(refused.value) == (
        "lakehouse:bucket: bucket 'Lake_House' is not a valid S3 bucket name "
        "(3-63 lower-case characters)"
    )


def test_keys_of_no_known_section_or_namespace_are_listed_together() -> None:
    asked = Asked()
    with pytest.raises(ConfigError) as refused:
        config.parse_config({"lakehouse:dremo": 1, "aws:region": 2, "kubernetes:context": "x"},
                            asked)  # fmt: skip
    lines = str(refused.value).split("\n")
    assert lines[0] == "invalid stack configuration (2 problems):"
    assert lines[1].startswith("  Pulumi.dev.yaml:1: lakehouse:dremo: unknown config key; "
                               "known keys are lakehouse:environment, ")  # fmt: skip
    assert lines[2] == ("  Pulumi.dev.yaml:2: aws:region: unknown config key (stack settings "
                        "are written lakehouse:<key>; providers' as kubernetes:<key>)")  # fmt: skip
    assert asked.paths == [("lakehouse:dremo",), ("aws:region",)]


def test_a_valid_stack_is_read_with_the_same_values_it_was_given() -> None:
    """The allowed case beside the refusals: nothing is altered on the way in."""
    stack = config.parse_config(
        {"lakehouse:environment": "dev", "lakehouse:bucket": "my-lake",
         "lakehouse:objectStore": '{"replicas": 6}', "kubernetes:context": "kind-x"}
    )  # fmt: skip
    assert (stack.environment, stack.bucket, stack.object_store.replicas) == ("dev", "my-lake", 6)
