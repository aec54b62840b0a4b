"""The Job that wires Dremio to the lake, and keeps it wired when credentials rotate.

It runs ``python3 -m lakehouse_dremio.bootstrap`` from the Dremio bootstrap image (the core
and the Dremio client, nothing else): it creates the admin user on a fresh Dremio, or sets
its rotated password; adds the lake as an S3 source, or updates the source's keys; and
promotes the Delta tables that exist. Every step checks before it acts, so the Job is safe
to run again, and it does run again whenever a secret it uses changes (a digest of the
secret values is a pod annotation, and any change to the pod replaces the Job).

Changing the admin's password needs the current one. The Job keeps the password it last
applied in a Secret of its own (``dremio-admin-applied``), which its service account may
read and update, and nothing else may.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from lakehouse_core import names
from lakehouse_core import network as flows
from lakehouse_core.catalog import DREMIO_SOURCE_NAME
from lakehouse_infra import k8s as kube
from lakehouse_infra.credentials import Credential
from lakehouse_infra.network import Network

COMPONENT = "query-engine"
NAMESPACE = names.DREMIO_NAMESPACE
APPLIED_SECRET = "dremio-admin-applied"  # noqa: S105 (a Secret's name)


class DremioBootstrap(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        *,
        bucket: str,
        admin: Credential,
        admin_email: str,
        s3: Credential,
        store_endpoint_host: str,
        store_ready: pulumi.Resource,
        dremio_ready: list[pulumi.Resource],
        namespace: pulumi.Resource,
        image: str,
        image_pull_policy: str,
        network: Network,
        dremio_url: str,
        store_tls: bool,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("lakehouse:query:DremioBootstrap", name, None, opts)
        in_ns = pulumi.ResourceOptions(parent=self, depends_on=[namespace])
        network.allow(flows.DREMIO_BOOTSTRAP, COMPONENT, in_ns)
        job = names.DREMIO_BOOTSTRAP_JOB
        self.admin_secret = k8s.core.v1.Secret(
            names.DREMIO_ADMIN_SECRET,
            metadata=kube.metadata(
                names.DREMIO_ADMIN_SECRET,
                NAMESPACE,
                kube.labels(names.DREMIO_ADMIN_SECRET, COMPONENT),
            ),
            string_data={"username": admin.user, "password": admin.password, "email": admin_email},
            opts=in_ns,
        )
        self.lake_secret = k8s.core.v1.Secret(
            names.DREMIO_LAKE_SECRET,
            metadata=kube.metadata(
                names.DREMIO_LAKE_SECRET,
                NAMESPACE,
                kube.labels(names.DREMIO_LAKE_SECRET, COMPONENT),
            ),
            string_data={"accessKey": s3.user, "secretKey": s3.password},
            opts=in_ns,
        )
        # Written by the Job (the password it applied), never by Pulumi after creation.
        self.applied_secret = k8s.core.v1.Secret(
            APPLIED_SECRET,
            metadata=kube.metadata(
                APPLIED_SECRET, NAMESPACE, kube.labels(APPLIED_SECRET, COMPONENT)
            ),
            type="Opaque",
            opts=pulumi.ResourceOptions.merge(
                in_ns, pulumi.ResourceOptions(ignore_changes=["data", "stringData"])
            ),
        )
        account = k8s.core.v1.ServiceAccount(
            job,
            metadata=kube.metadata(job, NAMESPACE, kube.labels(job, COMPONENT)),
            opts=in_ns,
        )
        role = k8s.rbac.v1.Role(
            job,
            metadata=kube.metadata(job, NAMESPACE, kube.labels(job, COMPONENT)),
            rules=[
                {
                    "apiGroups": [""],
                    "resources": ["secrets"],
                    "resourceNames": [APPLIED_SECRET],
                    "verbs": ["get", "update", "patch"],
                }
            ],
            opts=in_ns,
        )
        binding = k8s.rbac.v1.RoleBinding(
            job,
            metadata=kube.metadata(job, NAMESPACE, kube.labels(job, COMPONENT)),
            role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": job},
            subjects=[{"kind": "ServiceAccount", "name": job, "namespace": NAMESPACE}],
            opts=in_ns,
        )
        digest = kube.secret_hash(admin.user, admin.password, s3.password)
        env = [
            kube.env("DREMIO_URL", dremio_url),
            kube.secret_env("DREMIO_ADMIN_USER", names.DREMIO_ADMIN_SECRET, "username"),
            kube.secret_env("DREMIO_ADMIN_PASSWORD", names.DREMIO_ADMIN_SECRET, "password"),
            kube.secret_env("DREMIO_ADMIN_EMAIL", names.DREMIO_ADMIN_SECRET, "email"),
            kube.env("DREMIO_APPLIED_SECRET", APPLIED_SECRET),
            kube.env("LAKE_SOURCE", DREMIO_SOURCE_NAME),
            kube.env("LAKE_BUCKET", bucket),
            kube.env("LAKE_S3_ENDPOINT", store_endpoint_host),
            kube.env("LAKE_S3_TLS", str(store_tls).lower()),
            kube.secret_env("LAKE_ACCESS_KEY", names.DREMIO_LAKE_SECRET, "accessKey"),
            kube.secret_env("LAKE_SECRET_KEY", names.DREMIO_LAKE_SECRET, "secretKey"),
        ]
        labels = kube.labels(job, COMPONENT)
        self.job = k8s.batch.v1.Job(
            job,
            metadata=kube.metadata(job, NAMESPACE, labels),
            spec={
                "backoffLimit": 4,
                "activeDeadlineSeconds": 1800,
                "template": {
                    "metadata": {
                        "labels": labels,
                        "annotations": {"lakehouse.dev/credentials-hash": digest},
                    },
                    "spec": {
                        "restartPolicy": "OnFailure",
                        "serviceAccountName": job,
                        "securityContext": kube.pod_security(names.SPARK_UID),
                        "containers": [
                            {
                                "name": "bootstrap",
                                "image": image,
                                "imagePullPolicy": image_pull_policy,
                                "command": ["python3", "-m", "lakehouse_dremio.bootstrap"],
                                "env": env,
                                "resources": kube.with_ephemeral(
                                    {
                                        "requests": {"cpu": "50m", "memory": "96Mi"},
                                        "limits": {"cpu": "500m", "memory": "256Mi"},
                                    },
                                    "256Mi",
                                ),
                                "securityContext": kube.container_security(read_only_root=True),
                                "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
                            }
                        ],
                        "volumes": [kube.tmp_volume()],
                    },
                },
            },
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[
                    *dremio_ready,
                    store_ready,
                    self.admin_secret,
                    self.lake_secret,
                    self.applied_secret,
                    binding,
                    role,
                    account,
                ],
                replace_on_changes=["spec"],
                delete_before_replace=True,
                custom_timeouts=pulumi.CustomTimeouts(create="30m", update="30m"),
            ),
        )
        self.register_outputs({"job": job})
