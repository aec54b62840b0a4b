"""`make scan`: two widely used Kubernetes scanners that nobody on this project wrote,
kube-score and checkov, over every object both stacks declare (`lakehouse render`).

Every finding must be fixed or listed in scan-allowlist.yaml with its reason; the scan
fails on a finding not listed, and on a listed one that no longer occurs (a stale entry
hides the next real finding). kube-score is built once from its Go module; checkov runs
from PyPI through `uv tool run` (both cached, then offline).

Neither scanner expands Helm releases or reads inside SparkApplications: the charts'
objects and the Spark pods are covered by the manifest tests and the cluster test.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

from lakehouse import gobuild
from lakehouse.render import render_stack, write
from lakehouse_core import versions
from lakehouse_core.paths import REPO_ROOT

ALLOWLIST = REPO_ROOT / "scan-allowlist.yaml"
OUT = REPO_ROOT / "out" / "scan"
KUBE_SCORE = gobuild.GoTarget(
    name="kube-score",
    module="github.com/zegl/kube-score",
    version=versions.KUBE_SCORE_VERSION,
    binaries={"kube-score": "github.com/zegl/kube-score/cmd/kube-score"},
)


@dataclass(frozen=True, order=True)
class Finding:
    scanner: str
    check: str
    kind: str
    namespace: str
    name: str
    detail: str = ""

    def key(self) -> tuple[str, str, str, str]:
        return (self.scanner, self.check, self.kind, self.name)


def rendered(stack: str) -> list[Path]:
    folder = OUT / stack
    return [p for p in write(render_stack(stack), folder) if p.parent.name != "helm"]


def kube_score(files: list[Path]) -> list[Finding]:
    if not gobuild.is_built(KUBE_SCORE):
        gobuild.build(KUBE_SCORE, print)
    binary = gobuild.binary(KUBE_SCORE, "kube-score")
    result = subprocess.run(
        [str(binary), "score", "--output-format", "json", *map(str, files)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode not in (0, 1):  # 1: something scored below OK
        raise SystemExit(f"kube-score failed ({result.returncode}):\n{result.stderr[-2000:]}")
    findings = []
    for obj in json.loads(result.stdout):
        meta = obj["object_meta"]
        for check in obj["checks"]:
            if check["grade"] < 10 and not check.get("skipped"):  # 10 = OK
                comments = "; ".join(c["summary"] for c in check.get("comments") or [])
                findings.append(
                    Finding(
                        "kube-score",
                        check["check"]["id"],
                        obj["type_meta"]["kind"],
                        meta.get("namespace") or "",
                        meta["name"],
                        comments,
                    )
                )
    return findings


def checkov(folder: Path) -> list[Finding]:
    result = subprocess.run(
        [
            "uv", "tool", "run", "--from", f"checkov=={versions.CHECKOV_VERSION}", "checkov",
            "-d", str(folder), "--framework", "kubernetes", "--skip-download",
            "--quiet", "--compact", "-o", "json",
        ],
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    if result.returncode not in (0, 1):
        raise SystemExit(f"checkov failed ({result.returncode}):\n{result.stderr[-2000:]}")
    reports = json.loads(result.stdout or "[]")
    findings = []
    for report in reports if isinstance(reports, list) else [reports]:
        for failed in report.get("results", {}).get("failed_checks", []):
            kind, namespace, name = failed["resource"].split(".", 2)
            findings.append(
                Finding("checkov", failed["check_id"], kind, namespace, name, failed["check_name"])
            )
    return findings


def main() -> int:
    allowed = yaml.safe_load(ALLOWLIST.read_text())["accepted"]
    entries = {
        (a["scanner"], a["check"], kind, name): a["reason"]
        for a in allowed
        for kind, name in (o.split("/", 1) for o in a["objects"])
    }
    found: set[Finding] = set()
    for stack in ("dev", "prod"):
        files = rendered(stack)
        found |= set(kube_score(files))
        found |= set(checkov(OUT / stack))
    new = sorted(f for f in found if f.key() not in entries)
    stale = sorted(set(entries) - {f.key() for f in found})
    accepted = len(found) - len(new)
    print(f"scan: {len(found)} findings over dev and prod; {accepted} accepted with reasons")
    for f in new:
        print(f"  NEW {f.scanner} {f.check} {f.kind}/{f.name} ({f.namespace}): {f.detail}")
    for scanner, check, kind, name in stale:
        print(f"  STALE allowlist entry: {scanner} {check} {kind}/{name} no longer occurs")
    return 1 if new or stale else 0


if __name__ == "__main__":
    sys.exit(main())
