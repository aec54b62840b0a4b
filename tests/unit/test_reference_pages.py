"""The reference pages say what the code does: the configuration page is the settings
models' own, and every page, link and file that a hint or a page names exists."""

from __future__ import annotations

import re

from lakehouse.reference import (
    CONFIGURATION_PAGE,
    SECURITY_PAGE,
    configuration_page,
    with_flow_table,
    with_observability_tables,
)
from lakehouse_core.paths import REPO_ROOT

CODE_ROOTS = ("core", "spark-apps", "infra", "dremio-client", "src", "testbed", "scripts")
DOC_PATH = re.compile(
    r"\b((?:docs|spark-apps|charts-values|infra|bench)/[\w./-]+\.(?:md|yaml|json|png))"
)
MD_LINK = re.compile(r"\]\((?!https?://|mailto:|#)([^)#\s]+)(?:#[^)]*)?\)")


def test_the_configuration_page_is_generated_from_the_settings() -> None:
    assert CONFIGURATION_PAGE.read_text() == configuration_page(), (
        "docs/configuration.md differs from the settings models: run `make docs`"
    )


def test_the_security_page_prints_the_flows_the_policies_are_made_of() -> None:
    page = SECURITY_PAGE.read_text()
    assert page == with_flow_table(page), "docs/security.md's flow table is stale: `make docs`"


def test_the_observability_page_prints_the_targets_and_panels_the_stack_ships() -> None:
    page = (REPO_ROOT / "docs" / "observability.md").read_text()
    assert page == with_observability_tables(page), (
        "docs/observability.md's tables are stale: `make docs`"
    )


def test_every_docs_path_the_code_names_exists() -> None:
    named: dict[str, list[str]] = {}
    for root in CODE_ROOTS:
        for path in (REPO_ROOT / root).rglob("*"):
            if path.suffix in (".py", ".sh", ".yaml", ".md") and path.is_file():
                for found in DOC_PATH.findall(path.read_text(errors="replace")):
                    named.setdefault(found.rstrip("."), []).append(str(path.relative_to(REPO_ROOT)))
    missing = {p: where for p, where in named.items() if not (REPO_ROOT / p).exists()}
    assert not missing, f"paths named in hints or comments that do not exist: {missing}"


def test_every_relative_link_of_the_readme_and_docs_resolves() -> None:
    pages = [
        REPO_ROOT / "README.md",
        REPO_ROOT / "CHANGELOG.md",
        *(REPO_ROOT / "docs").rglob("*.md"),
    ]
    broken: list[str] = []
    for page in pages:
        for target in MD_LINK.findall(page.read_text()):
            if not (page.parent / target).resolve().exists():
                broken.append(f"{page.relative_to(REPO_ROOT)} -> {target}")
    assert not broken, broken


def test_the_readme_stays_a_page_for_users() -> None:
    lines = (REPO_ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= 220, f"README.md has {len(lines)} lines: move reference to docs/"
    assert "make test" in "\n".join(lines[:20]) and "make demo" in "\n".join(lines[:20])


def test_the_readme_test_command_is_what_ci_runs() -> None:
    ci = [line for line in (REPO_ROOT / ".ci" / "run").read_text().splitlines() if line.strip()]
    assert ci[-1] == "make test"
    assert "make test" in (REPO_ROOT / "README.md").read_text()
