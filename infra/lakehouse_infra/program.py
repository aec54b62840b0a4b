"""The Pulumi program: read and validate the stack's configuration, then declare the systems.

Validation happens before the first resource is declared, so a bad value never leaves a
half-deployed stack behind.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from lakehouse.jobimage import job_image_ref
from lakehouse_infra import config
from lakehouse_infra.credentials import LakeCredentials
from lakehouse_infra.dremio import Dremio
from lakehouse_infra.ingress import IngressController
from lakehouse_infra.object_store import ObjectStore
from lakehouse_infra.pipeline import Pipeline
from lakehouse_infra.spark_platform import SparkPlatform


def deploy() -> None:
    settings = pulumi.Config("lakehouse")
    cfg = config.load(settings.get)

    opts = pulumi.ResourceOptions()
    if cfg.kube_context:
        # Pinning the context keeps `pulumi up` of the dev stack off any other cluster.
        provider = k8s.Provider("kubernetes", context=cfg.kube_context)
        opts = pulumi.ResourceOptions(providers={"kubernetes": provider})

    credentials = LakeCredentials.create(settings, admin_user=cfg.dremio.admin_user)
    job_image = cfg.spark.image(job_image_ref())

    ingress = IngressController("ingress", cfg, opts)
    store = ObjectStore("object-store", cfg, credentials, ingress, opts)
    spark = SparkPlatform("spark", cfg, credentials, opts)
    dremio = Dremio(
        "dremio",
        cfg,
        credentials=credentials,
        store=store,
        ingress=ingress,
        job_image=job_image,
        opts=opts,
    )
    Pipeline("pipeline", cfg, store=store, spark=spark, image=job_image, opts=opts)

    hosts = cfg.ingress.hosts
    pulumi.export("dremioUrl", ingress.url(hosts.dremio))
    pulumi.export(
        "flightEndpoint", f"grpc+tcp://{hosts.flight}:{443 if cfg.ingress.tls.enabled else 80}"
    )
    pulumi.export("minioConsoleUrl", ingress.url(hosts.console))
    pulumi.export("s3Url", ingress.url(hosts.s3))
    pulumi.export("bucket", cfg.bucket)
    pulumi.export("jobImage", job_image)
    pulumi.export("jobsNamespace", spark.jobs_namespace_name)
    pulumi.export("dremioNamespace", dremio.namespace_name)
    pulumi.export("storageNamespace", store.namespace_name)
    pulumi.export("dremioAdminUser", credentials.dremio_admin.user)
    pulumi.export("dremioAdminPassword", credentials.dremio_admin.password)
