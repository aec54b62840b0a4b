"""TLS inside the cluster: one place issues MinIO's certificate and hands every consumer
what it trusts.

With ``internalTls.issuer`` a cert-manager ``Certificate`` asks that issuer for MinIO's
certificate (the ecosystem's convention) and ``internalTls.caFile`` is the CA the
consumers trust. Without one, the stack's own CA signs it (``certificates``: keys and
certificates derived from the secret ``lakehouse:internalTlsSeed``, renewed by ``up``).
Consumers get, in their own namespace, a ConfigMap ``lakehouse-ca`` (``ca.crt``: for mc,
Traefik and Python readers) and a Secret with a Java truststore (``truststore.p12``: for
Spark and Dremio), named by a digest of the CA so that a new CA is a new object.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
from cryptography import x509
from cryptography.hazmat.primitives.serialization import NoEncryption, pkcs12

from lakehouse_core import names
from lakehouse_core.stack_config import ConfigError, StackConfig
from lakehouse_infra import certificates
from lakehouse_infra import k8s as kube
from lakehouse_infra.credentials import internal_tls_seed

COMPONENT = "tls"
MINIO_TLS_SECRET = "minio-tls"  # noqa: S105 (a Secret's name)
# The keys MinIO reads from its certs folder, from the Secret's keys.
MINIO_CERT_ITEMS = (("tls.crt", "public.crt"), ("tls.key", "private.key"), ("ca.crt", "CAs/ca.crt"))


def read_ca_file(path: str) -> str:
    """The issuer's CA as PEM text; ConfigError naming the key when it cannot be used."""
    try:
        text = Path(path).expanduser().read_text()
        x509.load_pem_x509_certificates(text.encode())
    except (OSError, ValueError) as err:
        raise ConfigError(
            f"lakehouse:internalTls.caFile {path!r} cannot be used as a CA: {err}",
            hint="point internalTls.caFile at the PEM file of the issuer's CA certificate",
        ) from None
    return text


def truststore(ca_pem: str) -> str:
    """A Java (PKCS12) truststore holding the CA, base64 for a Secret's data.

    Only certificates, so no password and no integrity MAC: the MAC's random salt would
    make every rendering differ (an update at every ``up``). The JVM reads a PKCS12 store
    without a MAC when no store password is given (JDK 11.0.12 and later)."""
    cas = x509.load_pem_x509_certificates(ca_pem.encode())
    entries = [
        pkcs12.PKCS12Certificate(ca, f"lakehouse-ca-{i}".encode()) for i, ca in enumerate(cas)
    ]
    store = _without_mac(pkcs12.serialize_java_truststore(entries, NoEncryption()))
    return base64.b64encode(store).decode()


def _without_mac(pfx: bytes) -> bytes:
    """A PKCS#12 PFX (SEQUENCE { version, authSafe, macData OPTIONAL }) without macData."""

    def element(data: bytes, at: int) -> tuple[int, int]:
        """(start of the content, end of the element) of the DER element at ``at``."""
        length, start = data[at + 1], at + 2
        if length & 0x80:
            count = length & 0x7F
            length, start = int.from_bytes(data[start : start + count], "big"), start + count
        return start, start + length

    content, _ = element(pfx, 0)
    _, version_end = element(pfx, content)
    _, auth_safe_end = element(pfx, version_end)
    body = pfx[content:auth_safe_end]
    size = len(body)
    width = (size.bit_length() + 7) // 8
    length = bytes([size]) if size < 0x80 else bytes([0x80 | width]) + size.to_bytes(width, "big")
    return b"\x30" + length + body


def minio_dns_names(addresses: names.ClusterAddresses) -> list[str]:
    storage = names.STORAGE_NAMESPACE
    return [
        addresses.service(names.MINIO, storage),
        f"*.{addresses.service(names.MINIO_HEADLESS, storage)}",
        addresses.service(names.MINIO_HEADLESS, storage),
        addresses.service(names.MINIO_CONSOLE_SERVICE, storage),
        f"{names.MINIO}.{storage}.svc",
        names.MINIO,
    ]


