"""Go programs built once from the Go module proxy, cached by name and version.

The application builds the MinIO client with it (``lakehouse.local.minio``), and the test
bed (``lakehouse_bed``) every program of its node. Several of the programs the bed needs
(Kubernetes, etcd, Traefik, the Spark operator, the Pulumi CLI) refuse ``go install
module@version``: their go.mod has replace directives pointing at folders of their own
repository. Each is built through a small
*wrapper module* of the project's own that requires the program's module at its pinned
version and repeats its replace directives, turning every local folder into the published
module of the same version. Nothing is downloaded from anywhere but the module proxy.

The build cache and module cache live under the project cache directory (several GiB);
a binary is rebuilt only when its target (module, version, packages, flags) changes.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from lakehouse_core.errors import LakehouseError
from lakehouse_core.paths import cache_dir

Log = Callable[[str], None]
# Maps a module that the target's go.mod replaces with a local folder to the published
# version to use instead; None keeps the directive out.
LocalVersion = Callable[[str], str | None]


class GoBuildError(LakehouseError):
    """A Go build failed; the message carries the end of the compiler's output."""


@dataclass(frozen=True)
class GoTarget:
    """One Go module at one version, and the binaries to build from it."""

    name: str
    module: str
    version: str
    # output file name -> package path to build
    binaries: Mapping[str, str]
    # repeat the target's own replace directives (local folders through ``local_version``)
    inherit_replaces: bool = False
    local_version: LocalVersion | None = None
    # module -> "module version" or a folder (relative to the wrapper) to replace it with
    extra_replaces: Mapping[str, str] = field(default_factory=dict)
    # files written into the wrapper module (relative path -> content)
    extra_files: Mapping[str, str] = field(default_factory=dict)
    ldflags: str = "-s -w"
    # Build inside a writable copy of the module instead of a wrapper that requires it
    # (for modules whose main package embeds files that a generate step writes).
    copy_module: bool = False
    # file name (in the copied module) -> function of the original text giving the new one
    generate: Mapping[str, Callable[[Path], str]] = field(default_factory=dict)
    cgo: bool = False
    # Modules whose pinned version the checksum database does not list (their go.sum is
    # then computed from what the module proxy serves): named, never a blanket switch-off.
    unlisted_in_sumdb: tuple[str, ...] = ()

    def fingerprint(self) -> str:
        spec = {
            "module": self.module,
            "version": self.version,
            "binaries": dict(self.binaries),
            "replaces": dict(self.extra_replaces),
            "files": {
                k: hashlib.sha256(v.encode()).hexdigest() for k, v in self.extra_files.items()
            },
            "ldflags": self.ldflags,
            "copy": self.copy_module,
            "generate": sorted(self.generate),
            "cgo": self.cgo,
        }
        if self.unlisted_in_sumdb:
            spec["unlisted"] = list(self.unlisted_in_sumdb)
        return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]


def go_root() -> Path:
    return cache_dir() / "go"


def bin_dir() -> Path:
    return cache_dir() / "localcluster" / "bin"


def target_dir(target: GoTarget) -> Path:
    return bin_dir() / f"{target.name}-{target.version}"


def binary(target: GoTarget, name: str) -> Path:
    return target_dir(target) / name


def is_built(target: GoTarget) -> bool:
    stamp = target_dir(target) / ".fingerprint"
    return (
        stamp.is_file()
        and stamp.read_text().strip() == target.fingerprint()
        and all((target_dir(target) / b).is_file() for b in target.binaries)
    )


def go_env() -> dict[str, str]:
    """The environment of every go command: caches in the project cache, no CGO, no toolchain
    downloads, and none of the proxy variables a build here must not inherit."""
    root = go_root()
    env = {
        k: v
        for k, v in os.environ.items()
        if k.lower() not in ("http_proxy", "https_proxy", "no_proxy", "all_proxy")
    }
    env.update(
        {
            "GOCACHE": str(root / "build-cache"),
            "GOMODCACHE": str(root / "mod"),
            "GOTOOLCHAIN": "local",
            "GOFLAGS": "-buildvcs=false -mod=mod",
            "CGO_ENABLED": "0",
        }
    )
    return env


def require_go() -> str:
    go = shutil.which("go")
    if go is None:
        raise GoBuildError(
            "Go is needed to build the local cluster's programs but is not installed",
            hint="install Go 1.26 or newer (https://go.dev/dl/) and put `go` on PATH",
        )
    return go


