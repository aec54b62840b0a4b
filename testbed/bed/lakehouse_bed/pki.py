"""The local cluster's certificates: one CA, a serving certificate for the API server and
the kubelet, and one client certificate per component, each with its own identity (so the
Node and RBAC authorizers see the users they would in any cluster).

Made with ``cryptography`` on first create and kept with the node's state; ``delete``
removes them with everything else.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALID_FOR = dt.timedelta(days=365)


@dataclass(frozen=True)
class Identity:
    file: str  # base file name: <file>.crt, <file>.key
    common_name: str
    organization: str | None = None


def _name(common_name: str, organization: str | None = None) -> x509.Name:
    parts = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organization:
        parts.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    return x509.Name(parts)


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)


def _write_cert(path: Path, cert: x509.Certificate) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


class ClusterPki:
    def __init__(self, directory: Path) -> None:
        self.dir = directory

    def path(self, name: str) -> Path:
        return self.dir / name

    def ensure(
        self, *, node_name: str, node_ip: str, service_ip: str, clients: list[Identity]
    ) -> None:
        """Write every certificate and key that is missing (all of them on a new node)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        self.dir.chmod(0o700)
        now = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5)
        if not self.path("ca.crt").is_file():
            key = ec.generate_private_key(ec.SECP256R1())
            name = _name("lakehouse-bed-ca")
            cert = (
                x509.CertificateBuilder()
                .subject_name(name)
                .issuer_name(name)
                .public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now)
                .not_valid_after(now + VALID_FOR)
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .add_extension(
                    x509.KeyUsage(
                        digital_signature=True,
                        key_cert_sign=True,
                        crl_sign=True,
                        content_commitment=False,
                        key_encipherment=False,
                        data_encipherment=False,
                        key_agreement=False,
                        encipher_only=False,
                        decipher_only=False,
                    ),
                    critical=True,
                )
                .sign(key, hashes.SHA256())
            )
            _write_key(self.path("ca.key"), key)
            _write_cert(self.path("ca.crt"), cert)
        if not self.path("sa.key").is_file():
            sa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            _write_key(self.path("sa.key"), sa)
            self.path("sa.pub").write_bytes(
                sa.public_key().public_bytes(
                    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
                )
            )
        dns = [
            "kubernetes",
            "kubernetes.default",
            "kubernetes.default.svc",
            "kubernetes.default.svc.cluster.local",
            "localhost",
            node_name,
        ]
        ips = [node_ip, service_ip, "127.0.0.1"]
        self._issue(Identity("apiserver", "kube-apiserver"), dns, ips, server=True)
        self._issue(
            Identity("kubelet-serving", f"system:node:{node_name}"),
            [node_name],
            [node_ip],
            server=True,
        )
        for client in clients:
            self._issue(client, [], [], server=False)

    def _issue(self, who: Identity, dns: list[str], ips: list[str], *, server: bool) -> None:
        crt, key_path = self.path(f"{who.file}.crt"), self.path(f"{who.file}.key")
        if crt.is_file() and key_path.is_file():
            return
        ca_key = serialization.load_pem_private_key(self.path("ca.key").read_bytes(), None)
        ca = x509.load_pem_x509_certificate(self.path("ca.crt").read_bytes())
        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5)
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(who.common_name, who.organization))
            .issuer_name(ca.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(now + VALID_FOR)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.ExtendedKeyUsage(
                    [ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH]
                ),
                critical=False,
            )
        )
        if dns or ips:
            names: list[x509.GeneralName] = [x509.DNSName(d) for d in dns]
            names += [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
        cert = builder.sign(ca_key, hashes.SHA256())
        _write_key(key_path, key)
        _write_cert(crt, cert)
