"""`make mutation`: how strong the unit tests are, measured by mutmut over ``lakehouse_core``.

mutmut names a module by its path below the directory it runs in, and the core lives in
``core/lakehouse_core``; so it runs in ``out/mutation/``, a mirror of the repository (a
symbolic link per top-level entry) whose ``lakehouse_core`` is the core itself. The mutated
copy mutmut writes (``out/mutation/mutants/lakehouse_core``) sits two levels below the
mirror, so ``REPO_ROOT`` is the mirror and every file a test reads is found through it.

The score and the surviving mutants go to ``mutation.json`` beside the benchmark results;
docs/testing.md records
them with their date and commit, and explains each survivor left.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from lakehouse import checkout
from lakehouse_core.paths import REPO_ROOT

WORK = REPO_ROOT / "out" / "mutation"
RESULTS = REPO_ROOT / "bench" / "mutation.json"
# Declarations, not logic: a changed version string or name is caught by the manifest and
# cluster tests against real objects, not by a unit test of its spelling.
NOT_MUTATED = ["lakehouse_core/versions.py", "lakehouse_core/names.py"]
# Mutants run in processes forked from a server that imported the tests but ran none: the
# tests that render a stack run Pulumi's gRPC engine, which is not fork-safe, and a worker
# forked from a process that had run them waited on a dead channel until the timeout.
# The unit tests, and the two manifest tests that compare the SparkApplications the core
# builds with the checked-in kubectl manifests (dev) and with a prod stack's (TLS): the
# builders are declarations of whole objects, and a whole-object comparison is their test.
TESTS = [
    "tests/unit",
    "tests/manifests/test_pipeline.py::test_checked_in_manifests_are_what_the_definition_generates",
    "tests/manifests/test_pipeline.py::test_a_stacks_own_kubectl_manifests_follow_its_settings",
]
SETTINGS = f"""

[tool.mutmut]
source_paths = ["lakehouse_core"]
pytest_add_cli_args_test_selection = {json.dumps(TESTS)}
pytest_add_cli_args = ["-p", "no:cacheprovider", "-q", "--timeout=300"]
do_not_mutate = {json.dumps(NOT_MUTATED)}
process_isolation = "forkserver"
"""


def mirror() -> None:
    """out/mutation: the repository by links, the core by name, pyproject with mutmut's part."""
    WORK.mkdir(parents=True, exist_ok=True)
    for entry in REPO_ROOT.iterdir():
        # Not src/: mutmut takes ./src off sys.path (so that only the mutated copy can be
        # imported), and through a link that would take the CLI's own package away.
        if entry.name in {"out", ".git", "pyproject.toml", "src"}:
            continue
        link = WORK / entry.name
        if not link.is_symlink():
            link.symlink_to(entry)
    core = WORK / "lakehouse_core"
    if not core.is_symlink():
        core.symlink_to(REPO_ROOT / "core" / "lakehouse_core")
    (WORK / "pyproject.toml").write_text((REPO_ROOT / "pyproject.toml").read_text() + SETTINGS)


def statuses(listing: str) -> dict[str, str]:
    """``mutmut results --all true``: every mutant's name and its status (killed, survived,
    no tests, timeout, suspicious, skipped, not checked), judged in this run or before."""
    found = {}
    for line in listing.splitlines():
        name, sep, status = line.strip().rpartition(": ")
        if sep and name.startswith("lakehouse_core."):
            found[name] = status.strip()
    return found


def tally(found: dict[str, str]) -> dict[str, dict[str, int]]:
    """Counts by status, over all mutants and per module (``lakehouse_core.<module>.x_...``)."""
    table: dict[str, dict[str, int]] = {"all": {}}
    for name, status in found.items():
        for group in ("all", name.split(".")[1]):
            row = table.setdefault(group, {})
            row[status] = row.get(status, 0) + 1
    return table


def score(row: dict[str, int]) -> float:
    """Killed share of the judged mutants; a timeout counts as killed, as mutmut counts it."""
    killed = row.get("killed", 0) + row.get("timeout", 0)
    judged = killed + row.get("survived", 0) + row.get("suspicious", 0)
    return killed / judged if judged else 0.0


def main(selection: list[str]) -> int:
    """All of the core's mutants, or those matching ``selection`` (mutmut's name globs, as
    ``lakehouse_core.stack_config*``) to re-judge one module after its tests changed."""
    mirror()
    if not selection:
        shutil.rmtree(WORK / "mutants", ignore_errors=True)
    started = time.monotonic()
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    mutmut = str(Path(sys.executable).parent / "mutmut")
    argv = [mutmut, "run", "--max-children", str(os.cpu_count() or 1), *selection]
    run = subprocess.run(argv, cwd=WORK, env=env, capture_output=True, text=True, check=False)
    seconds = time.monotonic() - started
    print(run.stdout[-2000:], run.stderr[-2000:])
    listing = subprocess.run([mutmut, "results", "--all", "true"], cwd=WORK, env=env,
                             capture_output=True, text=True, check=False).stdout  # fmt: skip
    found = statuses(listing)
    if not found:
        raise SystemExit("mutmut listed no mutants:\n" + run.stdout[-3000:] + run.stderr[-3000:])
    table = tally(found)
    commit = checkout.commit()
    RESULTS.write_text(json.dumps({
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "commit": commit, "seconds_this_run": round(seconds), "selection": selection or "all",
        "tests": TESTS, "counts": table["all"], "killed_share": round(score(table["all"]), 4),
        "per_module": {m: {**row, "killed_share": round(score(row), 4)}
                       for m, row in sorted(table.items()) if m != "all"},
        "survivors": sorted(n for n, status in found.items() if status == "survived"),
    }, indent=2) + "\n")  # fmt: skip
    row = table["all"]
    print(f"mutation: {score(row):.1%} killed of the judged mutants ({row}) in {seconds:.0f}s; "
          f"{RESULTS.relative_to(REPO_ROOT)}")  # fmt: skip
    return 0 if run.returncode == 0 else run.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
