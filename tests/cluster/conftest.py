"""The local cluster test bed, from nothing to a queried lakehouse and back to nothing.

``make cluster-test`` (marker ``cluster``; root; not part of ``make test``). The session
fixture builds what is missing (cached), creates the node, and deletes it at the end; every
command a user would run runs *inside* the bed (its network namespace, its /etc/hosts),
through the project's own CLI. A timeline and the peak memory of everything the bed runs
are printed at the end and written to bench/cluster-test.json (cluster-test-tls.json with
TLS, cluster-test-upgrade.json for the upgrade step).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from lakehouse import checkout
from lakehouse_bed import bed, netns, node
from lakehouse_bed import layout as L
from lakehouse_bed.daemons import cmdline
from lakehouse_bed.layout import Layout
from lakehouse_core.paths import REPO_ROOT

# `make cluster-test-tls`: the same journey with TLS inside the cluster (MinIO over TLS,
# every consumer trusting the stack's own CA), as prod deploys it.
TLS = os.environ.get("LAKEHOUSE_BED_TLS") == "1"


def results_file(config: pytest.Config) -> Path:
    """Each suite's own report: the journey (plain or TLS) and the upgrade step, so that
    one does not overwrite another's."""
    suite = "cluster-test-upgrade" if "upgrade" in str(config.option.markexpr) else "cluster-test"
    return REPO_ROOT / "bench" / f"{suite}{'-tls' if TLS else ''}.json"


def password(prefix: str = "") -> str:
    """Letters and digits Dremio and MinIO accept, with what a hand-set one may start with."""
    return f"{prefix}{secrets.token_urlsafe(18).replace('-', 'x').replace('_', 'y')}a1"


@dataclass
class Timeline:
    started: float = field(default_factory=time.monotonic)
    marks: list[tuple[str, float]] = field(default_factory=list)

    def mark(self, what: str) -> None:
        seconds = time.monotonic() - self.started
        self.marks.append((what, seconds))
        print(f"[{seconds:7.1f}s] {what}", flush=True)


class MemorySampler:
    """Peak resident memory of the bed: its daemons and every process in its cgroups."""

    def __init__(self, lay: Layout) -> None:
        self.lay = lay
        self.peak_mib = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _rss_mib(self) -> float:
        pids = {p for p in node.Node(self.lay).status().values() if p} | set(node.cgroup_pids())
        total = 0
        for pid in pids:
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            except OSError:
                continue
        return total / 1024

    def _run(self) -> None:
        while not self._stop.wait(2):
            self.peak_mib = max(self.peak_mib, self._rss_mib())

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


@dataclass
class Bed:
    lay: Layout
    stack_dir: Path
    env: dict[str, str]
    timeline: Timeline
    secrets: dict[str, str]
    facts: dict[str, Any] = field(default_factory=dict)
    tls: bool = TLS  # MinIO serves TLS inside the cluster (make cluster-test-tls)

    def run(
        self, *command: str, check: bool = True, timeout: float = 1800, cwd: Path | None = None
    ) -> str:
        argv = list(command)
        if cwd is not None:
            argv = ["sh", "-c", 'cd "$1" && shift && exec "$@"', "cd", str(cwd), *argv]
        result = bed.run_inside(argv, env=self.env, check=False, timeout=timeout, lay=self.lay)
        output = (result.stdout or "") + (result.stderr or "")
        if check and result.returncode != 0:
            raise AssertionError(
                f"`{' '.join(command)}` ended {result.returncode}:\n{output[-6000:]}"
            )
        return output

    def lakehouse(self, *args: str, check: bool = True, timeout: float = 3600) -> str:
        return self.run(
            str(Path(sys.executable).parent / "lakehouse"), *args, check=check, timeout=timeout
        )

    def pulumi(self, *args: str) -> str:
        """The pulumi CLI on the dev stack, in the stack folder: ``pulumi config set ...``."""
        words = 0
        while words < len(args) and words < 2 and not args[words].startswith("-"):
            words += 1
        argv = [*args[:words], "--stack", "dev", *args[words:]]
        return self.run("pulumi", *argv, cwd=self.stack_dir)

    def kubectl(self, *args: str, check: bool = True) -> str:
        return self.run(node.kubectl_path(), *args, check=check)

    def kubectl_json(self, *args: str) -> Any:
        return json.loads(self.kubectl(*args, "-o", "json"))

    def manifests(self) -> Path:
        """What a kubectl user applies: the checked-in files (the dev stack on kind), or,
        with TLS inside the cluster, the stack's own (`lakehouse manifests --stack`)."""
        if not self.tls:
            return REPO_ROOT / "spark-apps" / "manifests"
        out = self.lay.config / "stack-manifests"
        if not out.is_dir():
            self.lakehouse("manifests", "--stack", "dev", "--out", str(out))
        return out


def stale_manifests() -> list[str]:
    from lakehouse.cli.deploy_cmds import manifests_yaml

    root = REPO_ROOT / "spark-apps" / "manifests"
    return [
        name
        for name, text in manifests_yaml().items()
        if not (root / name).is_file() or (root / name).read_text() != text
    ]


