"""The checkout this code runs from, as the reports of long runs name it (the benchmark,
the test bed, mutation testing): a figure is worth little without its commit."""

from __future__ import annotations

import subprocess

from lakehouse_core.paths import REPO_ROOT


def commit() -> str:
    """The short commit of the checkout at ``REPO_ROOT``; empty outside a git checkout."""
    done = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "rev-parse", "--short", "HEAD"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    return done.stdout.strip() if done.returncode == 0 else ""
