"""The stack's own certificate authority, for TLS inside the cluster when no cert-manager
issuer is named: every key and certificate is a pure function of one secret seed (and of
the date, for renewal), so ``pulumi up`` sees no change between runs and needs no
provider of its own.

* Keys are derived from the seed (HKDF-SHA256, then a P-256 scalar), so the same seed
  gives the same keys;
* signatures are ECDSA with deterministic nonces (RFC 6979), so the same certificate
  body gives the same bytes;
* a server certificate is valid for ``validity_days`` from the start of the renewal
  window it is issued in (windows of half that length, counted from a fixed epoch): an
  ``up`` in a new window issues the next certificate while the current one still has
  half its life left. That is the rotation: run ``up`` at least once per window.

The CA lives ten years from the epoch; rotating it means a new seed (and every consumer
restarts with the new bundle).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
CA_YEARS = 10
# The order of the P-256 group: a derived scalar must lie in [1, n - 1].
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


@dataclass(frozen=True)
class Pem:
    key: str
    cert: str


def _key(seed: bytes, purpose: str) -> ec.EllipticCurvePrivateKey:
    material = HKDF(
        algorithm=hashes.SHA256(), length=48, salt=b"lakehouse-internal-tls", info=purpose.encode()
    ).derive(seed)
    scalar = int.from_bytes(material, "big") % (P256_ORDER - 1) + 1
    return ec.derive_private_key(scalar, ec.SECP256R1())


def _serial(*parts: str) -> int:
    return int.from_bytes(hashlib.sha256("\0".join(parts).encode()).digest()[:16], "big") >> 1


def _pem_key(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def _pem_cert(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def authority(seed: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = _key(seed.encode(), "ca")
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "lakehouse internal CA")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(_serial("lakehouse internal CA"))
        .not_valid_before(EPOCH)
        .not_valid_after(EPOCH.replace(year=EPOCH.year + CA_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
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
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256(), ecdsa_deterministic=True)
    )
    return key, cert


def ca_pem(seed: str) -> str:
    return _pem_cert(authority(seed)[1])


def server(
    seed: str,
    name: str,
    dns_names: list[str],
    *,
    validity_days: int,
    today: dt.date | None = None,
) -> Pem:
    """A server certificate for ``dns_names``, issued at the start of today's window."""
    ca_key, ca_cert = authority(seed)
    key = _key(seed.encode(), f"server:{name}")
    window = dt.timedelta(days=max(1, validity_days // 2))
    now = dt.datetime.combine(today or dt.date.today(), dt.time(), dt.timezone.utc)
    issued = EPOCH + window * ((now - EPOCH) // window)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, dns_names[0])]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(_serial(name, issued.isoformat(), *dns_names))
        .not_valid_before(issued)
        .not_valid_after(issued + dt.timedelta(days=validity_days))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(d) for d in dns_names]), False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256(), ecdsa_deterministic=True)
    )
    return Pem(_pem_key(key), _pem_cert(cert))
