"""Certificates and keys of a throwaway control plane: one CA, a serving certificate, client identities.

The validity window is wide on both sides of the clock that makes it (two years each way), so the
same certificates hold when the test process runs with its clock shifted (a year ahead, say) while
the Go binaries of the control plane keep the machine's real time.
"""

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALIDITY: Final = datetime.timedelta(days=730)
SERVING_NAMES: Final = (
    "127.0.0.1",
    "localhost",
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
)

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
# Digital signature only: what an ECDSA TLS leaf (client or server) needs.
_LEAF_KEY_USAGE: Final = x509.KeyUsage(True, False, False, False, False, False, False, False, False)


def _write_key(path: Path, key: PrivateKey) -> None:
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    path.chmod(0o600)


def _name(common_name: str, organizations: tuple[str, ...] = ()) -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    attributes += [x509.NameAttribute(NameOID.ORGANIZATION_NAME, org) for org in organizations]
    return x509.Name(attributes)


def _subject_alternative_names(names: tuple[str, ...]) -> x509.SubjectAlternativeName:
    entries: list[x509.GeneralName] = []
    for name in names:
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            entries.append(x509.DNSName(name))
    return x509.SubjectAlternativeName(entries)


@dataclass(frozen=True)
class Pki:
    """The files of a control plane's PKI in `folder`."""

    folder: Path

    def path(self, name: str) -> Path:
        return self.folder / name

    def issue_client(self, common_name: str, groups: tuple[str, ...] = ()) -> tuple[Path, Path]:
        """A new client identity signed by this CA: (certificate, key) files named after the common name."""
        ca_certificate = x509.load_pem_x509_certificate(self.path("ca.crt").read_bytes())
        ca_key = serialization.load_pem_private_key(self.path("ca.key").read_bytes(), password=None)
        assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(_name(common_name, groups))
            .issuer_name(ca_certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - VALIDITY)
            .not_valid_after(now + VALIDITY)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_LEAF_KEY_USAGE, critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        stem = common_name.removeprefix("system:")
        _write_key(self.path(f"{stem}.key"), key)
        self.path(f"{stem}.crt").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        return self.path(f"{stem}.crt"), self.path(f"{stem}.key")


def create_pki(folder: Path, client_identities: dict[str, tuple[str, ...]]) -> Pki:
    """A CA, the API server's serving pair, a client pair per identity and the ServiceAccount key pair.

    `client_identities` maps a common name to its groups; its files are named after the common name
    without a `system:` prefix (`system:kube-controller-manager` -> `kube-controller-manager.crt`).
    """
    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("erp-sync-test-ca")

    def issue(subject: x509.Name, key: PrivateKey, *, ca: bool = False) -> x509.Certificate:
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - VALIDITY)
            .not_valid_after(now + VALIDITY)
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if ca:
            builder = builder.add_extension(
                x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True
            )
        else:
            builder = builder.add_extension(_LEAF_KEY_USAGE, critical=True)
            builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            builder = builder.add_extension(_subject_alternative_names(SERVING_NAMES), critical=False)
        return builder.sign(ca_key, hashes.SHA256())

    def save(stem: str, key: PrivateKey, certificate: x509.Certificate) -> None:
        _write_key(folder / f"{stem}.key", key)
        (folder / f"{stem}.crt").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))

    save("ca", ca_key, issue(ca_name, ca_key, ca=True))
    serving_key = ec.generate_private_key(ec.SECP256R1())
    save("apiserver", serving_key, issue(_name("kube-apiserver"), serving_key))
    pki = Pki(folder)
    for common_name, groups in client_identities.items():
        pki.issue_client(common_name, groups)
    # ServiceAccount tokens: signed by the API server (TokenRequest), checked with the public half.
    signer = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    _write_key(folder / "sa.key", signer)
    (folder / "sa.pub").write_bytes(
        signer.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return pki
