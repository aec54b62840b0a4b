"""Every object a stack declares, without a cluster: the Pulumi program under the SDK's mocks.

``lakehouse render`` writes the result as YAML for review or diffing, and the manifest
tests validate it. Values Pulumi marks secret are redacted in the output; the rendering
also records where secret values appeared, so a test can prove they only ever appear in
Secrets.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml

from lakehouse.ops.stacks import PROJECT, read_stack_file
from lakehouse_core.paths import REPO_ROOT
from lakehouse_core.stack_config import parse_config

# The marker Pulumi uses for secret values in serialized resource inputs.
SECRET_SIGNATURE = "4dabf18193072939515e22adb298388d"  # noqa: S105 (a marker, not a secret)
REDACTED = "<redacted>"


@dataclass
class Rendering:
    stack: str
    objects: list[dict[str, Any]] = field(default_factory=list)  # Kubernetes manifests
    releases: list[dict[str, Any]] = field(default_factory=list)  # helm.v3.Release inputs
    other: list[tuple[str, str]] = field(default_factory=list)  # (type, name): providers, random
    # (kind, name, path) wherever a secret value appeared in a resource's inputs
    secret_locations: list[tuple[str, str, str]] = field(default_factory=list)
    generated_secrets: set[str] = field(default_factory=set)
    exports: dict[str, Any] = field(default_factory=dict)

    def find(self, kind: str, name: str, namespace: str | None = None) -> dict[str, Any]:
        for obj in self.objects:
            meta = obj.get("metadata", {})
            if (
                obj.get("kind") == kind
                and meta.get("name") == name
                and (namespace is None or meta.get("namespace") == namespace)
            ):
                return obj
        raise KeyError(f"the {self.stack} stack declares no {kind} {namespace or ''}/{name}")

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [o for o in self.objects if o.get("kind") == kind]

    def release(self, name: str) -> dict[str, Any]:
        for release in self.releases:
            if release.get("name") == name:
                return release
        raise KeyError(f"the {self.stack} stack declares no Helm release {name}")


def _normalise(value: Any, path: str, found: list[str], redact: bool) -> Any:
    """Plain YAML: unwrap secrets (noting where), integral floats to ints, assets to paths."""
    if isinstance(value, dict):
        if SECRET_SIGNATURE in value:
            found.append(path)
            plain = _normalise(value.get("value"), path, [], redact=False)
            return _redacted(plain) if redact else plain
        return {
            k: _normalise(v, f"{path}.{k}" if path else k, found, redact) for k, v in value.items()
        }
    if isinstance(value, list):
        return [_normalise(v, f"{path}[{i}]", found, redact) for i, v in enumerate(value)]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, pulumi.FileAsset):
        asset_path = Path(str(value.path))
        try:
            return str(asset_path.relative_to(REPO_ROOT))
        except ValueError:
            return str(asset_path)
    return value


def _redacted(value: Any) -> Any:
    """Keep the shape (a Secret's stringData stays a map), hide every leaf."""
    if isinstance(value, dict):
        return {k: _redacted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redacted(v) for v in value]
    return REDACTED


class _RecordingMocks(pulumi.runtime.Mocks):
    def __init__(self, rendering: Rendering, redact: bool) -> None:
        self.rendering = rendering
        self.redact = redact

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        outputs = dict(args.inputs)
        if args.typ == "random:index/randomPassword:RandomPassword":
            value = "mock-" + hashlib.sha256(args.name.encode()).hexdigest()[:24]
            outputs["result"] = value
            self.rendering.generated_secrets.add(value)
        self._record(args.typ, args.name, args.inputs)
        return f"{args.name}-id", outputs

    def call(
        self, args: pulumi.runtime.MockCallArgs
    ) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return {}, None

    def _record(self, typ: str, name: str, inputs: dict[str, Any]) -> None:
        found: list[str] = []
        clean = _normalise(inputs, "", found, self.redact)
        if typ.startswith("kubernetes:") and typ != "kubernetes:helm.sh/v3:Release":
            self.rendering.objects.append(clean)
            kind = clean.get("kind", typ)
            obj_name = clean.get("metadata", {}).get("name", name)
        elif typ == "kubernetes:helm.sh/v3:Release":
            self.rendering.releases.append(clean)
            kind, obj_name = "HelmRelease", clean.get("name", name)
        else:
            self.rendering.other.append((typ, name))
            return
        self.rendering.secret_locations += [(kind, obj_name, p) for p in found]


def render_stack(
    stack: str,
    *,
    redact: bool = True,
    overrides: dict[str, Any] | None = None,
    root: Path | None = None,
) -> Rendering:
    """Run the program for ``stack`` under mocks; ``overrides`` replace config sections.

    The stack file comes from ``root``, else the stack folder every command uses
    (``$LAKEHOUSE_STACK_DIR`` or the checkout), and is read by the one reader of settings.
    """
    from lakehouse_infra.program import deploy

    stack_file = read_stack_file(stack, root)
    config = dict(stack_file.config)
    for key, value in (overrides or {}).items():
        full = key if ":" in key else f"{PROJECT}:{key}"
        if value is None:
            config.pop(full, None)
        else:
            config[full] = value
    settings = parse_config(config, stack_file.locate)
    rendering = Rendering(stack)
    pulumi.runtime.set_all_config(
        {k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()}
    )
    pulumi.runtime.set_mocks(
        _RecordingMocks(rendering, redact), project=PROJECT, stack=stack, preview=False
    )

    @pulumi.runtime.test  # type: ignore[untyped-decorator]
    def program() -> None:
        deploy(settings)

    program()
    return rendering


def write(rendering: Rendering, out: Path) -> list[Path]:
    """One YAML file per object under ``out/<namespace>/``; Helm releases under ``out/helm/``.

    YAML files a previous rendering left that this one does not write are removed, so the
    folder is exactly the stack's objects (a diff of two renderings shows what changed).
    """
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for obj in rendering.objects:
        meta = obj.get("metadata", {})
        folder = out / (meta.get("namespace") or "_cluster")
        folder.mkdir(exist_ok=True)
        path = folder / f"{obj['kind'].lower()}-{meta['name']}.yaml"
        path.write_text(yaml.safe_dump(obj, sort_keys=False))
        written.append(path)
    helm = out / "helm"
    helm.mkdir(exist_ok=True)
    for release in rendering.releases:
        path = helm / f"{release['name']}.yaml"
        path.write_text(yaml.safe_dump(release, sort_keys=False))
        written.append(path)
    for stale in set(out.rglob("*.yaml")) - set(written):
        stale.unlink()
    for folder in sorted((p for p in out.rglob("*") if p.is_dir()), reverse=True):
        if not any(folder.iterdir()):
            folder.rmdir()
    return written
