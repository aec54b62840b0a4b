"""``lakehouse logs``: which pods a name means, and how their lines come out."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from lakehouse.ops import logs
from lakehouse_core.stack_config import parse_config

DEV = parse_config({"lakehouse:environment": "dev"})


class FakeCluster:
    def __init__(self, pods: dict[tuple[str, str], list[str]]) -> None:
        self.pods = pods
        self.asked: list[dict[str, Any]] = []

    def pod_names(self, namespace: str, selector: str) -> list[str]:
        return self.pods.get((namespace, selector), [])

    def pod_log_lines(self, namespace: str, pod: str, **kw: Any) -> Iterator[str]:
        self.asked.append({"pod": pod, **kw})
        yield from (f"{pod} line {i}" for i in range(2))


def test_a_component_means_the_pods_its_network_role_selects() -> None:
    assert logs.selectors(DEV, "dremio") == [
        (
            "lakehouse-dremio",
            "app.kubernetes.io/name=dremio,app.kubernetes.io/component=coordinator",
        ),
        ("lakehouse-dremio", "app.kubernetes.io/name=dremio,app.kubernetes.io/component=executor"),
    ]
    assert logs.selectors(DEV, "spark-history") == [
        ("lakehouse-jobs", "app.kubernetes.io/name=spark-history")
    ]


def test_any_other_name_is_an_application_with_its_driver_and_executors() -> None:
    cluster = FakeCluster(
        {
            ("lakehouse-jobs", "sparkoperator.k8s.io/app-name=lakehouse-gold-1"): [
                "lakehouse-gold-1-driver",
                "lakehouse-gold-abc-exec-1",
            ]
        }
    )
    found = logs.pods(cluster, DEV, "lakehouse-gold-1")
    lines: list[tuple[str, str]] = []
    logs.show(
        cluster,
        found,
        follow=False,
        since=600,
        tail=None,
        emit=lambda pod, line: lines.append((pod, line)),
    )
    assert lines == [
        ("lakehouse-gold-1-driver", "lakehouse-gold-1-driver line 0"),
        ("lakehouse-gold-1-driver", "lakehouse-gold-1-driver line 1"),
        ("lakehouse-gold-abc-exec-1", "lakehouse-gold-abc-exec-1 line 0"),
        ("lakehouse-gold-abc-exec-1", "lakehouse-gold-abc-exec-1 line 1"),
    ]
    assert {a["since"] for a in cluster.asked} == {600}


def test_following_streams_every_pod_at_once() -> None:
    cluster = FakeCluster(
        {("lakehouse-storage", logs.selectors(DEV, "minio")[0][1]): ["minio-0", "minio-1"]}
    )
    lines: list[str] = []
    found = logs.pods(cluster, DEV, "minio")
    logs.show(
        cluster, found, follow=True, since=None, tail=5, emit=lambda _pod, line: lines.append(line)
    )
    assert sorted(lines) == [f"minio-{i} line {j}" for i in range(2) for j in range(2)]
    assert all(a["follow"] and a["tail"] == 5 for a in cluster.asked)


def test_a_name_with_no_pod_says_what_names_exist() -> None:
    with pytest.raises(logs.LogsError, match="no pod of 'nosuch'") as err:
        logs.pods(FakeCluster({}), DEV, "nosuch")
    assert "minio" in (err.value.hint or "") and "sparkapplications" in (err.value.hint or "")


@pytest.mark.parametrize(
    ("given", "seconds"), [("30s", 30), ("10m", 600), ("2h", 7200), (None, None)]
)
def test_since_takes_a_duration(given: str | None, seconds: int | None) -> None:
    assert logs.since_seconds(given) == seconds


def test_a_bad_since_names_the_fix() -> None:
    with pytest.raises(logs.LogsError, match="not a duration") as err:
        logs.since_seconds("ten minutes")
    assert "10m" in (err.value.hint or "")
