"""Talking to the deployed lakehouse through the Kubernetes API (the official client).

Every failure the user can fix (no kubeconfig, an unknown context, an API server that does
not answer, an object that is not there yet, a permission the user lacks) surfaces as a
``ClusterError`` that says which, and what to do.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import wraps
from typing import Any, ParamSpec, TypeVar

from lakehouse_core import names
from lakehouse_core.errors import LakehouseError

P = ParamSpec("P")
R = TypeVar("R")

SPARK_GROUP, SPARK_API_VERSION = "sparkoperator.k8s.io", "v1beta2"


class ClusterError(LakehouseError):
    """The cluster could not be reached, or refused or lacked what was asked."""


@dataclass(frozen=True)
class Credentials:
    user: str
    password: str

    def __repr__(self) -> str:
        return f"Credentials(user={self.user!r}, password='***')"


def _api_call(method: Callable[P, R]) -> Callable[P, R]:
    @wraps(method)
    def call(*args: P.args, **kwargs: P.kwargs) -> R:
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        cluster: Cluster = args[0]  # type: ignore[assignment]
        try:
            return method(*args, **kwargs)
        except ApiException as err:
            what = f"{method.__name__.replace('_', ' ')} ({', '.join(map(str, args[1:]))})"
            if err.status == 404:
                raise ClusterError(
                    f"the cluster has no {what}",
                    hint="is the stack deployed (`lakehouse up`) and the context right "
                    f"({cluster.context_name})?",
                ) from None
            if err.status in (401, 403):
                raise ClusterError(
                    f"the cluster refused {what}: {err.reason}",
                    hint="the kubeconfig's user lacks this permission",
                ) from None
            raise
        except HTTPError as err:
            raise ClusterError(
                f"the Kubernetes API of context {cluster.context_name} does not answer ({err})",
                hint="is the cluster running (`kubectl cluster-info`)?",
            ) from None

    return call


class Cluster:
    def __init__(self, context: str | None) -> None:
        from kubernetes import client, config

        self.context_name = context or "(current)"
        try:
            # The client reads $KUBECONFIG once, when it is imported; read it now instead.
            config.load_kube_config(  # type: ignore[no-untyped-call]
                config_file=os.environ.get("KUBECONFIG") or None, context=context
            )
        except (config.ConfigException, FileNotFoundError) as err:
            raise ClusterError(
                f"cannot use kubeconfig context {self.context_name}: {err}",
                hint="create the cluster (`lakehouse cluster create`) or point KUBECONFIG at "
                "one whose context the stack names (lakehouse:kubeContext)",
            ) from None
        # The client's responses are untyped models and dicts.
        self.core: Any = client.CoreV1Api()
        self.apps: Any = client.AppsV1Api()
        self.custom: Any = client.CustomObjectsApi()
        self.coordination: Any = client.CoordinationV1Api()
        self.api_client: Any = client.ApiClient()

    @_api_call
    def check_reachable(self) -> None:
        """Raise a ClusterError unless the API server answers (its cheap /version call)."""
        from kubernetes import client

        client.VersionApi().get_code(_request_timeout=10)

    @_api_call
    def has_crd(self, name: str) -> bool:
        """Whether the API serves a CustomResourceDefinition (``certificates.cert-manager.io``)."""
        from kubernetes import client

        try:
            client.ApiextensionsV1Api().read_custom_resource_definition(name, _request_timeout=10)
        except client.ApiException as err:
            if err.status == 404:
                return False
            raise
        return True

    @_api_call
    def secret(self, namespace: str, name: str) -> dict[str, str]:
        obj = self.core.read_namespaced_secret(name, namespace)
        return {k: base64.b64decode(v).decode() for k, v in (obj.data or {}).items()}

    def dremio_admin(self) -> Credentials:
        data = self.secret(names.DREMIO_NAMESPACE, names.DREMIO_ADMIN_SECRET)
        return Credentials(data["username"], data["password"])

    def spark_s3(self, namespace: str) -> Credentials:
        data = self.secret(namespace, names.SPARK_S3_SECRET)
        return Credentials(data[names.ACCESS_KEY_ENV], data[names.SECRET_KEY_ENV])

    # --- SparkApplications ------------------------------------------------------------
    @_api_call
    def create_application(self, app: dict[str, Any]) -> None:
        self.custom.create_namespaced_custom_object(
            SPARK_GROUP,
            SPARK_API_VERSION,
            app["metadata"]["namespace"],
            "sparkapplications",
            app,
        )

    @_api_call
    def application(self, namespace: str, name: str) -> dict[str, Any]:
        return dict(
            self.custom.get_namespaced_custom_object(
                SPARK_GROUP, SPARK_API_VERSION, namespace, "sparkapplications", name
            )
        )

    @_api_call
    def delete_application(self, namespace: str, name: str) -> None:
        self.custom.delete_namespaced_custom_object(
            SPARK_GROUP, SPARK_API_VERSION, namespace, "sparkapplications", name
        )

    def pod_waiting(self, namespace: str, pod: str) -> tuple[str, str] | None:
        """(reason, message) of the pod's first container that waits, if any (None if the
        pod is not there yet or nothing waits)."""
        from kubernetes.client.exceptions import ApiException

        try:
            status = self.core.read_namespaced_pod_status(pod, namespace).status
        except ApiException:
            return None
        for container in status.container_statuses or []:
            waiting = container.state.waiting if container.state else None
            if waiting is not None and waiting.reason:
                return str(waiting.reason), str(waiting.message or "")
        return None

    @_api_call
    def applications(self, namespace: str) -> list[dict[str, Any]]:
        found = self.custom.list_namespaced_custom_object(
            SPARK_GROUP,
            SPARK_API_VERSION,
            namespace,
            "sparkapplications",
            label_selector=f"app.kubernetes.io/part-of={names.PART_OF}",
        )
        return list(found.get("items", []))

    def pod_log(self, namespace: str, pod: str, tail: int | None = None) -> str:
        try:
            return str(self.core.read_namespaced_pod_log(pod, namespace, tail_lines=tail))
        except Exception as err:  # a missing log is reported, not raised: it is a detail
            return f"(no log for {pod}: {err})"

    @_api_call
    def service_get(self, namespace: str, service: str, path: str) -> str:
        """GET a path of a Service through the API server's proxy (no route needed)."""
        answer = self.core.connect_get_namespaced_service_proxy_with_path(
            service, namespace, path, _request_timeout=15, _preload_content=False
        )
        return bytes(answer.data).decode()

    @_api_call
    def pod_names(self, namespace: str, selector: str) -> list[str]:
        pods = self.core.list_namespaced_pod(namespace, label_selector=selector).items
        return sorted(str(p.metadata.name) for p in pods)

    def pod_log_lines(
        self,
        namespace: str,
        pod: str,
        *,
        follow: bool = False,
        since: int | None = None,
        tail: int | None = None,
    ) -> Iterator[str]:
        """The pod's log line by line (every container's, the first one's when one)."""
        from kubernetes.client.exceptions import ApiException

        try:
            stream = self.core.read_namespaced_pod_log(
                pod,
                namespace,
                follow=follow,
                since_seconds=since,
                tail_lines=tail,
                _preload_content=False,
            )
        except ApiException as err:
            yield f"(no log: {err.reason})"
            return
        pending = b""
        for chunk in stream.stream(amt=4096, decode_content=True):
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                yield line.decode(errors="replace")
        if pending:
            yield pending.decode(errors="replace")

    @_api_call
    def ready_replicas(self, namespace: str, kind: str, name: str) -> tuple[int, int]:
        read = {
            "Deployment": self.apps.read_namespaced_deployment,
            "StatefulSet": self.apps.read_namespaced_stateful_set,
        }[kind]
        obj = read(name, namespace)
        return int(obj.status.ready_replicas or 0), int(obj.spec.replicas or 0)

    @_api_call
    def deployments(self, namespace: str) -> list[Any]:
        return list(self.apps.list_namespaced_deployment(namespace).items)


