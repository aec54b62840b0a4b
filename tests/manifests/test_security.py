"""Security invariants over every rendered object (and over the repository's files)."""

from __future__ import annotations

import re
import subprocess
from typing import Any

from lakehouse.render import Rendering, render_stack
from lakehouse_core.names import SECRET_CONFIG_KEYS
from lakehouse_core.paths import REPO_ROOT

from .conftest import checked_in_manifests, containers, pod_templates

REQUIRED_LABELS = (
    "app.kubernetes.io/name",
    "app.kubernetes.io/part-of",
    "app.kubernetes.io/managed-by",
    "app.kubernetes.io/component",
)


def _security_ok(container: dict[str, Any], pod: dict[str, Any]) -> list[str]:
    sc, psc = container.get("securityContext", {}), pod.get("securityContext", {})
    problems = []
    if not (sc.get("runAsNonRoot") or psc.get("runAsNonRoot")):
        problems.append("may run as root")
    if sc.get("allowPrivilegeEscalation") is not False:
        problems.append("allows privilege escalation")
    if "ALL" not in sc.get("capabilities", {}).get("drop", []):
        problems.append("keeps Linux capabilities")
    if sc.get("privileged"):
        problems.append("is privileged")
    seccomp = sc.get("seccompProfile") or psc.get("seccompProfile") or {}
    if seccomp.get("type") != "RuntimeDefault":
        problems.append("has no RuntimeDefault seccomp profile")
    return problems


def test_every_container_is_non_root_unprivileged_and_bounded(rendering: Rendering) -> None:
    problems = []
    for obj in rendering.objects:
        for template in pod_templates(obj):
            for c in containers(template):
                where = f"{obj['kind']} {obj['metadata']['name']}/{c['name']}"
                problems += [f"{where} {p}" for p in _security_ok(c, template["spec"])]
                resources = c.get("resources", {})
                for kind in ("requests", "limits"):
                    for res in ("cpu", "memory"):
                        if res not in resources.get(kind, {}):
                            problems.append(f"{where} has no {res} {kind[:-1]}")
    assert not problems, "\n".join(problems)


def test_long_running_containers_have_probes(rendering: Rendering) -> None:
    for obj in rendering.of_kind("StatefulSet") + rendering.of_kind("Deployment"):
        for c in obj["spec"]["template"]["spec"]["containers"]:
            assert "livenessProbe" in c and "readinessProbe" in c, (
                f"{obj['metadata']['name']}/{c['name']}"
            )


def test_spark_pods_are_non_root_and_bounded() -> None:
    for name, app in checked_in_manifests().items():
        spec = app["spec"].get("template", app["spec"])
        for role in ("driver", "executor"):
            pod = spec[role]
            assert not _security_ok(pod, {"securityContext": pod["podSecurityContext"]}), (
                name,
                role,
            )
            assert pod["cores"] >= 1 and pod["coreLimit"] and pod["memory"], (name, role)


def test_images_are_pinned_never_latest(rendering: Rendering) -> None:
    images = [
        c["image"] for o in rendering.objects for t in pod_templates(o) for c in containers(t)
    ]
    images += [
        o["spec"].get("image") or o["spec"]["template"]["image"]
        for o in rendering.objects
        if o["kind"] in ("SparkApplication", "ScheduledSparkApplication")
    ]
    assert images
    for image in images:
        name, _, tag = image.rpartition(":")
        assert name and tag and tag != "latest" and "/" not in tag, f"unpinned image {image}"


def test_every_object_carries_the_recommended_labels(rendering: Rendering) -> None:
    for obj in rendering.objects:
        labels = obj["metadata"].get("labels", {})
        missing = [k for k in REQUIRED_LABELS if k not in labels]
        assert not missing, f"{obj['kind']} {obj['metadata']['name']} lacks {missing}"


def test_secret_values_appear_only_in_secrets(rendering: Rendering) -> None:
    assert rendering.secret_locations, "no secret values were seen at all: is the check blind?"
    leaks = [loc for loc in rendering.secret_locations if loc[0] != "Secret"]
    assert not leaks, f"secret values outside Secrets: {leaks}"


def test_generated_passwords_never_appear_in_plain_objects() -> None:
    plain = render_stack("dev", redact=False)
    assert len(plain.generated_secrets) == len(SECRET_CONFIG_KEYS) - 1  # all but the TLS seed
    for obj in plain.objects:
        if obj["kind"] == "Secret":
            continue
        text = repr(obj)
        for secret in plain.generated_secrets:
            assert secret not in text, f"{obj['kind']} {obj['metadata']['name']} holds a password"
    secrets_text = repr(plain.of_kind("Secret"))
    assert all(s in secrets_text for s in plain.generated_secrets), (
        "each password lives in a Secret"
    )


def test_spark_credentials_come_from_a_secret_not_from_spark_conf() -> None:
    for name, app in checked_in_manifests().items():
        spec = app["spec"].get("template", app["spec"])
        conf = {**spec["sparkConf"], **spec["hadoopConf"]}
        assert not [k for k in conf if "secret" in k.lower() or "access.key" in k.lower()], name
        env = {e["name"]: e for e in spec["driver"]["env"]}
        assert "secretKeyRef" in env["AWS_SECRET_ACCESS_KEY"]["valueFrom"], name


DEFAULT_PASSWORDS = re.compile(
    r"minioadmin|console123|minio123|rootPassword: *['\"]?[a-z0-9]"
    r"|password *[:=] *['\"](password|admin|secret)['\"]",
    re.IGNORECASE,
)


def test_the_repository_ships_no_default_credentials() -> None:
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    offenders = []
    for path in tracked:
        if path.startswith("tests/") or path.endswith(".md") or not (REPO_ROOT / path).is_file():
            continue
        try:
            text = (REPO_ROOT / path).read_text()
        except UnicodeDecodeError:
            continue
        offenders += [f"{path}: {m.group(0)}" for m in DEFAULT_PASSWORDS.finditer(text)]
    assert not offenders, offenders
