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


@pytest.mark.parametrize(
    ("container_mib", "coordinator", "heap", "direct"),
    [  # worked out by hand from the rules in dremio_memory's docstring
        (4096, False, 2048, 1536),  # reserve 512 (5 % is 204): usable 3584
        (8192, False, 4096, 3584),  # reserve 512 (5 % is 409): usable 7680 >= 6144
        (40000, False, 8192, 29808),  # reserve 2000: usable 38000 >= 32768
        (65536, False, 8192, 51344),  # reserve 6000 from 64000 MiB: usable 59536
        (8192, True, 5632, 2048),  # usable 7680: heap 7680 - 2048
        (20480, True, 16384, 3072),  # reserve 1024: usable 19456 >= 18432
        (64000, True, 16384, 41616),  # reserve 6000 at exactly 64000
        # each rule's edge: the usable memory exactly at a threshold
        (34492, False, 8192, 24576),  # reserve 1724: usable 32768, the largest heap
        (6656, False, 4096, 2048),  # reserve 512: usable 6144, the middle heap
        (3584, True, 1024, 2048),  # usable 3072: heap 1024, the least allowed
        (3584, False, 2048, 1024),  # usable 3072: direct 1024, the least allowed
    ],
)
def test_dremio_memory_is_split_by_the_documented_rules(
    container_mib: int, coordinator: bool, heap: int, direct: int
) -> None:
    split = dremio_memory(container_mib, coordinator=coordinator)
    assert (split.heap_mib, split.direct_mib) == (heap, direct)


def test_too_little_dremio_memory_is_refused_with_both_figures() -> None:
    with pytest.raises(ConfigError) as refused:
        dremio_memory(3000, coordinator=True)  # reserve 512: usable 2488, heap 440
    assert str(refused.value).startswith(
        "3000 MiB leaves heap 440 MiB and direct memory 2048 MiB; give the Dremio node more"
    )
    dremio = config.parse({"environment": "dev"}).dremio
    assert dremio.coordinator_memory() == dremio_memory(dremio.coordinator_memory_mib,
                                                        coordinator=True)  # fmt: skip
    assert dremio.executor_memory() == dremio_memory(dremio.executor_memory_mib,
                                                     coordinator=False)  # fmt: skip
    assert dremio.coordinator_memory() != dremio.executor_memory()


@pytest.mark.parametrize(("drives", "ec"), [(4, 2), (5, 2), (6, 3), (7, 3), (8, 4), (16, 4)])
def test_parity_is_minios_default_for_the_set_size(drives: int, ec: int) -> None:
    assert config.parity(drives) == ec


def test_resources_limits_default_to_the_requests() -> None:
    assert config.Resources(cpu="250m", memory="1Gi").as_k8s() == {
        "requests": {"cpu": "250m", "memory": "1Gi"},
        "limits": {"cpu": "250m", "memory": "1Gi"},
    }
    assert config.Resources(cpu="1", memory="1Gi", cpu_limit="2", memory_limit="2Gi").as_k8s() == {
        "requests": {"cpu": "1", "memory": "1Gi"},
        "limits": {"cpu": "2", "memory": "2Gi"},
    }


def test_an_image_is_the_explicit_one_or_the_built_one_under_the_registry() -> None:
    images = config.ImagesConfig()
    assert images.resolve(None, "lakehouse/jobs:1") == "lakehouse/jobs:1"
    assert images.resolve("x/y:2", "lakehouse/jobs:1") == "x/y:2"
    registry = config.ImagesConfig(registry="registry.example.com/data/")
    assert (
        registry.resolve(None, "lakehouse/jobs:1") == "registry.example.com/data/lakehouse/jobs:1"
    )
    assert registry.resolve("x/y:2", "lakehouse/jobs:1") == "x/y:2"


@pytest.mark.parametrize(
    "key", ["console", "s3", "dremio", "flight", "spark_history", "spark_ui", "prometheus",
            "spark_connect"],
)  # fmt: skip
def test_any_allowlist_counts_and_none_means_none(key: str) -> None:
    assert not config.Allowlists().any()
    assert config.Allowlists(**{key: ["10.0.0.0/8"]}).any()


def test_a_ui_without_a_login_is_routed_in_dev_and_in_prod_only_behind_an_allowlist() -> None:
    dev = config.parse({"environment": "dev"})
    prod = config.parse({"environment": "prod",
                         "ingress": {"tls": {"enabled": True, "secretName": "tls"}}})  # fmt: skip
    assert dev.ui_routed([]) and dev.ui_routed(["10.0.0.0/8"])
    assert not prod.ui_routed([]) and prod.ui_routed(["10.0.0.0/8"])


def test_an_allowlist_takes_a_cidr_with_host_bits_and_refuses_what_is_none() -> None:
    assert config.Allowlists(console=["192.168.1.20/24"]).console == ["192.168.1.20/24"]
    with pytest.raises(ValueError) as refused:
        config.Allowlists(console=["10.0.0.0/8", "nope"])
    assert (
        "'nope' is not a CIDR; write an address and a prefix length such as 10.0.0.0/8 or "
        "192.168.1.20/32"
    ) in str(refused.value)
