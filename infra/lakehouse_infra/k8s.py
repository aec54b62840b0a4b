"""Building blocks every component uses: labels, security contexts, probes, namespaces.

Kept in one place so that every object carries the same ``app.kubernetes.io/*`` labels
and every container the same non-root, no-privilege-escalation security context; the
manifest tests check that nothing slipped through.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from lakehouse_core.names import PART_OF

MANAGED_BY = "pulumi"


def labels(name: str, component: str, version: str | None = None) -> dict[str, str]:
    result = {
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/part-of": PART_OF,
        "app.kubernetes.io/managed-by": MANAGED_BY,
    }
    if version:
        result["app.kubernetes.io/version"] = version[:63]
    return result


def selector(name: str, component: str) -> dict[str, str]:
    """The stable subset of ``labels`` that Services and workloads select on."""
    return {"app.kubernetes.io/name": name, "app.kubernetes.io/component": component}


def claim_labels(name: str, component: str) -> dict[str, str]:
    """Labels of a StatefulSet's volumeClaimTemplates: never the version.

    Any change to the claim templates makes pulumi-kubernetes replace the whole StatefulSet
    (Kubernetes forbids updating them), so an image bump must not touch them.
    """
    return labels(name, component)


def volume_claim(
    name: str, size: str, storage_class: str | None, claim_labels: dict[str, str]
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": size}},
    }
    if storage_class:
        spec["storageClassName"] = storage_class
    return {"metadata": {"name": name, "labels": claim_labels}, "spec": spec}


def content_hash(*parts: str) -> str:
    """A short digest of configuration text, for a pod template annotation: a changed input
    rolls the pods (or replaces a Job) that read it."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def secret_hash(*values: pulumi.Input[str]) -> pulumi.Output[str]:
    """A digest of secret values, safe to show (an annotation): a rotated password rolls every
    pod that reads it. The digest itself is not secret; the values never leave the Secret."""
    joined = pulumi.Output.all(*values).apply(lambda vs: content_hash("secret", *map(str, vs)))
    return pulumi.Output.unsecret(joined)


def metadata(name: str, namespace: str, object_labels: dict[str, str], **extra: Any) -> Any:
    """ObjectMeta as a plain dict (typed Any: the SDK's TypedDicts add nothing here)."""
    return {"name": name, "namespace": namespace, "labels": object_labels, **extra}


def pod_security(uid: int, fs_group: int | None = None) -> dict[str, Any]:
    return {
        "runAsNonRoot": True,
        "runAsUser": uid,
        "runAsGroup": uid,
        "fsGroup": uid if fs_group is None else fs_group,
        "fsGroupChangePolicy": "OnRootMismatch",
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def with_ephemeral(resources: dict[str, Any], limit: str) -> dict[str, Any]:
    """Requests and limits plus ephemeral storage: the container's logs and whatever it
    writes outside its volumes count against ``limit``, so a runaway writer is evicted
    instead of filling the node."""
    return {
        "requests": {**resources.get("requests", {}), "ephemeral-storage": "16Mi"},
        "limits": {**resources.get("limits", {}), "ephemeral-storage": limit},
    }


def container_security(read_only_root: bool = True) -> dict[str, Any]:
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": read_only_root,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def http_probe(
    path: str,
    port: int | str,
    *,
    period: int = 10,
    failures: int = 3,
    timeout: int = 5,
    scheme: str = "HTTP",
) -> dict[str, Any]:
    get: dict[str, Any] = {"path": path, "port": port}
    if scheme != "HTTP":
        get["scheme"] = scheme
    return {
        "httpGet": get,
        "periodSeconds": period,
        "timeoutSeconds": timeout,
        "failureThreshold": failures,
    }


def tcp_probe(port: int | str, period: int = 10, failures: int = 3) -> dict[str, Any]:
    return {
        "tcpSocket": {"port": port},
        "periodSeconds": period,
        "timeoutSeconds": 5,
        "failureThreshold": failures,
    }


def exec_probe(command: list[str], period: int = 10, failures: int = 3) -> dict[str, Any]:
    return {
        "exec": {"command": command},
        "periodSeconds": period,
        "timeoutSeconds": 5,
        "failureThreshold": failures,
    }


def tmp_volume(name: str = "tmp", size: str = "64Mi") -> dict[str, Any]:
    return {"name": name, "emptyDir": {"sizeLimit": size}}


def namespace(
    name: str,
    component: str,
    enforce: str,
    opts: pulumi.ResourceOptions,
) -> k8s.core.v1.Namespace:
    """A namespace with Pod Security admission: ``enforce`` level, warnings at restricted."""
    ns_labels = {
        **labels(name, component),
        "pod-security.kubernetes.io/enforce": enforce,
        "pod-security.kubernetes.io/warn": "restricted",
        "pod-security.kubernetes.io/audit": "restricted",
    }
    return k8s.core.v1.Namespace(name, metadata={"name": name, "labels": ns_labels}, opts=opts)


def service(
    name: str,
    namespace: str,
    object_labels: dict[str, str],
    select: dict[str, str],
    ports: dict[str, int],
    *,
    opts: pulumi.ResourceOptions,
    headless: bool = False,
    annotations: dict[str, str] | None = None,
) -> k8s.core.v1.Service:
    """A Service whose ports target the pods' named ports (``ports``: name -> number).

    A headless Service publishes not-ready addresses: StatefulSet pods must find each
    other (MinIO, ZooKeeper, Dremio's fabric) before any of them is ready.
    """
    spec: dict[str, Any] = {
        "selector": select,
        "ports": [{"name": p, "port": n, "targetPort": p} for p, n in ports.items()],
    }
    if headless:
        spec.update({"clusterIP": "None", "publishNotReadyAddresses": True})
    extra = {"annotations": annotations} if annotations else {}
    return k8s.core.v1.Service(
        name, metadata=metadata(name, namespace, object_labels, **extra), spec=spec, opts=opts
    )


def secret_env(env: str, secret: str, key: str) -> dict[str, Any]:
    """An environment variable read from a Secret (never a literal value)."""
    return {"name": env, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


def env(name: str, value: str) -> dict[str, Any]:
    return {"name": name, "value": value}