@pytest.fixture(scope="session")
def the_bed(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Bed]:
    if os.geteuid() != 0:
        pytest.fail("the local cluster needs root (namespaces, mounts, cgroups)")
    charts = bed.charts_dir()  # a clear error when the pinned charts are not at hand
    stale = stale_manifests()
    if stale:  # the kubectl step would wait for an image the bed never built
        pytest.fail(f"spark-apps/manifests/ is stale ({', '.join(stale)}): run `make manifests`")
    lay = Layout.default()
    timeline = Timeline()
    if netns.exists() or lay.root.exists():
        bed.delete(lambda m: print(m, flush=True), lay)  # leftovers of an interrupted run
    bed.build(lambda m: print(m, flush=True))
    build_seconds = time.monotonic() - timeline.started
    timeline.started = time.monotonic()  # the timeline counts from cached binaries
    sampler = MemorySampler(lay)
    sampler.start()
    work = tmp_path_factory.mktemp("bed")
    stack_dir = work / "stacks"
    stack_dir.mkdir()
    # The stack files, copied (the test sets secrets in them); the program stays where it is.
    for name in ("Pulumi.yaml", "Pulumi.dev.yaml"):
        shutil.copy2(REPO_ROOT / name, stack_dir / name)
    if TLS:
        import yaml

        stack_file = stack_dir / "Pulumi.dev.yaml"
        data = yaml.safe_load(stack_file.read_text())
        data["config"]["lakehouse:internalTls"] = {"enabled": True}
        stack_file.write_text(yaml.safe_dump(data, sort_keys=False))
    (stack_dir / "infra").symlink_to(REPO_ROOT / "infra")
    env = {
        "LAKEHOUSE_STACK_DIR": str(stack_dir),
        "LAKEHOUSE_CHARTS_DIR": charts,
        "PULUMI_BACKEND_URL": f"file://{work / 'state'}",
        "PULUMI_CONFIG_PASSPHRASE": secrets.token_hex(16),
        "HOME": str(work / "home"),
        # Rich wraps at the terminal's width, 80 without one: a summary line the steps read
        # must not break in the middle of a phrase.
        "COLUMNS": "400",
    }
    (work / "state").mkdir()
    (work / "home").mkdir()
    the = Bed(lay, stack_dir, env, timeline, {})
    the.facts["build_seconds_before_the_timeline"] = round(build_seconds)
    the.facts["tls_inside_the_cluster"] = TLS
    _ACTIVE.append(the)
    try:
        bed.create(lambda m: print(m, flush=True), lay)
        timeline.mark("node Ready with DNS and storage")
        yield the
    finally:
        _ACTIVE.clear()
        sampler.stop()
        # Found before delete by other means than delete's own (which looks for command
        # lines naming the node's folder): every process in the bed's network namespace and
        # in its cgroups, by pid and start time.
        from .probes import alive, net_namespace_inode, processes_in_net_namespace, start_times

        inode = net_namespace_inode(netns.NETNS_DIR / L.NETNS) if netns.exists() else None
        in_namespace = {
            int(p.split(":")[0]) for p in (processes_in_net_namespace(inode) if inode else [])
        }
        watched = in_namespace | set(node.cgroup_pids())
        started = start_times(watched)
        stopped = bed.delete(lambda m: print(m, flush=True), lay)
        timeline.mark("local cluster deleted")
        left = bed.leftover_processes(lay)
        left += [f"{pid}: still running" for pid in alive(watched, started)]
        if inode is not None:
            left += processes_in_net_namespace(inode)
        the.facts["processes stopped by delete"] = len(stopped)
        the.facts["processes watched independently (namespace, cgroups)"] = len(started)
        report(the, sampler.peak_mib, left, results_file(request.config))
        assert started, "found no process of the bed before delete: the watch itself is broken"
        assert not left, f"processes left after delete: {left}"
        assert not netns.exists(), "the namespace outlived delete"
        assert not node.mounts_below(lay.root), "mounts outlived delete"


_ACTIVE: list[Bed] = []  # the bed while it exists, for the failure report below


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """When a step fails, add what the cluster looked like then (the bed is deleted at the
    end of the session, so this is the only chance to see it)."""
    result = yield
    if call.when == "call" and result.failed and _ACTIVE:
        the = _ACTIVE[0]
        for title, args in (
            ("pods", ("get", "pods", "-A", "-o", "wide")),
            ("events", ("get", "events", "-A", "--sort-by=.lastTimestamp")),
            ("endpoints", ("get", "endpointslices", "-A")),
        ):
            try:
                text = the.kubectl(*args, check=False)
            except Exception as err:  # a report must never hide the failure itself
                text = f"(could not run kubectl: {err})"
            result.sections.append((f"cluster {title} at the failure", text[-8000:]))
    if result.failed:
        # The run is an hour long: say what failed now, not only in the closing summary.
        print(f"\nFAILED {item.nodeid} ({call.when}):\n{result.longreprtext[-6000:]}", flush=True)
    return result


def report(the: Bed, peak_mib: float, left: list[str], results: Path) -> None:
    print("\ntimeline (from cached binaries):")
    for what, seconds in the.timeline.marks:
        print(f"  {seconds:7.1f}s  {what}")
    print(f"peak memory of the bed: {peak_mib / 1024:.2f} GiB")
    results.write_text(
        json.dumps(
            {
                "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "commit": checkout.commit(),
                "timeline_seconds": dict(the.timeline.marks),
                "peak_memory_mib": round(peak_mib),
                "facts": the.facts,
                "left_running_after_delete": left,
            },
            indent=2,
        )
        + "\n"
    )


def running_commands() -> list[str]:
    return [" ".join(cmdline(int(p.name))) for p in Path("/proc").iterdir() if p.name.isdigit()]
