"""DKIM (RFC 6376) for outgoing mail: checking a mailbox's private key, the DNS record that
publishes its public half, and signing a message with dkimpy.

Keys are PEM private keys, RSA (2048 bits or more is what receivers expect; 1024 is the least
accepted) or Ed25519 (RFC 8463; not every receiver verifies it yet, so an RSA key is the safe
choice). The signature covers the headers that identify the message and its unsubscribe offer, and
the body, with relaxed canonicalization so that a relay re-folding headers does not break it.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

import dkim as dkimpy
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from leadwell.errors import InvalidInput

SIGNED_HEADERS = (
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "MIME-Version",
    "Content-Type",
)
MIN_RSA_BITS = 1024
MAX_PEM = 20_000


@dataclass(frozen=True)
class SigningKey:
    """A parsed key: its kind (``rsa`` / ``ed25519``), what dkimpy signs with, and the public
    half as it goes in the DNS record (``p=``)."""

    kind: str
    private: bytes
    public: str

    @property
    def algorithm(self) -> bytes:
        return b"rsa-sha256" if self.kind == "rsa" else b"ed25519-sha256"

    def dns_record(self) -> str:
        """The TXT record's value to publish at ``<selector>._domainkey.<domain>``."""
        return f"v=DKIM1; k={self.kind}; p={self.public}"


def load_key(pem: str, field: str = "dkim_private_key") -> SigningKey:
    """Parse a PEM private key (RSA or Ed25519, unencrypted); :class:`InvalidInput` names ``field``."""
    text = pem.strip()
    if len(text) > MAX_PEM:
        raise InvalidInput(f"{field}: too long for a private key", field=field)
    try:
        key = serialization.load_pem_private_key(text.encode(), password=None)
    except (ValueError, TypeError) as error:
        detail = "it is encrypted; give it without a passphrase" if "encrypted" in str(error) else str(error)
        raise InvalidInput(
            f"{field}: not a PEM private key (-----BEGIN PRIVATE KEY----- …): {detail}", field=field
        ) from None
    if isinstance(key, rsa.RSAPrivateKey):
        return _rsa_key(key, field)
    if isinstance(key, ed25519.Ed25519PrivateKey):
        raw = key.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )
        public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return SigningKey("ed25519", base64.b64encode(raw), base64.b64encode(public).decode())
    raise InvalidInput(f"{field}: an RSA or Ed25519 key is needed", field=field)


def _rsa_key(key: rsa.RSAPrivateKey, field: str) -> SigningKey:
    if key.key_size < MIN_RSA_BITS:
        raise InvalidInput(f"{field}: an RSA key of at least {MIN_RSA_BITS} bits is needed", field=field)
    # dkimpy reads PKCS#1 ("BEGIN RSA PRIVATE KEY") itself.
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return SigningKey("rsa", private, base64.b64encode(public).decode())


def generate_key() -> str:
    """A new 2048-bit RSA private key in PEM, for a mailbox that has none yet."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return pem.decode()


def record_name(selector: str, domain: str) -> str:
    """Where the public key is published in DNS."""
    return f"{selector}._domainkey.{domain}"


def sign(message: bytes, key: SigningKey, domain: str, selector: str) -> bytes:
    """``message`` (CRLF line ends) with a ``DKIM-Signature`` header in front."""
    signature: bytes = dkimpy.sign(
        message,
        selector.encode(),
        domain.encode(),
        key.private,
        canonicalize=(b"relaxed", b"relaxed"),
        include_headers=[name.encode() for name in SIGNED_HEADERS if _has_header(message, name)],
        signature_algorithm=key.algorithm,
        linesep=b"\r\n",
    )
    return signature + message


def _has_header(message: bytes, name: str) -> bool:
    head = message.split(b"\r\n\r\n", 1)[0].lower()
    wanted = name.lower().encode() + b":"
    return head.startswith(wanted) or b"\r\n" + wanted in head