class KubernetesLeaseApi:
    """The Lease API of ``lakehouse_jobs.lease`` through the official client."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster

    def get(self, namespace: str, name: str) -> dict[str, Any] | None:
        from kubernetes.client.exceptions import ApiException

        try:
            obj = self.cluster.coordination.read_namespaced_lease(name, namespace)
        except ApiException as err:
            if err.status == 404:
                return None
            raise
        return dict(self.cluster.api_client.sanitize_for_serialization(obj))

    def create(self, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._write(
            lambda: self.cluster.coordination.create_namespaced_lease(namespace, body)
        )

    def replace(self, namespace: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._write(
            lambda: self.cluster.coordination.replace_namespaced_lease(name, namespace, body)
        )

    def _write(self, call: Callable[[], Any]) -> dict[str, Any]:
        from kubernetes.client.exceptions import ApiException

        from lakehouse_jobs.lease import Conflict

        try:
            return dict(self.cluster.api_client.sanitize_for_serialization(call()))
        except ApiException as err:
            if err.status == 409:
                raise Conflict(str(err.reason)) from None
            raise ClusterError(
                f"the cluster refused the pipeline's Lease ({err.status} {err.reason})",
                hint="the kubeconfig's user needs get/create/update on leases in the jobs "
                "namespace",
            ) from None
