"""The stack's own CA: the same seed and date give the same bytes (so `up` sees no
change), a new renewal window gives the next certificate before the current one expires,
and what it issues verifies against the CA for exactly the names asked for."""

from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from lakehouse_infra import certificates

NAMES = [
    "minio.lakehouse-storage.svc.cluster.local",
    "*.minio-hl.lakehouse-storage.svc.cluster.local",
]


def issue(seed: str, today: dt.date) -> certificates.Pem:
    return certificates.server(seed, "minio", NAMES, validity_days=180, today=today)


def test_the_same_seed_and_window_give_the_same_bytes() -> None:
    first = issue("seed-one", dt.date(2026, 12, 5))
    again = issue("seed-one", dt.date(2026, 12, 20))  # same 90-day window
    assert first == again
    assert certificates.ca_pem("seed-one") == certificates.ca_pem("seed-one")
    assert issue("seed-two", dt.date(2026, 12, 5)) != first
    assert certificates.ca_pem("seed-two") != certificates.ca_pem("seed-one")


def test_a_new_window_renews_while_the_old_certificate_is_still_valid() -> None:
    old = x509.load_pem_x509_certificate(issue("s", dt.date(2026, 12, 5)).cert.encode())
    # Windows of 90 days from 2026-01-01: 2026-12-27 starts the next one.
    new = x509.load_pem_x509_certificate(issue("s", dt.date(2026, 12, 28)).cert.encode())
    assert new.serial_number != old.serial_number
    assert new.not_valid_before_utc > old.not_valid_before_utc
    assert old.not_valid_after_utc - new.not_valid_before_utc >= dt.timedelta(days=89)
    assert old.not_valid_before_utc <= dt.datetime(2026, 12, 5, tzinfo=dt.timezone.utc)


def test_the_server_certificate_verifies_against_the_ca_for_its_names() -> None:
    pem = issue("s", dt.date(2026, 12, 5))
    cert = x509.load_pem_x509_certificate(pem.cert.encode())
    ca = x509.load_pem_x509_certificate(certificates.ca_pem("s").encode())
    cert.verify_directly_issued_by(ca)
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == NAMES
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    key = load_pem_private_key(pem.key.encode(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    public = cert.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    assert key.public_key().public_numbers() == public.public_numbers()


def test_the_java_truststore_holds_the_ca_and_renders_the_same_every_time() -> None:
    import base64

    from cryptography.hazmat.primitives.serialization import pkcs12

    from lakehouse_infra.tls import truststore

    ca = certificates.ca_pem("s")
    store = truststore(ca)
    assert store == truststore(ca)  # no random MAC salt: no change at every `up`
    loaded = pkcs12.load_pkcs12(base64.b64decode(store), None)
    [entry] = loaded.additional_certs
    assert entry.certificate == x509.load_pem_x509_certificate(ca.encode())
