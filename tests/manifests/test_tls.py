"""TLS inside the cluster (on in prod, off in dev unless asked): MinIO serves its API and
its peers over TLS with a certificate of the stack's own CA (or cert-manager's), and
every consumer trusts that CA: the provisioning Job (mc), Spark, Dremio, Traefik."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs12

from lakehouse.render import Rendering, render_stack
from lakehouse_core import names
from lakehouse_core.stack_config import ConfigError
from lakehouse_infra.tls import minio_dns_names

STORAGE, DREMIO, JOBS = names.STORAGE_NAMESPACE, names.DREMIO_NAMESPACE, "lakehouse-jobs"


def minio_container(rendering: Rendering) -> dict[str, Any]:
    sts = rendering.find("StatefulSet", "minio", STORAGE)
    return dict(sts["spec"]["template"]["spec"]["containers"][0])


def test_prod_serves_s3_over_tls_inside_the_cluster(prod: Rendering) -> None:
    container = minio_container(prod)
    args = container["args"]
    assert args[1].startswith("https://minio-{0...3}.minio-hl.lakehouse-storage.svc.cluster.local")
    assert args[args.index("--certs-dir") + 1] == "/etc/minio/certs"
    assert container["readinessProbe"]["httpGet"]["scheme"] == "HTTPS"
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert mounts["certs"] == "/etc/minio/certs"
    for service in ("minio", "minio-console"):
        annotations = prod.find("Service", service, STORAGE)["metadata"]["annotations"]
        assert annotations["traefik.ingress.kubernetes.io/service.serversscheme"] == "https"
    # No cert-manager issuer named: the stack's own CA signed it, for MinIO's names.
    secret = prod.find("Secret", "minio-tls", STORAGE)
    assert secret["type"] == "kubernetes.io/tls"


def test_every_consumer_trusts_the_ca(prod: Rendering) -> None:
    # Spark: the JVMs read the namespace's truststore.
    app = prod.find("ScheduledSparkApplication", "lakehouse-pipeline-scheduled", JOBS)
    template = app["spec"]["template"]
    assert template["hadoopConf"]["fs.s3a.connection.ssl.enabled"] == "true"
    for role in ("driver", "executor"):
        assert names.JAVA_TRUST_OPTIONS in template[role]["javaOptions"]
        assert {"name": "lakehouse-truststore", "mountPath": names.TRUSTSTORE_DIR,
                "readOnly": True} in template[role]["volumeMounts"]  # fmt: skip
    prod.find("Secret", names.TRUSTSTORE, JOBS)
    # Dremio: core-site over TLS, the truststore in its JVM options.
    site = prod.find("Secret", names.DREMIO_CORE_SITE_SECRET, DREMIO)["stringData"]
    assert site is not None
    coordinator = prod.find("StatefulSet", "dremio-coordinator", DREMIO)
    env = {
        e["name"]: e.get("value")
        for e in coordinator["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert names.JAVA_TRUST_OPTIONS in env["DREMIO_JAVA_SERVER_EXTRA_OPTS"]
    bootstrap = prod.find("Job", "dremio-bootstrap", DREMIO)
    benv = {
        e["name"]: e.get("value")
        for e in bootstrap["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert benv["LAKE_S3_TLS"] == "true"
    # mc trusts SSL_CERT_FILE: the CA mounted outside its config folder, which it (not
    # root) must write; a mount inside made the folder root's (the bed's TLS run refused
    # the config's write: "permission denied").
    job = prod.find("Job", "minio-provision", STORAGE)
    container = job["spec"]["template"]["spec"]["containers"][0]
    mounts, menv = container["volumeMounts"], {e["name"]: e.get("value") for e in container["env"]}
    ca_mount = {"name": "lakehouse-ca", "mountPath": names.CA_DIR, "readOnly": True}
    assert ca_mount in mounts and menv["SSL_CERT_FILE"] == f"{names.CA_DIR}/ca.crt"
    assert not any(m["mountPath"].startswith(menv["MC_CONFIG_DIR"]) for m in mounts), mounts
    # Traefik: the CA as its servers transport's root.
    values = prod.release("traefik")["values"]
    assert values["additionalArguments"] == [f"--serversTransport.rootCAs={names.CA_DIR}/ca.crt"]
    # Traefik dials MinIO's pod IPs, which its certificate does not name (the bed's TLS
    # run: "cannot validate certificate for 10.244.0.15 because it doesn't contain any IP
    # SANs"): the MinIO Services use a transport that checks a name the certificate holds.
    transports = values["providers"]["file"]["content"]["http"]["serversTransports"]
    transport = transports[names.MINIO_SERVERS_TRANSPORT]
    assert transport["serverName"] in minio_dns_names(names.ClusterAddresses(minio_tls=True))
    assert transport["rootCAs"] == [f"{names.CA_DIR}/ca.crt"]
    for service in (names.MINIO, names.MINIO_CONSOLE_SERVICE):
        annotations = prod.find("Service", service, STORAGE)["metadata"]["annotations"]
        assert annotations["traefik.ingress.kubernetes.io/service.serverstransport"] == (
            f"{names.MINIO_SERVERS_TRANSPORT}@file"
        )
    for namespace in (STORAGE, DREMIO, JOBS, "lakehouse-ingress"):
        prod.find("ConfigMap", names.CA_BUNDLE, namespace)


def test_dev_is_plain_inside_the_cluster_unless_asked(dev: Rendering) -> None:
    assert minio_container(dev)["args"][1].startswith("http://")
    with pytest.raises(KeyError):
        dev.find("Secret", "minio-tls", STORAGE)
    asked = render_stack("dev", overrides={"internalTls": {"enabled": True}}, redact=False)
    assert minio_container(asked)["args"][1].startswith("https://")
    pem = asked.find("Secret", "minio-tls", STORAGE)["stringData"]
    cert = x509.load_pem_x509_certificate(pem["tls.crt"].encode())
    ca = x509.load_pem_x509_certificate(pem["ca.crt"].encode())
    cert.verify_directly_issued_by(ca)
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "*.minio-hl.lakehouse-storage.svc.cluster.local" in sans.get_values_for_type(
        x509.DNSName
    )
    store = asked.find("Secret", names.TRUSTSTORE, JOBS)["data"]["truststore.p12"]
    [entry] = pkcs12.load_pkcs12(base64.b64decode(store), None).additional_certs
    assert entry.certificate == ca


def test_a_cert_manager_issuer_gets_a_certificate_and_its_ca_is_trusted(tmp_path: Path) -> None:
    ca_file = tmp_path / "issuer-ca.pem"
    from lakehouse_infra import certificates

    ca_file.write_text(certificates.ca_pem("an issuer's own CA"))
    rendering = render_stack(
        "dev",
        overrides={"internalTls": {"enabled": True, "issuer": "corp-ca", "caFile": str(ca_file)}},
    )
    certificate = rendering.find("Certificate", "minio-tls", STORAGE)
    assert certificate["spec"]["issuerRef"] == {"name": "corp-ca", "kind": "ClusterIssuer"}
    assert certificate["spec"]["secretName"] == "minio-tls"
    with pytest.raises(KeyError):
        rendering.find("Secret", "minio-tls", STORAGE)
    bundle = rendering.find("ConfigMap", names.CA_BUNDLE, JOBS)["data"]["ca.crt"]
    assert bundle == ca_file.read_text()


@pytest.mark.parametrize(
    ("internal_tls", "message"),
    [
        ({"enabled": True, "issuer": "corp-ca"}, "internalTls.issuer needs internalTls.caFile"),
        ({"enabled": True, "issuer": "corp-ca", "caFile": "/nonexistent/ca.pem"},
         "internalTls.caFile '/nonexistent/ca.pem' cannot be used as a CA"),
    ],
)  # fmt: skip
def test_tls_with_no_usable_ca_stops_before_anything_is_declared(
    internal_tls: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        render_stack("dev", overrides={"internalTls": internal_tls})


def test_the_connect_servers_executors_trust_the_ca_too() -> None:
    """Its executors are JVMs of their own (the bed's TLS run: the server read through its
    own truststore, its executors' S3 calls failed): the template mounts the truststore
    and their Java options point at it."""
    import yaml

    rendering = render_stack("dev", overrides={"internalTls": {"enabled": True}})
    server = rendering.find("Deployment", names.SPARK_CONNECT, "lakehouse-jobs")
    args = server["spec"]["template"]["spec"]["containers"][0]["args"]
    conf = dict(a.split("=", 1) for a in args if "=" in a and a.startswith("spark."))
    assert conf["spark.executor.extraJavaOptions"] == names.JAVA_TRUST_OPTIONS
    template_map = rendering.find("ConfigMap", f"{names.SPARK_CONNECT}-executor", "lakehouse-jobs")
    template = yaml.safe_load(next(iter(template_map["data"].values())))
    mounts = template["spec"]["containers"][0]["volumeMounts"]
    assert any(m["mountPath"] == names.TRUSTSTORE_DIR for m in mounts)
    plain = render_stack("dev").find("Deployment", names.SPARK_CONNECT, "lakehouse-jobs")
    plain_args = plain["spec"]["template"]["spec"]["containers"][0]["args"]
    assert not any("extraJavaOptions" in a for a in plain_args)
