"""Ed25519 keys for Newsroom's tokens: libsodium (PyNaCl), and the PEM forms of RFC 8410.

Signing and verifying run in libsodium through PyNaCl. `cryptography` would do the
same, and importing it maps its whole OpenSSL-carrying extension: 6 to 7 MiB of every
API worker's resident memory, for the one algorithm the tokens use (issue 20: RSS
per API worker; PyNaCl adds about 1 MiB). libsodium's verification is the strict
one: non-canonical signatures and small-order public keys are refused.

Keys travel as PEM, as `openssl genpkey -algorithm ed25519`, Helm's
`genPrivateKey "ed25519"` and `cryptography` write them: a private key is PKCS#8
(`BEGIN PRIVATE KEY`), a public key SubjectPublicKeyInfo (`BEGIN PUBLIC KEY`).
For Ed25519 both are fixed DER around the raw 32 bytes (RFC 8410, sections 4 and 7),
so they are read by checking those bytes exactly; anything else (another key type,
an encrypted key) is refused with a message saying what is expected.
"""

from __future__ import annotations

import base64
import binascii
import re

from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

# RFC 8410: SubjectPublicKeyInfo {AlgorithmIdentifier {id-Ed25519}, BIT STRING (32 bytes)}.
_SPKI = bytes.fromhex("302a300506032b6570032100")
# OneAsymmetricKey v1 {0, id-Ed25519, OCTET STRING {OCTET STRING (32-byte seed)}} ...
_PKCS8 = bytes.fromhex("302e020100300506032b657004220420")
# ... and v2, with the public key after the seed ([1] IMPLICIT BIT STRING).
_PKCS8_V2 = bytes.fromhex("3051020101300506032b657004220420")
_PKCS8_V2_PUBLIC = bytes.fromhex("812100")
_PRIVATE_HINT = "an Ed25519 private key in PKCS#8 PEM (openssl genpkey -algorithm ed25519)"


class PublicKey:
    """An Ed25519 public key."""

    __slots__ = ("_key",)

    def __init__(self, key: VerifyKey) -> None:
        self._key = key

    @classmethod
    def from_raw(cls, raw: bytes) -> PublicKey:
        """The key of 32 raw bytes (a JWK's `x`); ValueError for any other length."""
        if len(raw) != 32:
            raise ValueError("an Ed25519 public key is 32 bytes")
        return cls(VerifyKey(raw))

    @classmethod
    def from_der(cls, der: bytes) -> PublicKey | None:
        """The key of a SubjectPublicKeyInfo, or None when it holds another kind of key."""
        if len(der) != len(_SPKI) + 32 or not der.startswith(_SPKI):
            return None
        return cls.from_raw(der[len(_SPKI) :])

    @property
    def raw(self) -> bytes:
        return bytes(self._key)

    def to_pem(self) -> bytes:
        return _pem("PUBLIC KEY", _SPKI + self.raw)

    def verifies(self, signature: bytes, data: bytes) -> bool:
        """Whether `signature` is this key's over exactly `data`."""
        try:
            self._key.verify(data, signature)
        except (BadSignatureError, ValueError):
            return False
        return True

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PublicKey) and self.raw == other.raw

    def __hash__(self) -> int:
        return hash(self.raw)

    def __repr__(self) -> str:
        return f"PublicKey({base64.urlsafe_b64encode(self.raw).decode()[:11]}...)"


class PrivateKey:
    """An Ed25519 signing key."""

    __slots__ = ("_key",)

    def __init__(self, key: SigningKey) -> None:
        self._key = key

    @classmethod
    def generate(cls) -> PrivateKey:
        return cls(SigningKey.generate())

    @classmethod
    def from_pem(cls, pem: bytes) -> PrivateKey:
        """The key in a PEM document holding one PKCS#8 Ed25519 key; ValueError otherwise."""
        blocks = pem_blocks(pem, "PRIVATE KEY")
        if len(blocks) != 1:
            raise ValueError(f"expected {_PRIVATE_HINT}")
        der = blocks[0]
        if len(der) == len(_PKCS8) + 32 and der.startswith(_PKCS8):
            return cls(SigningKey(der[len(_PKCS8) :]))
        v2_public = len(_PKCS8_V2) + 32
        if (
            len(der) == v2_public + len(_PKCS8_V2_PUBLIC) + 32
            and der.startswith(_PKCS8_V2)
            and der[v2_public : v2_public + len(_PKCS8_V2_PUBLIC)] == _PKCS8_V2_PUBLIC
        ):
            key = cls(SigningKey(der[len(_PKCS8_V2) : v2_public]))
            if key.public_key().raw != der[-32:]:
                raise ValueError("the PKCS#8 key's public key does not match its private key")
            return key
        raise ValueError(f"expected {_PRIVATE_HINT}")

    def to_pem(self) -> bytes:
        return _pem("PRIVATE KEY", _PKCS8 + bytes(self._key))

    def public_key(self) -> PublicKey:
        return PublicKey(self._key.verify_key)

    def sign(self, data: bytes) -> bytes:
        """The 64-byte signature of `data`."""
        return self._key.sign(data).signature


def pem_blocks(pem: bytes, label: str) -> list[bytes]:
    """The DER of every `-----BEGIN <label>-----` block; ValueError for a body not base64."""
    pattern = re.compile(
        rb"-----BEGIN " + label.encode() + rb"-----(.*?)-----END " + label.encode() + rb"-----",
        re.DOTALL,
    )
    blocks = []
    for match in pattern.finditer(pem):
        try:
            blocks.append(base64.b64decode(b"".join(match.group(1).split()), validate=True))
        except binascii.Error:
            raise ValueError(f"a {label} PEM block is not base64") from None
    return blocks


def public_keys_from_pem(pem: bytes) -> list[PublicKey]:
    """The Ed25519 keys among the `BEGIN PUBLIC KEY` blocks of a PEM document."""
    found = (PublicKey.from_der(der) for der in pem_blocks(pem, "PUBLIC KEY"))
    return [key for key in found if key is not None]


def _pem(label: str, der: bytes) -> bytes:
    body = base64.b64encode(der)
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    begin, end = f"-----BEGIN {label}-----".encode(), f"-----END {label}-----".encode()
    return b"\n".join([begin, *lines, end, b""])
