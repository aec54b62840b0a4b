"""Talking to the deployed lakehouse through the Kubernetes API (the official client)."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Credentials:
    user: str
    password: str


class Cluster:
    SPARK_GROUP, SPARK_VERSION = "sparkoperator.k8s.io", "v1beta2"

    def __init__(self, context: str | None) -> None:
        from kubernetes import client, config

        try:
            config.load_kube_config(context=context)  # type: ignore[no-untyped-call]
        except config.ConfigException as err:
            raise RuntimeError(
                f"cannot use kubeconfig context {context or '(current)'}: {err}; is the cluster "
                "up (`lakehouse cluster create`) and kubectl configured?"
            ) from None
        # The client's responses are untyped models and dicts.
        self.core: Any = client.CoreV1Api()
        self.apps: Any = client.AppsV1Api()
        self.custom: Any = client.CustomObjectsApi()

    def secret(self, namespace: str, name: str) -> dict[str, str]:
        obj = self.core.read_namespaced_secret(name, namespace)
        return {k: base64.b64decode(v).decode() for k, v in (obj.data or {}).items()}

    def dremio_admin(self, namespace: str = "lakehouse-dremio") -> Credentials:
        data = self.secret(namespace, "dremio-admin")
        return Credentials(data["username"], data["password"])

    def spark_s3(self, namespace: str) -> Credentials:
        data = self.secret(namespace, "lakehouse-spark-s3")
        return Credentials(data["AWS_ACCESS_KEY_ID"], data["AWS_SECRET_ACCESS_KEY"])

    # --- SparkApplications ------------------------------------------------------------
    def create_application(self, app: dict[str, Any]) -> None:
        self.custom.create_namespaced_custom_object(
            self.SPARK_GROUP,
            self.SPARK_VERSION,
            app["metadata"]["namespace"],
            "sparkapplications",
            app,
        )

    def application(self, namespace: str, name: str) -> dict[str, Any]:
        return dict(
            self.custom.get_namespaced_custom_object(
                self.SPARK_GROUP, self.SPARK_VERSION, namespace, "sparkapplications", name
            )
        )

    def applications(self, namespace: str) -> list[dict[str, Any]]:
        found = self.custom.list_namespaced_custom_object(
            self.SPARK_GROUP,
            self.SPARK_VERSION,
            namespace,
            "sparkapplications",
            label_selector="app.kubernetes.io/part-of=lakehouse",
        )
        return list(found.get("items", []))

    def pod_log_tail(self, namespace: str, pod: str, lines: int = 40) -> str:
        try:
            return str(self.core.read_namespaced_pod_log(pod, namespace, tail_lines=lines))
        except Exception as err:
            return f"(no log for {pod}: {err})"

    def ready_replicas(self, namespace: str, kind: str, name: str) -> tuple[int, int]:
        read = {
            "Deployment": self.apps.read_namespaced_deployment,
            "StatefulSet": self.apps.read_namespaced_stateful_set,
        }[kind]
        obj = read(name, namespace)
        return int(obj.status.ready_replicas or 0), int(obj.spec.replicas or 0)

    def deployments(self, namespace: str) -> list[Any]:
        return list(self.apps.list_namespaced_deployment(namespace).items)
