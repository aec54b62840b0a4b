"""The project's releases, as the history records them: a release is the commit that sets
``version`` in pyproject.toml to a version without a pre-release part (no ``.dev``, ``a``,
``b``, ``rc``) and whose CHANGELOG.md has that version's heading (``## 0.2.0 ...``): the
first commit's placeholder ``0.1.0``, which no CHANGELOG names, is not one. Tags are not
read: a clone does not always carry them.

The upgrade test deploys the previous release from a worktree of its commit, then the
working tree over it.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import tomllib

from lakehouse_core.errors import LakehouseError
from lakehouse_core.paths import REPO_ROOT

PRE_RELEASE = re.compile(r"(\.dev\d*|a\d+|b\d+|rc\d+)$")


class ReleaseError(LakehouseError):
    """No release to upgrade from, or its worktree could not be made."""


@dataclass(frozen=True)
class Release:
    version: str
    commit: str


def _git(*args: str, root: Path = REPO_ROOT) -> str:
    return subprocess.run(
        ["git", "-C", str(root), *args], check=True, capture_output=True, text=True
    ).stdout


def version_at(commit: str, root: Path = REPO_ROOT) -> str:
    text = _git("show", f"{commit}:pyproject.toml", root=root)
    return str(tomllib.loads(text)["project"]["version"])


def announced(version: str, commit: str, root: Path = REPO_ROOT) -> bool:
    """Whether the CHANGELOG at ``commit`` has the heading of ``version``."""
    try:
        text = _git("show", f"{commit}:CHANGELOG.md", root=root)
    except subprocess.CalledProcessError:
        return False
    heading = re.compile(rf"^## \[?{re.escape(version)}\]?(\s|$)", re.MULTILINE)
    return bool(heading.search(text))


def releases(root: Path = REPO_ROOT) -> list[Release]:
    """Every release, oldest first: each commit where the version became a released one."""
    found: list[Release] = []
    previous = None
    history = _git("log", "--format=%H", "--reverse", "--", "pyproject.toml", root=root)
    for commit in history.split():
        version = version_at(commit, root)
        released = not PRE_RELEASE.search(version) and announced(version, commit, root)
        if released and version != previous:
            found.append(Release(version, commit))
        previous = version
    return found


def previous_release(current: str, root: Path = REPO_ROOT) -> Release:
    """The newest release older than the working tree's version."""
    older = [r for r in releases(root) if r.version != current]
    if not older:
        raise ReleaseError(
            f"no release before {current} in this clone's history",
            hint="the upgrade test needs the commit of an earlier release (a full clone)",
        )
    return older[-1]


def worktree(release: Release, where: Path, root: Path = REPO_ROOT) -> Path:
    """A checkout of the release's commit at ``where`` (made once; reused after)."""
    if not (where / "pyproject.toml").is_file():
        _git("worktree", "add", "--detach", "--force", str(where), release.commit, root=root)
    if version_at("HEAD", where) != release.version:
        raise ReleaseError(f"{where} does not hold release {release.version}")
    return where