def _run(command: list[str], cwd: Path, env: Mapping[str, str], what: str) -> str:
    result = subprocess.run(
        command, cwd=cwd, env=dict(env), capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise GoBuildError(
            f"{what} failed (exit {result.returncode}): {' '.join(command)}\n"
            f"{(result.stderr or result.stdout)[-4000:]}",
            hint="the compiler's last lines are above; a module the proxy refuses is named there",
        )
    return result.stdout


def download(module: str, version: str, env: Mapping[str, str]) -> dict[str, str]:
    """``go mod download -json`` of one module version: its folder and go.mod in the cache."""
    go = require_go()
    scratch = go_root() / "scratch"
    scratch.mkdir(parents=True, exist_ok=True)
    out = _run(
        [go, "mod", "download", "-json", f"{module}@{version}"],
        scratch,
        env,
        f"downloading {module}@{version} from the Go module proxy",
    )
    info = json.loads(out)
    if info.get("Error"):
        raise GoBuildError(
            f"{module}@{version}: {info['Error']}",
            hint="check the version in lakehouse_core/versions.py against the module proxy",
        )
    return {k: str(v) for k, v in info.items()}


_REPLACE_LINE = re.compile(r"^\s*(?:replace\s+)?(\S+)(?:\s+(\S+))?\s+=>\s+(\S+)(?:\s+(\S+))?\s*$")


def replace_directives(go_mod: str) -> list[tuple[str, str, str | None]]:
    """(module, new module or local folder, new version or None) for each replace directive."""
    directives = []
    in_block = False
    for raw in go_mod.splitlines():
        line = raw.split("//", 1)[0].rstrip()
        if not line.strip():
            continue
        if line.startswith("replace ("):
            in_block = True
            continue
        if in_block and line.strip() == ")":
            in_block = False
            continue
        if in_block or line.startswith("replace "):
            m = _REPLACE_LINE.match(line)
            if m:
                directives.append((m.group(1), m.group(3), m.group(4)))
    return directives


def _is_local(path: str) -> bool:
    return path.startswith(("./", "../", "/"))


def wrapper_replaces(target: GoTarget, go_mod: str) -> dict[str, str]:
    """module -> right-hand side of the wrapper's replace directive."""
    replaces: dict[str, str] = {}
    if target.inherit_replaces:
        for module, new, version in replace_directives(go_mod):
            if _is_local(new):
                published = target.local_version(module) if target.local_version else None
                if published is not None:
                    replaces[module] = f"{module} {published}"
            elif version:
                replaces[module] = f"{new} {version}"
    replaces.update(target.extra_replaces)
    return replaces


def _go_directive(go_mod: str) -> str:
    m = re.search(r"^go (\d+\.\d+(?:\.\d+)?)", go_mod, re.MULTILINE)
    return m.group(1) if m else "1.24"


def _write_wrapper(target: GoTarget, work: Path, go_mod: str, replaces: Mapping[str, str]) -> None:
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    lines = [
        f"module lakehouse.local/gobuild/{target.name}",
        "",
        f"go {_go_directive(go_mod)}",
        "",
        f"require {target.module} {target.version}",
    ]
    if replaces:
        lines += ["", "replace ("]
        lines += [f"\t{module} => {rhs}" for module, rhs in sorted(replaces.items())]
        lines.append(")")
    (work / "go.mod").write_text("\n".join(lines) + "\n")
    imports = "\n".join(f'\t_ "{pkg}"' for pkg in sorted(set(target.binaries.values())))
    tools = f"//go:build tools\n\npackage tools\n\nimport (\n{imports}\n)\n"
    if not any(p == "." for p in target.binaries.values()):
        (work / "tools.go").write_text(tools)
    for rel, content in target.extra_files.items():
        path = work / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)


def _copy_module(target: GoTarget, source: Path, work: Path, replaces: Mapping[str, str]) -> None:
    if work.exists():
        shutil.rmtree(work)
    shutil.copytree(source, work, symlinks=True)
    for path in [work, *work.rglob("*")]:  # the module cache is read-only
        mode = path.stat().st_mode
        path.chmod(mode | stat.S_IWUSR)
    go_mod = (work / "go.mod").read_text()
    kept = []
    skip_block = False
    for line in go_mod.splitlines():
        stripped = line.strip()
        if stripped.startswith("replace ("):
            skip_block = True
            continue
        if skip_block:
            if stripped == ")":
                skip_block = False
            continue
        if stripped.startswith("replace "):
            continue
        kept.append(line)
    kept += ["", "replace ("] + [f"\t{m} => {rhs}" for m, rhs in sorted(replaces.items())] + [")"]
    (work / "go.mod").write_text("\n".join(kept) + "\n")
    for rel, generate in target.generate.items():
        (work / rel).write_text(generate(work))


def build(target: GoTarget, log: Log = print) -> dict[str, Path]:
    """Build every binary of ``target`` into the cache (once); name -> path."""
    out = target_dir(target)
    paths = {name: out / name for name in target.binaries}
    if is_built(target):
        return paths
    go = require_go()
    env = go_env()
    if target.cgo:
        env["CGO_ENABLED"] = "1"
    if target.unlisted_in_sumdb:
        env["GONOSUMDB"] = ",".join(target.unlisted_in_sumdb)
    started = time.monotonic()
    programs = ", ".join(target.binaries)
    log(f"building {target.name} {target.version} ({programs}) from {target.module}")
    info = download(target.module, target.version, env)
    go_mod = Path(info["GoMod"]).read_text()
    replaces = wrapper_replaces(target, go_mod)
    work = go_root() / "wrappers" / f"{target.name}-{target.version}"
    if target.copy_module:
        _copy_module(target, Path(info["Dir"]), work, replaces)
    else:
        _write_wrapper(target, work, go_mod, replaces)
        # The target's own go.sum (verified with the module itself) lists its dependencies'
        # hashes, some of which the checksum database was never asked for.
        upstream_sum = Path(info["Dir"]) / "go.sum"
        if upstream_sum.is_file():
            (work / "go.sum").write_text(upstream_sum.read_text())
    _run([go, "mod", "tidy"], work, env, f"resolving the modules of {target.name}")
    out.mkdir(parents=True, exist_ok=True)
    for name, package in target.binaries.items():
        step = time.monotonic()
        _run(
            [go, "build", "-trimpath", "-ldflags", target.ldflags, "-o", str(out / name), package],
            work,
            env,
            f"building {name} ({package})",
        )
        log(f"  {name}: {time.monotonic() - step:.0f}s")
    (out / ".fingerprint").write_text(target.fingerprint() + "\n")
    log(f"built {target.name} {target.version} in {time.monotonic() - started:.0f}s")
    return paths
