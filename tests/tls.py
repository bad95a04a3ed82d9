"""Certificates for tests of TLS on loopback: a private CA and a server certificate it signs for 127.0.0.1.

Made fresh with ``cryptography`` (already a dependency, through moto) each time, valid
for a day, so no key or certificate is kept in the repository.
"""

from __future__ import annotations

import datetime
import ipaddress
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class Certificates:
    ca_pem: str  # what a client trusts
    server_pem: str  # the server's certificate for 127.0.0.1, signed by the CA
    server_key_pem: str

    def write(self, folder: Path) -> tuple[Path, Path, Path]:
        """ca.pem, server.pem and server.key in ``folder``, for a server in another process."""
        paths = folder / "ca.pem", folder / "server.pem", folder / "server.key"
        for path, text in zip(paths, (self.ca_pem, self.server_pem, self.server_key_pem), strict=True):
            path.write_text(text)
        return paths

    @property
    def server(self) -> ssl.SSLContext:
        """The server's side of TLS, for a server in this process."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        with tempfile.TemporaryDirectory() as folder:  # the ssl module loads a chain from files only
            _, chain, secret = self.write(Path(folder))
            context.load_cert_chain(chain, secret)
        return context


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def private_ca() -> Certificates:
    now = datetime.datetime.now(datetime.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("loadrec test CA"))
        .issuer_name(_name("loadrec test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    server = (
        x509.CertificateBuilder()
        .subject_name(_name("127.0.0.1"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return Certificates(
        ca.public_bytes(serialization.Encoding.PEM).decode(),
        server.public_bytes(serialization.Encoding.PEM).decode(),
        key_pem.decode(),
    )
