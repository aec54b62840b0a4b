"""Releases as the history records them (no tags): the commit that sets a released version."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from lakehouse_bed import releases


def commit_version(repo: Path, version: str, note: str = "", announce: bool = True) -> str:
    """A commit at ``version``; a released one gets its CHANGELOG heading unless told not."""
    project = f'[project]\nname = "x"\nversion = "{version}"\ndescription = "{note}"\n'
    (repo / "pyproject.toml").write_text(project)
    log = repo / "CHANGELOG.md"
    before = log.read_text() if log.exists() else "# Changelog\n"
    if announce and "dev" not in version and f"## {version}" not in before:
        log.write_text(f"{before}\n## {version} - 2026-12-05\n")
    (repo / "notes.txt").write_text(note or version)
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True)
    subprocess.run(
        [
            "git",
            "-C",
            str(repo),
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "commit",
            "-qm",
            version,
        ],
        check=True,
    )
    out = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], check=True,
                         capture_output=True, text=True)  # fmt: skip
    return out.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    return tmp_path


def test_a_release_is_the_commit_that_sets_a_released_version(repo: Path) -> None:
    first = commit_version(repo, "0.1.0")
    commit_version(repo, "0.1.0", "work that keeps the version")
    commit_version(repo, "0.2.0.dev0")
    second = commit_version(repo, "0.2.0")
    commit_version(repo, "0.3.0.dev0")
    assert releases.releases(repo) == [
        releases.Release("0.1.0", first),
        releases.Release("0.2.0", second),
    ]
    assert releases.previous_release("0.3.0.dev0", repo) == releases.Release("0.2.0", second)
    assert releases.previous_release("0.2.0", repo) == releases.Release("0.1.0", first)


def test_a_version_no_changelog_names_is_not_a_release(repo: Path) -> None:
    commit_version(repo, "0.1.0", announce=False)  # the first commit's placeholder
    commit_version(repo, "0.1.0", "more work, its heading written late")
    released = commit_version(repo, "0.2.0")
    commit_version(repo, "0.3.0.dev0")
    # 0.1.0's heading arrives later, in a commit that does not set the version: still none.
    assert releases.releases(repo) == [releases.Release("0.2.0", released)]
    with pytest.raises(releases.ReleaseError, match=r"no release before 0\.2\.0"):
        releases.previous_release("0.2.0", repo)


def test_no_earlier_release_is_a_clear_error(repo: Path) -> None:
    commit_version(repo, "0.1.0")
    with pytest.raises(releases.ReleaseError, match=r"no release before 0\.1\.0"):
        releases.previous_release("0.1.0", repo)


def test_the_worktree_holds_the_release(
    repo: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    first = commit_version(repo, "0.1.0")
    commit_version(repo, "0.2.0.dev0")
    where = tmp_path_factory.mktemp("wt") / "release"
    made = releases.worktree(releases.Release("0.1.0", first), where, repo)
    assert releases.version_at("HEAD", made) == "0.1.0"
    assert releases.worktree(releases.Release("0.1.0", first), where, repo) == made  # reused
