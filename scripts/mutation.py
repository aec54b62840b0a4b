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
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from lakehouse_core.paths import REPO_ROOT

WORK = REPO_ROOT / "out" / "mutation"
RESULTS = REPO_ROOT / "bench" / "mutation.json"
# Declarations, not logic: a changed version string or name is caught by the manifest and
# cluster tests against real objects, not by a unit test of its spelling.
NOT_MUTATED = ["lakehouse_core/versions.py", "lakehouse_core/names.py"]
SETTINGS = f"""

[tool.mutmut]
source_paths = ["lakehouse_core"]
pytest_add_cli_args_test_selection = ["tests/unit"]
pytest_add_cli_args = ["-p", "no:cacheprovider", "-q", "--timeout=300"]
do_not_mutate = {json.dumps(NOT_MUTATED)}
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


def counts(text: str) -> dict[str, int]:
    """mutmut's closing line, by its marks (killed, no tests, timeout, suspicious, ...)."""
    marks = {"killed": "🎉", "no_tests": "🫥", "timeout": "⏰", "suspicious": "🤔",
             "survived": "🙁", "skipped": "🔇"}  # fmt: skip
    last = [line for line in text.splitlines() if "🎉" in line]
    if not last:
        raise SystemExit("mutmut printed no summary line:\n" + text[-3000:])
    line = last[-1]
    return {k: int(m.group(1)) if (m := re.search(rf"{v} (\d+)", line)) else 0
            for k, v in marks.items()}  # fmt: skip


def main() -> int:
    mirror()
    shutil.rmtree(WORK / "mutants", ignore_errors=True)
    started = time.monotonic()
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    mutmut = str(Path(sys.executable).parent / "mutmut")
    argv = [mutmut, "run", "--max-children", str(os.cpu_count() or 1)]
    run = subprocess.run(argv, cwd=WORK, env=env, capture_output=True, text=True, check=False)
    seconds = time.monotonic() - started
    print(run.stdout[-2000:], run.stderr[-2000:])
    found = counts(run.stdout.replace("\r", "\n"))
    survivors = subprocess.run([mutmut, "results"], cwd=WORK, env=env, capture_output=True,
                               text=True, check=False).stdout.split("\n")  # fmt: skip
    judged = found["killed"] + found["survived"] + found["timeout"] + found["suspicious"]
    score = (found["killed"] + found["timeout"]) / judged if judged else 0.0
    commit = subprocess.run(["git", "-C", str(REPO_ROOT), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True, check=False).stdout.strip()  # fmt: skip
    RESULTS.write_text(json.dumps({
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "commit": commit, "seconds": round(seconds), "counts": found,
        "killed_share": round(score, 4),
        "survivors": sorted(s.strip().split(":")[0] for s in survivors if "survived" in s),
    }, indent=2) + "\n")  # fmt: skip
    print(f"mutation: {score:.1%} killed of {judged} judged mutants in {seconds:.0f}s "
          f"({found['no_tests']} without a test); {RESULTS.relative_to(REPO_ROOT)}")  # fmt: skip
    return 0 if run.returncode == 0 else run.returncode


if __name__ == "__main__":
    sys.exit(main())