class InternalTls(pulumi.ComponentResource):
    """MinIO's certificate and the CA its consumers trust, in the namespaces they run in."""

    def __init__(
        self,
        name: str,
        *,
        cfg: StackConfig,
        config: pulumi.Config,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("lakehouse:tls:InternalTls", name, None, opts)
        self.tls = cfg.internal_tls
        self.addresses = cfg.addresses
        if self.tls.issuer:
            assert self.tls.ca_file is not None  # the config's own rule
            self.ca_pem: pulumi.Output[str] = pulumi.Output.from_input(
                read_ca_file(self.tls.ca_file)
            )
            self.seed: pulumi.Output[str] | None = None
        else:
            self.seed = internal_tls_seed(config, pulumi.ResourceOptions(parent=self))
            self.ca_pem = pulumi.Output.unsecret(self.seed.apply(certificates.ca_pem))
        self.ca_digest = self.ca_pem.apply(
            lambda pem: hashlib.sha256(pem.encode()).hexdigest()[:12]
        )
        self.register_outputs({})

    def minio_certificate(self, opts: pulumi.ResourceOptions) -> pulumi.Resource:
        """The Secret ``minio-tls`` (tls.crt, tls.key, ca.crt), from cert-manager or the CA."""
        namespace = names.STORAGE_NAMESPACE
        dns = minio_dns_names(self.addresses)
        labels = kube.labels(MINIO_TLS_SECRET, COMPONENT)
        child = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(parent=self))
        if self.tls.issuer:
            certificate: pulumi.Resource = k8s.apiextensions.CustomResource(
                MINIO_TLS_SECRET,
                api_version="cert-manager.io/v1",
                kind="Certificate",
                metadata=kube.metadata(MINIO_TLS_SECRET, namespace, labels),
                spec={
                    "secretName": MINIO_TLS_SECRET,
                    "dnsNames": dns,
                    "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
                    "usages": ["server auth", "digital signature", "key encipherment"],
                    "issuerRef": {"name": self.tls.issuer, "kind": self.tls.issuer_kind},
                },
                opts=child,
            )
            return certificate
        assert self.seed is not None
        validity = self.tls.validity_days
        pem = self.seed.apply(
            lambda seed: certificates.server(seed, "minio", dns, validity_days=validity)
        )
        secret: pulumi.Resource = k8s.core.v1.Secret(
            MINIO_TLS_SECRET,
            metadata=kube.metadata(MINIO_TLS_SECRET, namespace, labels),
            type="kubernetes.io/tls",
            string_data={
                "tls.crt": pem.apply(lambda p: p.cert),
                "tls.key": pem.apply(lambda p: p.key),  # secret: derived from the secret seed
                "ca.crt": self.ca_pem,
            },
            opts=child,
        )
        return secret

    def trust(self, namespace: str, opts: pulumi.ResourceOptions) -> TrustBundle:
        """What pods in ``namespace`` mount to trust the CA."""
        labels = kube.labels(names.CA_BUNDLE, COMPONENT)
        child = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(parent=self))
        bundle = k8s.core.v1.ConfigMap(
            f"{namespace}-{names.CA_BUNDLE}",
            metadata=kube.metadata(names.CA_BUNDLE, namespace, labels),
            data={"ca.crt": self.ca_pem},
            opts=child,
        )
        store = k8s.core.v1.Secret(
            f"{namespace}-{names.TRUSTSTORE}",
            metadata=kube.metadata(names.TRUSTSTORE, namespace, labels),
            data={"truststore.p12": self.ca_pem.apply(truststore)},
            opts=child,
        )
        return TrustBundle(bundle, store, self.ca_digest)


class TrustBundle:
    """The CA ConfigMap and the truststore Secret of one namespace; ``digest`` (of the CA)
    goes on the pod templates that mount them, so a new CA restarts their JVMs."""

    def __init__(
        self,
        bundle: k8s.core.v1.ConfigMap,
        store: k8s.core.v1.Secret,
        digest: pulumi.Output[str],
    ) -> None:
        self.bundle, self.store, self.digest = bundle, store, digest
        self.resources: list[pulumi.Resource] = [bundle, store]


def trust_volumes() -> list[dict[str, Any]]:
    """The CA (PEM) and the Java truststore, as a pod's volumes."""
    return [
        {"name": "lakehouse-ca", "configMap": {"name": names.CA_BUNDLE}},
        {"name": "lakehouse-truststore", "secret": {"secretName": names.TRUSTSTORE}},
    ]


def trust_mounts() -> list[dict[str, Any]]:
    return [
        {"name": "lakehouse-ca", "mountPath": names.CA_DIR, "readOnly": True},
        {"name": "lakehouse-truststore", "mountPath": names.TRUSTSTORE_DIR, "readOnly": True},
    ]
